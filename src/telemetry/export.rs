//! The OTLP/HTTP pipeline: a tracer and a meter provider whose exporters
//! post protobuf (or JSON) with a blocking client on the SDK's own
//! background threads, and note the first failure instead of logging it,
//! so the command can say it once. Shutting down is bounded: both
//! providers flush at the same time, each within the plan's timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::telemetry::plan::{Protocol, TelemetryPlan};

/// The first export failure, and how many exports are still running,
/// shared by the exporters.
#[derive(Clone, Debug, Default)]
pub struct FailureNote {
    first: Arc<Mutex<Option<String>>>,
    in_flight: Arc<AtomicUsize>,
}

impl FailureNote {
    fn note(&self, what: &str, result: &OTelSdkResult) {
        if let Err(err) = result {
            self.note_text(format!("{what}: {err}"));
        }
    }

    /// Keeps `text` (credentials in URLs and anything shaped like a key
    /// removed: the SDK's errors quote the endpoint) if it is the first.
    fn note_text(&self, text: String) {
        if let Ok(mut first) = self.first.lock() {
            first.get_or_insert_with(|| crate::safe_text::without_secrets(&text, None));
        }
    }

    /// Runs one export, counted as in flight until it returns.
    async fn counted<F: std::future::Future<Output = OTelSdkResult>>(
        &self,
        export: F,
    ) -> OTelSdkResult {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let result = export.await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// The first failure, if any.
    pub fn first(&self) -> Option<String> {
        self.first.lock().ok().and_then(|first| first.clone())
    }
}

/// A span exporter that notes its failures.
#[derive(Debug)]
struct NotingSpanExporter {
    inner: opentelemetry_otlp::SpanExporter,
    note: FailureNote,
    url: String,
}

impl SpanExporter for NotingSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.note.counted(self.inner.export(batch)).await;
        self.note.note(&format!("spans to {}", self.url), &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// A metric exporter that notes its failures.
struct NotingMetricExporter {
    inner: opentelemetry_otlp::MetricExporter,
    note: FailureNote,
    url: String,
}

impl PushMetricExporter for NotingMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.note.counted(self.inner.export(metrics)).await;
        if !has_no_metrics_route(&result) {
            self.note.note(&format!("metrics to {}", self.url), &result);
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// Whether the backend answered that it has no metrics route (404 or
/// 405, as Phoenix does): a backend that takes traces only, not a failure
/// worth a warning on every command.
fn has_no_metrics_route(result: &OTelSdkResult) -> bool {
    match result {
        Err(err) => {
            let text = err.to_string();
            text.contains("status code: 404") || text.contains("status code: 405")
        }
        Ok(()) => false,
    }
}

/// The providers of one process.
pub struct Pipeline {
    /// Makes the spans.
    pub tracer_provider: Option<SdkTracerProvider>,
    /// Makes the instruments.
    pub meter_provider: Option<SdkMeterProvider>,
    /// What went wrong exporting, if anything.
    pub failures: FailureNote,
    timeout: Duration,
}

impl Pipeline {
    /// Builds the exporters the plan asks for.
    pub fn build(plan: &TelemetryPlan) -> Result<Pipeline, String> {
        let failures = FailureNote::default();
        let resource = resource(plan);
        // One client (and so one runtime thread) for both signals when
        // they share a scheme, which is what their TLS set-up depends on.
        let mut clients: Vec<(bool, reqwest::blocking::Client)> = Vec::new();
        let mut client_for = |url: &str| -> Result<reqwest::blocking::Client, String> {
            let plain = url.starts_with("http://");
            if let Some((_, client)) = clients.iter().find(|(p, _)| *p == plain) {
                return Ok(client.clone());
            }
            let client = http_client(plan, url)?;
            clients.push((plain, client.clone()));
            Ok(client)
        };
        let tracer_provider = match &plan.traces_url {
            Some(url) => {
                let exporter = NotingSpanExporter {
                    inner: span_exporter(plan, url, client_for(url)?)?,
                    note: failures.clone(),
                    url: crate::safe_text::redact_url(url),
                };
                Some(
                    SdkTracerProvider::builder()
                        .with_resource(resource.clone())
                        .with_batch_exporter(exporter)
                        .build(),
                )
            }
            None => None,
        };
        let meter_provider = match &plan.metrics_url {
            Some(url) => {
                let exporter = NotingMetricExporter {
                    inner: metric_exporter(plan, url, client_for(url)?)?,
                    note: failures.clone(),
                    url: crate::safe_text::redact_url(url),
                };
                // Exported at exit; the interval only matters for a long REPL.
                let reader = PeriodicReader::builder(exporter)
                    .with_interval(Duration::from_secs(60))
                    .build();
                Some(
                    SdkMeterProvider::builder()
                        .with_resource(resource)
                        .with_reader(reader)
                        .build(),
                )
            }
            None => None,
        };
        Ok(Pipeline {
            tracer_provider,
            meter_provider,
            failures,
            timeout: plan.flush_timeout,
        })
    }

    /// Flushes and stops both providers at once, each within the timeout;
    /// returns the first failure.
    pub fn shutdown(&self) -> Option<String> {
        let timeout = self.timeout;
        std::thread::scope(|scope| {
            let traces = self
                .tracer_provider
                .as_ref()
                .map(|provider| scope.spawn(move || provider.shutdown_with_timeout(timeout)));
            let metrics = self
                .meter_provider
                .as_ref()
                .map(|provider| scope.spawn(move || provider.shutdown_with_timeout(timeout)));
            for handle in [traces, metrics].into_iter().flatten() {
                // Export failures are noted by the exporters themselves.
                let _ = handle.join();
            }
        });
        // An export still running was cut off by the timeout: its own
        // failure, if it fails, would come too late to be noted.
        if self.failures.in_flight.load(Ordering::SeqCst) > 0 {
            self.failures.note_text(format!(
                "the collector did not answer within {} ms",
                self.timeout.as_millis()
            ));
        }
        self.failures.first()
    }
}

/// `service.name`, the plan's resource attributes, and confab's version.
fn resource(plan: &TelemetryPlan) -> Resource {
    let attributes = plan
        .resource
        .iter()
        .map(|(key, value)| KeyValue::new(key.clone(), value.clone()))
        .chain([KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))]);
    Resource::builder_empty()
        .with_service_name(plan.service_name.clone())
        .with_attributes(attributes)
        .build()
}

/// The blocking HTTP client of the exporters: confab's TLS set-up, no
/// redirects, every request bounded by the plan's timeout.
fn http_client(plan: &TelemetryPlan, url: &str) -> Result<reqwest::blocking::Client, String> {
    reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(crate::llm::client::tls_config(url)?)
        .connect_timeout(plan.flush_timeout)
        .timeout(plan.flush_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| err.to_string())
}

fn otlp_protocol(protocol: Protocol) -> opentelemetry_otlp::Protocol {
    match protocol {
        Protocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
    }
}

/// The settings both signals' HTTP exporters share.
fn configured<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    plan: &TelemetryPlan,
    url: &str,
    client: reqwest::blocking::Client,
) -> B {
    builder
        .with_http_client(client)
        .with_endpoint(url)
        .with_protocol(otlp_protocol(plan.protocol))
        .with_timeout(plan.flush_timeout)
        .with_headers(plan.headers.clone().into_iter().collect())
}

fn span_exporter(
    plan: &TelemetryPlan,
    url: &str,
    client: reqwest::blocking::Client,
) -> Result<opentelemetry_otlp::SpanExporter, String> {
    let builder = opentelemetry_otlp::SpanExporter::builder().with_http();
    configured(builder, plan, url, client)
        .build()
        .map_err(|err| err.to_string())
}

fn metric_exporter(
    plan: &TelemetryPlan,
    url: &str,
    client: reqwest::blocking::Client,
) -> Result<opentelemetry_otlp::MetricExporter, String> {
    let builder = opentelemetry_otlp::MetricExporter::builder().with_http();
    configured(builder, plan, url, client)
        .build()
        .map_err(|err| err.to_string())
}
