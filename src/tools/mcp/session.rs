//! The running MCP servers: started together on first use, each within its
//! timeout, over stdio (a child process in its own process group, only the
//! allowlisted environment, stderr kept for error messages) or Streamable
//! HTTP (confab's TLS set-up, no redirects); called one request at a time
//! with a timeout; shut down cleanly (stdin closed, then SIGTERM, then
//! SIGKILL for stdio) when the hub is dropped.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion,
};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::ServiceExt as _;
use tokio::io::AsyncReadExt as _;

use super::{McpError, McpServerConfig, McpTool, Transport};

/// How much of a server's stderr is kept (its end), for error messages.
const STDERR_TAIL_BYTES: usize = 2048;
/// How long shutting down all servers may take before they are killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// The most tools taken from one server's listing.
const MAX_TOOLS: usize = 512;

/// The end of a server's stderr.
type StderrTail = Arc<Mutex<Vec<u8>>>;

/// One connected server.
struct Session {
    service: RunningService<RoleClient, ClientConfig>,
    stderr: Option<StderrTail>,
}

/// The declared servers and the ones running.
pub struct McpHub {
    runtime: tokio::runtime::Runtime,
    servers: BTreeMap<String, McpServerConfig>,
    sessions: BTreeMap<String, Session>,
    started: bool,
}

impl std::fmt::Debug for McpHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHub")
            .field("servers", &self.servers.keys().collect::<Vec<_>>())
            .field("running", &self.sessions.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What starting one server gave: its tools, or why it could not start.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerListing {
    /// The server's name.
    pub server: String,
    /// Its tools, in the order it listed them.
    pub tools: Result<Vec<McpTool>, McpError>,
}

impl McpHub {
    /// A hub for `servers`; nothing is started until [`McpHub::start`].
    pub fn new(servers: BTreeMap<String, McpServerConfig>) -> std::io::Result<McpHub> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("confab-mcp")
            .enable_all()
            .build()?;
        Ok(McpHub {
            runtime,
            servers,
            sessions: BTreeMap::new(),
            started: false,
        })
    }

    /// Whether no servers are declared.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The declared servers' names.
    pub fn server_names(&self) -> Vec<&str> {
        self.servers.keys().map(String::as_str).collect()
    }

    /// The config of server `name`.
    pub fn config(&self, name: &str) -> Option<&McpServerConfig> {
        self.servers.get(name)
    }

    /// Starts every server at once and lists its tools; each has its own
    /// timeout, so one that hangs costs that long and no more. Only the
    /// first call starts anything; later ones return an empty list.
    pub fn start(&mut self) -> Vec<ServerListing> {
        if std::mem::replace(&mut self.started, true) {
            return Vec::new();
        }
        let servers = self.servers.clone();
        let connected = self.runtime.block_on(async {
            let tasks = servers.into_iter().map(|(name, config)| async move {
                let result = connect(&name, &config).await;
                (name, result)
            });
            futures_util::future::join_all(tasks).await
        });
        let mut listings = Vec::with_capacity(connected.len());
        for (server, result) in connected {
            let tools = result.map(|(session, tools)| {
                self.sessions.insert(server.clone(), session);
                tools
            });
            listings.push(ServerListing { server, tools });
        }
        listings
    }

    /// Calls `tool` on `server` with `arguments` (a JSON object), waiting
    /// at most the server's timeout. Dropping the request on a timeout
    /// sends the server `notifications/cancelled`.
    pub fn call(
        &self,
        server: &str,
        tool: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(rmcp::model::CallToolResult, Duration), McpError> {
        let session = self
            .sessions
            .get(server)
            .ok_or_else(|| McpError::Unknown(server.to_string()))?;
        let timeout = self
            .servers
            .get(server)
            .map_or(Duration::from_secs(30), McpServerConfig::timeout);
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
        let started = Instant::now();
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(timeout, session.service.call_tool(params)).await
        });
        match answer {
            Err(_) => Err(McpError::Timeout {
                server: server.to_string(),
                seconds: timeout.as_secs(),
                what: format!("the call of `{tool}`"),
            }),
            Ok(Ok(result)) => Ok((result, started.elapsed())),
            Ok(Err(err)) => Err(service_error(server, session, &err)),
        }
    }

    /// Stops every running server: all at once, each given
    /// [`SHUTDOWN_GRACE`] before it is killed.
    pub fn shutdown(&mut self) {
        let sessions = std::mem::take(&mut self.sessions);
        if sessions.is_empty() {
            return;
        }
        self.runtime.block_on(async {
            let stops = sessions.into_values().map(|session| async move {
                let mut service = session.service;
                let _ = service.close_with_timeout(SHUTDOWN_GRACE).await;
            });
            futures_util::future::join_all(stops).await;
        });
    }
}

/// The error for a failed request: a protocol error as the server sent
/// it, anything else as the server having stopped (with its stderr).
fn service_error(server: &str, session: &Session, err: &ServiceError) -> McpError {
    match err {
        ServiceError::McpError(data) => McpError::Protocol {
            server: server.to_string(),
            reason: data.message.to_string(),
        },
        other => {
            // Give the stderr reader a moment to catch the last words.
            std::thread::sleep(Duration::from_millis(50));
            McpError::Stopped {
                server: server.to_string(),
                reason: with_stderr(other.to_string(), session.stderr.as_ref()),
            }
        }
    }
}

impl Drop for McpHub {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What confab tells servers about itself.
fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("confab", env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
}

/// Starts server `name` and lists its tools, all within its timeout.
async fn connect(
    name: &str,
    config: &McpServerConfig,
) -> Result<(Session, Vec<McpTool>), McpError> {
    let timeout = config.timeout();
    let start_error = |reason: String| McpError::Start {
        server: name.to_string(),
        reason,
    };
    let transport = config
        .transport(|variable| std::env::var(variable).ok())
        .map_err(start_error)?;
    let work = async {
        let (service, stderr) = match transport {
            Transport::Stdio { command, env } => {
                let (process, stderr) = spawn_stdio(&command, &env).map_err(start_error)?;
                let service = client_config()
                    .serve(process)
                    .await
                    .map_err(|err| start_error(with_stderr(err.to_string(), Some(&stderr))))?;
                (service, Some(stderr))
            }
            Transport::Http { url, headers } => {
                let transport = http_transport(&url, &headers).map_err(start_error)?;
                let service = client_config()
                    .serve(transport)
                    .await
                    .map_err(|err| start_error(err.to_string()))?;
                (service, None)
            }
        };
        let listed = service
            .list_all_tools()
            .await
            .map_err(|err| McpError::Start {
                server: name.to_string(),
                reason: format!("listing its tools failed: {err}"),
            })?;
        let tools = listed.into_iter().take(MAX_TOOLS).map(tool_of).collect();
        Ok((Session { service, stderr }, tools))
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(McpError::Timeout {
            server: name.to_string(),
            seconds: timeout.as_secs(),
            what: "starting it and listing its tools".into(),
        }),
    }
}

/// confab's view of a listed tool.
fn tool_of(tool: rmcp::model::Tool) -> McpTool {
    McpTool {
        name: tool.name.to_string(),
        description: tool.description.map(|d| d.to_string()).unwrap_or_default(),
        input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
        read_only_hint: tool.annotations.and_then(|a| a.read_only_hint),
    }
}

/// Spawns a stdio server: its argv without a shell, in a process group of
/// its own (so `npx` and what it starts go together), with only the base
/// environment and `env`, stderr drained into a tail.
fn spawn_stdio(
    command: &[String],
    env: &[String],
) -> Result<(rmcp::transport::TokioChildProcess, StderrTail), String> {
    let Some((program, args)) = command.split_first() else {
        return Err("the command is empty".into());
    };
    let mut child = tokio::process::Command::new(program);
    child.args(args).env_clear();
    for variable in super::super::run::BASE_ENVIRONMENT
        .iter()
        .copied()
        .chain(env.iter().map(String::as_str))
    {
        if let Some(value) = std::env::var_os(variable) {
            child.env(variable, value);
        }
    }
    let mut wrapped = process_wrap::tokio::CommandWrap::from(child);
    wrapped
        .wrap(process_wrap::tokio::ProcessGroup::leader())
        .wrap(process_wrap::tokio::KillOnDrop);
    let (process, stderr) = rmcp::transport::TokioChildProcess::builder(wrapped)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|err| format!("`{program}`: {err}"))?;
    let tail: StderrTail = Arc::default();
    if let Some(mut stderr) = stderr {
        let tail = Arc::clone(&tail);
        tokio::spawn(async move {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buffer).await {
                let mut kept = tail.lock().unwrap_or_else(|e| e.into_inner());
                kept.extend_from_slice(&buffer[..n]);
                let excess = kept.len().saturating_sub(STDERR_TAIL_BYTES);
                kept.drain(..excess);
            }
        });
    }
    Ok((process, tail))
}

/// `reason`, and the end of the server's stderr when it wrote any.
fn with_stderr(reason: String, stderr: Option<&StderrTail>) -> String {
    let tail = stderr
        .map(|tail| {
            let kept = tail.lock().unwrap_or_else(|e| e.into_inner());
            crate::safe_text::printable(&String::from_utf8_lossy(&kept))
        })
        .unwrap_or_default();
    let tail = tail.trim();
    if tail.is_empty() {
        reason
    } else {
        format!("{reason}; its stderr ends: {tail}")
    }
}

/// A Streamable HTTP transport for `url`: confab's TLS set-up, bounded
/// connect time, no redirects, and the configured headers (a bearer
/// `Authorization` goes the SDK's own way).
fn http_transport(
    url: &str,
    headers: &[(String, String)],
) -> Result<rmcp::transport::StreamableHttpClientTransport<reqwest::Client>, String> {
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(crate::llm::client::tls_config(url)?)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| err.to_string())?;
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    let mut custom = HashMap::new();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("authorization") {
            if let Some(token) = value.strip_prefix("Bearer ") {
                config = config.auth_header(token.to_string());
                continue;
            }
        }
        let header_name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not an HTTP header name"))?;
        let header_value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header `{name}` is not valid in HTTP"))?;
        custom.insert(header_name, header_value);
    }
    Ok(rmcp::transport::StreamableHttpClientTransport::with_client(
        client,
        config.custom_headers(custom),
    ))
}
