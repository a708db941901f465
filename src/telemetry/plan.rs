//! Where telemetry goes and what it carries, resolved once from the
//! standard `OTEL_*` variables and the `[telemetry]` config table. The
//! variables win over the table, so a CI job can point any run elsewhere.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::env::Environment;

/// The `[telemetry]` config table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP base URL (`/v1/traces` and `/v1/metrics` are added),
    /// as `OTEL_EXPORTER_OTLP_ENDPOINT`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `http/protobuf` (the default) or `http/json`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Headers sent with every export (an `Authorization` for Langfuse).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The `service.name` resource attribute (default `confab`).
    #[serde(default)]
    pub service_name: Option<String>,
    /// Put prompts and replies on spans (secrets redacted).
    #[serde(default)]
    pub capture_content: bool,
    /// The `user.id` put on every span.
    #[serde(default)]
    pub user_id: Option<String>,
    /// How long the export at exit may take, in milliseconds (default 1000).
    #[serde(default)]
    pub flush_timeout_ms: Option<u64>,
    /// Turns telemetry off even when an endpoint is set.
    #[serde(default)]
    pub disabled: bool,
}

/// The export timeouts accepted, in milliseconds.
const FLUSH_RANGE_MS: (u64, u64) = (50, 60_000);

/// How spans and metrics are encoded on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `application/x-protobuf` (the OTLP default).
    HttpProtobuf,
    /// `application/json`.
    HttpJson,
}

impl Protocol {
    /// Reads an `OTEL_EXPORTER_OTLP_PROTOCOL` value.
    pub fn parse(value: &str) -> Result<Protocol, String> {
        match value.trim() {
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            "grpc" => Err(
                "confab exports over OTLP/HTTP only; use http/protobuf (port 4318) instead of grpc"
                    .to_string(),
            ),
            other => Err(format!(
                "unknown protocol {other:?}; use http/protobuf or http/json"
            )),
        }
    }
}

/// Everything the exporter needs, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct TelemetryPlan {
    /// Where spans are posted, if anywhere.
    pub traces_url: Option<String>,
    /// Where metrics are posted, if anywhere.
    pub metrics_url: Option<String>,
    /// Headers of every export.
    pub headers: BTreeMap<String, String>,
    /// The wire encoding.
    pub protocol: Protocol,
    /// `service.name`.
    pub service_name: String,
    /// Other resource attributes (`OTEL_RESOURCE_ATTRIBUTES`).
    pub resource: Vec<(String, String)>,
    /// Whether prompts and replies go on spans.
    pub capture_content: bool,
    /// `user.id` on every span.
    pub user_id: Option<String>,
    /// Only the newest GenAI attribute names (no deprecated duplicates).
    pub latest_names_only: bool,
    /// The bound on each export at exit.
    pub flush_timeout: Duration,
}

impl TelemetryPlan {
    /// The plan, or `None` when nothing is to be exported: no endpoint,
    /// `OTEL_SDK_DISABLED=true`, or `disabled = true`;
    /// `OTEL_TRACES_EXPORTER=none` / `OTEL_METRICS_EXPORTER=none` turn one
    /// signal off. A malformed
    /// variable is an error the caller shows as a warning.
    pub fn resolve(
        env: &dyn Environment,
        config: &TelemetryConfig,
    ) -> Result<Option<TelemetryPlan>, String> {
        let disabled = env
            .var("OTEL_SDK_DISABLED")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if disabled || config.disabled {
            return Ok(None);
        }
        let base = env
            .var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .or_else(|| config.endpoint.clone());
        let signal_url = |variable: &str, path: &str| -> Result<Option<String>, String> {
            let url = match env.var(variable) {
                Some(url) => Some(url),
                None => base
                    .as_deref()
                    .map(|base| format!("{}/{path}", base.trim_end_matches('/'))),
            };
            if let Some(url) = &url {
                check_url(url).map_err(|err| format!("{variable}: {err}"))?;
            }
            Ok(url)
        };
        let exporter_off = |variable: &str| {
            env.var(variable)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("none"))
        };
        let traces_url = match exporter_off("OTEL_TRACES_EXPORTER") {
            true => None,
            false => signal_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "v1/traces")?,
        };
        let metrics_url = match exporter_off("OTEL_METRICS_EXPORTER") {
            true => None,
            false => signal_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "v1/metrics")?,
        };
        if traces_url.is_none() && metrics_url.is_none() {
            return Ok(None);
        }
        let protocol = match env.var("OTEL_EXPORTER_OTLP_PROTOCOL") {
            Some(value) => {
                Protocol::parse(&value).map_err(|e| format!("OTEL_EXPORTER_OTLP_PROTOCOL: {e}"))?
            }
            None => match &config.protocol {
                Some(value) => Protocol::parse(value)?,
                None => Protocol::HttpProtobuf,
            },
        };
        let mut headers = config.headers.clone();
        if let Some(list) = env.var("OTEL_EXPORTER_OTLP_HEADERS") {
            headers.extend(
                key_value_list(&list).map_err(|e| format!("OTEL_EXPORTER_OTLP_HEADERS: {e}"))?,
            );
        }
        let resource = match env.var("OTEL_RESOURCE_ATTRIBUTES") {
            Some(list) => {
                key_value_list(&list).map_err(|e| format!("OTEL_RESOURCE_ATTRIBUTES: {e}"))?
            }
            None => Vec::new(),
        };
        let flush_ms = match env.var("OTEL_EXPORTER_OTLP_TIMEOUT") {
            Some(value) => value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| (FLUSH_RANGE_MS.0..=FLUSH_RANGE_MS.1).contains(ms))
                .ok_or_else(|| {
                    format!(
                        "OTEL_EXPORTER_OTLP_TIMEOUT={value:?} is not a number of milliseconds in {}..{}",
                        FLUSH_RANGE_MS.0, FLUSH_RANGE_MS.1
                    )
                })?,
            None => config.flush_timeout_ms.unwrap_or(1000),
        };
        let capture_content = match env.var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT") {
            Some(value) => value.trim().eq_ignore_ascii_case("true"),
            None => config.capture_content,
        };
        let latest_names_only = env
            .var("OTEL_SEMCONV_STABILITY_OPT_IN")
            .is_some_and(|list| {
                list.split(',')
                    .any(|item| item.trim() == "gen_ai_latest_experimental")
            });
        Ok(Some(TelemetryPlan {
            traces_url,
            metrics_url,
            headers,
            protocol,
            service_name: env
                .var("OTEL_SERVICE_NAME")
                .or_else(|| config.service_name.clone())
                .unwrap_or_else(|| "confab".to_string()),
            resource,
            capture_content,
            user_id: config.user_id.clone(),
            latest_names_only,
            flush_timeout: Duration::from_millis(flush_ms),
        }))
    }
}

/// Accepts `http://` and `https://` URLs with a host.
fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            format!(
                "{:?} is not an http:// or https:// URL",
                crate::safe_text::redact_url(url)
            )
        })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

/// Reads the `key1=value1,key2=value2` lists of `OTEL_EXPORTER_OTLP_HEADERS`
/// and `OTEL_RESOURCE_ATTRIBUTES` (values percent-decoded).
fn key_value_list(list: &str) -> Result<Vec<(String, String)>, String> {
    list.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("{:?} is not key=value", item.trim()))?;
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(text.trim())
                    .decode_utf8()
                    .map(|v| v.into_owned())
                    .map_err(|_| "a value is not UTF-8 once percent-decoded".to_string())
            };
            let key = decode(key)?;
            if key.is_empty() {
                return Err("an empty key".to_string());
            }
            Ok((key, decode(value)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Vars(HashMap<&'static str, &'static str>);

    impl Environment for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn plan(vars: &[(&'static str, &'static str)]) -> Result<Option<TelemetryPlan>, String> {
        TelemetryPlan::resolve(
            &Vars(vars.iter().copied().collect()),
            &TelemetryConfig::default(),
        )
    }

    #[test]
    fn off_without_an_endpoint_or_when_disabled() {
        assert_eq!(plan(&[]), Ok(None));
        let disabled = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ];
        assert_eq!(plan(&disabled), Ok(None));
    }

    #[test]
    fn the_base_endpoint_gets_the_signal_paths_and_a_signal_endpoint_is_used_as_is() {
        let plan = plan(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:6006/"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://other:1/t"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization=Basic%20abc, x-a = 1",
            ),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci"),
            (
                "OTEL_SEMCONV_STABILITY_OPT_IN",
                "http,gen_ai_latest_experimental",
            ),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(plan.traces_url.as_deref(), Some("http://other:1/t"));
        assert_eq!(
            plan.metrics_url.as_deref(),
            Some("http://127.0.0.1:6006/v1/metrics")
        );
        assert_eq!(plan.headers["Authorization"], "Basic abc");
        assert_eq!(plan.headers["x-a"], "1");
        assert_eq!(
            plan.resource,
            vec![("deployment.environment".into(), "ci".into())]
        );
        assert!(plan.latest_names_only);
        assert_eq!(plan.protocol, Protocol::HttpProtobuf);
        assert_eq!(plan.service_name, "confab");
        assert_eq!(plan.flush_timeout, Duration::from_secs(1));
    }

    #[test]
    fn one_signal_can_be_turned_off() {
        let plan = plan(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:6006"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(plan.metrics_url, None);
        assert!(plan.traces_url.is_some());
    }

    #[test]
    fn malformed_values_are_named() {
        let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        let grpc = plan(&[base, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap_err();
        assert!(grpc.contains("http/protobuf"), "{grpc}");
        let headers = plan(&[base, ("OTEL_EXPORTER_OTLP_HEADERS", "novalue")]).unwrap_err();
        assert!(headers.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{headers}");
        let url = plan(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")]).unwrap_err();
        assert!(
            url.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || url.contains("http://"),
            "{url}"
        );
        let timeout = plan(&[base, ("OTEL_EXPORTER_OTLP_TIMEOUT", "NaN")]).unwrap_err();
        assert!(timeout.contains("OTEL_EXPORTER_OTLP_TIMEOUT"), "{timeout}");
    }
}
