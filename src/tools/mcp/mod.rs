//! MCP servers as tool sources (issue #15): servers declared as
//! `[mcp_servers.NAME]` in config, started on first use over stdio or
//! Streamable HTTP with the official SDK (`rmcp`), their tools offered to
//! the model only when named in `allow`, under `NAME__TOOL`. Every call
//! goes through the same checks, approval and audit as declared tools
//! ([`super::ToolRegistry`], [`super::broker::ToolBroker`]); this module
//! only knows how to reach the servers.

pub mod content;
mod session;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Constraint, Risk};
pub use content::{ToolImage, ToolOutput};
pub use session::McpHub;

fn default_timeout_secs() -> u64 {
    30
}

/// One MCP server (`[mcp_servers.NAME]` in `config.toml`): exactly one of
/// `command` (stdio) and `url` (Streamable HTTP).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// The argv of a stdio server, run without a shell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The endpoint of a Streamable HTTP server (`http://127.0.0.1:8931/mcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers sent with every HTTP request (auth); `${VAR}` in a value is
    /// replaced by that environment variable, so tokens stay out of the file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The server's tools that are offered to the model; none by default.
    #[serde(default)]
    pub allow: Vec<String>,
    /// `low` runs its tools without asking; `high` (the default) asks
    /// before each call.
    #[serde(default)]
    pub risk: Risk,
    /// Environment variables passed on to a stdio server beyond the base
    /// set (PATH, HOME, locale, TZ, TMPDIR).
    #[serde(default)]
    pub env: Vec<String>,
    /// Seconds to start the server, and for each call, before giving up.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Checks on argument values beyond the schema, by tool name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub constraints: BTreeMap<String, Vec<Constraint>>,
}

/// How a server is reached, resolved from its config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A child process speaking JSON-RPC on stdin and stdout.
    Stdio {
        /// The argv.
        command: Vec<String>,
        /// The variables passed on beyond the base set.
        env: Vec<String>,
    },
    /// A Streamable HTTP endpoint.
    Http {
        /// The endpoint URL.
        url: String,
        /// Headers with `${VAR}` already replaced.
        headers: Vec<(String, String)>,
    },
}

impl McpServerConfig {
    /// The call timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// What is wrong with this server's table, in words that name the key;
    /// `None` when it can be used. (Environment variables in headers are
    /// looked up when the server starts.)
    pub fn problem(&self, name: &str) -> Option<String> {
        if !is_valid_server_name(name) {
            return Some(format!(
                "mcp_servers.{name}: a server name is 1 to 32 letters, digits or `-`"
            ));
        }
        let at = |what: &str| format!("mcp_servers.{name}: {what}");
        match (&self.url, self.command.is_empty()) {
            (Some(_), false) => return Some(at("set `command` (stdio) or `url` (HTTP), not both")),
            (None, true) => return Some(at("set `command` (stdio) or `url` (HTTP)")),
            (None, false) if self.command[0].is_empty() => {
                return Some(at("`command` starts with an empty program"))
            }
            (Some(url), true) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Some(at("`url` must start with http:// or https://"))
            }
            _ => {}
        }
        if self.url.is_some() && !self.env.is_empty() {
            return Some(at(
                "`env` is for stdio servers; send HTTP credentials in `headers`",
            ));
        }
        if self.url.is_none() && !self.headers.is_empty() {
            return Some(at(
                "`headers` is for HTTP servers; pass stdio credentials with `env`",
            ));
        }
        if let Some(bad) = self.env.iter().find(|v| !super::run::is_variable_name(v)) {
            return Some(at(&format!(
                "`env` lists `{bad}`, which is not a variable name"
            )));
        }
        if let Some(bad) = self
            .headers
            .keys()
            .find(|h| reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err())
        {
            return Some(at(&format!("`{bad}` is not an HTTP header name")));
        }
        if let Some(tool) = self.constraints.keys().find(|t| !self.allow.contains(t)) {
            return Some(at(&format!(
                "constraints name `{tool}`, which is not in `allow`"
            )));
        }
        self.constraints
            .values()
            .flatten()
            .find_map(Constraint::problem)
            .map(|problem| at(&problem))
    }

    /// The transport, with `${VAR}` in header values replaced from `env`;
    /// an unset variable is an error naming it.
    pub fn transport(&self, env: impl Fn(&str) -> Option<String>) -> Result<Transport, String> {
        let Some(url) = &self.url else {
            return Ok(Transport::Stdio {
                command: self.command.clone(),
                env: self.env.clone(),
            });
        };
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| Ok((name.clone(), expand_variables(value, &env)?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Transport::Http {
            url: url.clone(),
            headers,
        })
    }
}

/// `value` with each `${NAME}` replaced by the variable's value.
fn expand_variables(value: &str, env: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("a header value has `${` without a closing `}`".into());
        };
        let name = &after[..end];
        let found = env(name).ok_or_else(|| {
            format!("the header value names ${{{name}}}, which is not set in the environment")
        })?;
        out.push_str(&found);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `name` can name a server: 1 to 32 ASCII letters, digits or `-`
/// (no `_`, so `SERVER__TOOL` splits one way only).
pub fn is_valid_server_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The name a server's tool has for the model: `SERVER__TOOL`.
pub fn qualified_name(server: &str, tool: &str) -> String {
    format!("{server}__{tool}")
}

/// A tool as a server lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct McpTool {
    /// The server's name for it.
    pub name: String,
    /// Its description (server-supplied, untrusted).
    pub description: String,
    /// Its input schema, a JSON object.
    pub input_schema: serde_json::Value,
    /// Whether the server hints it only reads (untrusted; shown, never
    /// used to decide).
    pub read_only_hint: Option<bool>,
}

/// Why an MCP server could not be used; every message names the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The process could not be started or the endpoint not reached.
    #[error("MCP server `{server}` could not be started: {reason}")]
    Start {
        /// The server.
        server: String,
        /// What went wrong, with the end of its stderr.
        reason: String,
    },
    /// It did not answer within its timeout.
    #[error("MCP server `{server}` did not answer within {seconds} s ({what})")]
    Timeout {
        /// The server.
        server: String,
        /// The timeout.
        seconds: u64,
        /// What was being waited for.
        what: String,
    },
    /// It stopped, or the connection broke.
    #[error("MCP server `{server}` stopped: {reason}")]
    Stopped {
        /// The server.
        server: String,
        /// What is known, with the end of its stderr.
        reason: String,
    },
    /// It answered with a protocol error.
    #[error("MCP server `{server}` refused the request: {reason}")]
    Protocol {
        /// The server.
        server: String,
        /// The error it sent.
        reason: String,
    },
    /// No server of that name is declared.
    #[error("no MCP server `{0}` is declared")]
    Unknown(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdio() -> McpServerConfig {
        McpServerConfig {
            command: vec!["mcp-server".into()],
            ..McpServerConfig::default()
        }
    }

    #[test]
    fn parses_a_three_line_server() {
        let text = r#"
            command = ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"]
            allow = ["read_text_file", "list_directory"]
            risk = "low"
        "#;
        let config: McpServerConfig = toml::from_str(text).expect("toml");
        assert_eq!(config.timeout_secs, 30);
        assert_eq!(config.risk, Risk::Low);
        assert_eq!(config.problem("fs"), None);
        assert!(toml::from_str::<McpServerConfig>("command = [\"x\"]\nshell = true").is_err());
        let default: McpServerConfig = toml::from_str("command = [\"x\"]").expect("toml");
        assert_eq!(default.risk, Risk::High);
        assert!(default.allow.is_empty());
    }

    #[test]
    fn names_what_is_wrong() {
        let both = McpServerConfig {
            url: Some("http://127.0.0.1:1/mcp".into()),
            ..stdio()
        };
        assert!(both.problem("fs").expect("both").contains("not both"));
        assert!(McpServerConfig::default()
            .problem("fs")
            .expect("neither")
            .contains("`command`"));
        assert!(stdio()
            .problem("a_b")
            .expect("underscore")
            .contains("server name"));
        let ftp = McpServerConfig {
            url: Some("ftp://x".into()),
            ..McpServerConfig::default()
        };
        assert!(ftp.problem("x").expect("scheme").contains("http://"));
        let bad_env = McpServerConfig {
            env: vec!["1X".into()],
            ..stdio()
        };
        assert!(bad_env.problem("x").expect("env").contains("`1X`"));
        let stray = McpServerConfig {
            constraints: BTreeMap::from([("write_file".to_string(), Vec::new())]),
            ..stdio()
        };
        assert!(stray.problem("x").expect("constraint").contains("`allow`"));
        let headers = McpServerConfig {
            headers: BTreeMap::from([("Authorization".to_string(), "x".to_string())]),
            ..stdio()
        };
        assert!(headers
            .problem("x")
            .expect("headers")
            .contains("HTTP servers"));
    }

    #[test]
    fn header_values_take_variables_from_the_environment() {
        let config = McpServerConfig {
            url: Some("http://127.0.0.1:1/mcp".into()),
            headers: BTreeMap::from([(
                "Authorization".to_string(),
                "Bearer ${DOCS_TOKEN}".to_string(),
            )]),
            ..McpServerConfig::default()
        };
        let env = |name: &str| (name == "DOCS_TOKEN").then(|| "s3cret".to_string());
        let Ok(Transport::Http { headers, .. }) = config.transport(env) else {
            panic!("http");
        };
        assert_eq!(
            headers,
            [("Authorization".to_string(), "Bearer s3cret".to_string())]
        );
        let err = config.transport(|_| None).expect_err("unset");
        assert!(err.contains("${DOCS_TOKEN}"), "{err}");
    }

    #[test]
    fn qualified_names_cannot_collide_across_servers() {
        assert_eq!(qualified_name("fs", "read_text_file"), "fs__read_text_file");
        assert!(is_valid_server_name("every-thing2"));
        assert!(!is_valid_server_name("fs_a"));
        assert!(!is_valid_server_name(""));
        assert!(!is_valid_server_name(&"x".repeat(33)));
    }
}
