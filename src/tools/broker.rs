//! One chat session's side of tool calls: answers every call the model
//! makes in a round (checked, decided, run or refused, audited) and counts
//! rounds against the chain limit.

use crate::guard::{fence, judge, Action, GuardConfig, Origin};
use crate::llm::{Message, ToolCallRequest, ToolDeclaration, ToolResult};

use super::mcp::{McpError, McpHub};
use super::{
    ApprovalPrompt, AuditDecision, AuditLog, AuditRecord, ListedTool, Refusal, TerminalPrompt,
    ToolOutput, ToolRegistry, ToolSource,
};

/// What happened to one call, for the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallNote {
    /// The tool asked for.
    pub tool: String,
    /// The decision as written to the audit log.
    pub decision: AuditDecision,
    /// The run's exit code, if it ran.
    pub exit_code: Option<i32>,
    /// The call's id.
    pub call_id: String,
    /// When the broker took the call up.
    pub started: std::time::SystemTime,
    /// How long deciding and running took.
    pub duration: std::time::Duration,
}

impl CallNote {
    /// A note of `call`; [`ToolBroker::answer`] times it.
    fn untimed(
        call: &ToolCallRequest,
        call_id: &str,
        decision: AuditDecision,
        exit_code: Option<i32>,
    ) -> CallNote {
        CallNote {
            tool: call.name.clone(),
            decision,
            exit_code,
            call_id: call_id.to_string(),
            started: std::time::SystemTime::UNIX_EPOCH,
            duration: std::time::Duration::ZERO,
        }
    }
}

/// Answers tool calls for one session.
pub struct ToolBroker {
    registry: ToolRegistry,
    approved_by_flag: Vec<String>,
    prompt: Option<TerminalPrompt>,
    audit: AuditLog,
    guard: GuardConfig,
    rounds: u32,
    mcp: Option<McpHub>,
}

/// What starting one MCP server gave: its tools, each marked offered or
/// not, or why it could not start.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerReport {
    /// The server.
    pub server: String,
    /// Its tools, or the error.
    pub tools: Result<Vec<ListedTool>, McpError>,
    /// Names in its `allow` that it does not list.
    pub unknown_allowed: Vec<String>,
}

impl ToolBroker {
    /// A broker for `registry`; `approved_by_flag` are the high-risk tools
    /// named with `--approve-tools`; `prompt` asks the person at the
    /// terminal (none: high-risk calls not named are refused).
    pub fn new(
        registry: ToolRegistry,
        approved_by_flag: Vec<String>,
        prompt: Option<TerminalPrompt>,
        audit: AuditLog,
    ) -> ToolBroker {
        ToolBroker {
            registry,
            approved_by_flag,
            prompt,
            audit,
            guard: GuardConfig::default(),
            rounds: 0,
            mcp: None,
        }
    }

    /// Adds the declared MCP servers; they start on [`ToolBroker::start_servers`].
    pub fn with_mcp(mut self, hub: McpHub) -> ToolBroker {
        self.mcp = Some(hub);
        self
    }

    /// Starts the MCP servers (all at once; only the first call does
    /// anything) and adds their allowed tools to the registry.
    pub fn start_servers(&mut self) -> Vec<ServerReport> {
        let Some(hub) = self.mcp.as_mut() else {
            return Vec::new();
        };
        let listings = hub.start();
        let mut reports = Vec::with_capacity(listings.len());
        for listing in listings {
            let Some(config) = hub.config(&listing.server) else {
                continue;
            };
            let (tools, unknown_allowed) = match listing.tools {
                Ok(tools) => {
                    let unknown = config
                        .allow
                        .iter()
                        .filter(|name| !tools.iter().any(|t| &t.name == *name))
                        .cloned()
                        .collect();
                    let listed = self.registry.add_mcp_tools(&listing.server, config, &tools);
                    (Ok(listed), unknown)
                }
                Err(err) => (Err(err), Vec::new()),
            };
            reports.push(ServerReport {
                server: listing.server,
                tools,
                unknown_allowed,
            });
        }
        reports
    }

    /// Starts the MCP servers for a chat: the first server that could not
    /// start is the error; names in `allow` that a server does not list
    /// are warned about.
    pub fn start_for_chat(&mut self) -> Result<(), McpError> {
        for report in self.start_servers() {
            for name in &report.unknown_allowed {
                eprintln!(
                    "warning: mcp_servers.{}.allow names `{name}`, which the server does not list (`confab tools list` shows what it has)",
                    report.server
                );
            }
            report.tools?;
        }
        Ok(())
    }

    /// The declared MCP servers' names.
    pub fn server_names(&self) -> Vec<&str> {
        self.mcp
            .as_ref()
            .map(McpHub::server_names)
            .unwrap_or_default()
    }

    /// The registry (to list what is offered).
    pub fn registry(&self) -> &ToolRegistry {
        &self.registry
    }

    /// Screens tool output with these policies before it goes back to the
    /// model: secrets (`block` withholds the output, `redact` replaces
    /// them) and injection (`retrieved`: tool output is untrusted text).
    pub fn with_guard(mut self, guard: GuardConfig) -> ToolBroker {
        self.guard = guard;
        self
    }

    /// The tools to declare in every request.
    pub fn declarations(&self) -> Vec<ToolDeclaration> {
        self.registry.declarations()
    }

    /// Starts a new turn: the chain limit counts rounds within one turn.
    pub fn start_turn(&mut self) {
        self.rounds = 0;
    }

    /// Whether the limit of rounds in this turn has been reached.
    pub fn exhausted(&self) -> bool {
        self.rounds >= self.registry.settings().max_rounds
    }

    /// Answers one round of calls: one tool-result message per call, in
    /// order (both APIs want an answer for every call id), and a note per
    /// call. Every call, refusal and approval is appended to the audit log
    /// (one line per call, after it ran).
    pub fn answer(
        &mut self,
        conversation_id: Option<&str>,
        calls: &[ToolCallRequest],
    ) -> (Vec<Message>, Vec<CallNote>) {
        self.answer_each(conversation_id, calls, |_, _| {})
    }

    /// [`ToolBroker::answer`], telling `each` every call and its result as
    /// soon as it is known (so the caller can record it before the next
    /// call runs).
    pub fn answer_each(
        &mut self,
        conversation_id: Option<&str>,
        calls: &[ToolCallRequest],
        mut each: impl FnMut(&ToolCallRequest, &ToolResult),
    ) -> (Vec<Message>, Vec<CallNote>) {
        let limit_reached = self.exhausted();
        self.rounds += 1;
        let mut messages = Vec::with_capacity(calls.len());
        let mut notes = Vec::with_capacity(calls.len());
        for (n, call) in calls.iter().enumerate() {
            let call_id = call.id.clone().unwrap_or_else(|| format!("call_{n}"));
            let started = std::time::SystemTime::now();
            let clock = std::time::Instant::now();
            let (result, mut note) = if limit_reached {
                let refusal = Refusal::chain_limit(self.registry.settings().max_rounds);
                self.refuse(conversation_id, &call_id, call, &refusal)
            } else {
                self.answer_one(conversation_id, &call_id, call)
            };
            note.started = started;
            note.duration = clock.elapsed();
            each(call, &result);
            messages.push(Message::tool_result(result));
            notes.push(note);
        }
        (messages, notes)
    }

    fn refuse(
        &self,
        conversation_id: Option<&str>,
        call_id: &str,
        call: &ToolCallRequest,
        refusal: &Refusal,
    ) -> (ToolResult, CallNote) {
        let record = AuditRecord::new(
            conversation_id,
            call_id,
            &call.name,
            &call.arguments,
            refusal.kind.into(),
        )
        .with_reason(&refusal.reason);
        self.write_audit(&record);
        let note = CallNote::untimed(call, call_id, record.decision, None);
        (refusal.tool_result(call_id), note)
    }

    fn answer_one(
        &mut self,
        conversation_id: Option<&str>,
        call_id: &str,
        call: &ToolCallRequest,
    ) -> (ToolResult, CallNote) {
        let mut call = call.clone();
        call.id = Some(call_id.to_string());
        let checked = match self.registry.check(&call) {
            Ok(checked) => checked,
            Err(refusal) => return self.refuse(conversation_id, call_id, &call, &refusal),
        };
        let prompt = self.prompt.as_mut().map(|p| p as &mut dyn ApprovalPrompt);
        let decision = self
            .registry
            .decide(&checked, &self.approved_by_flag, prompt);
        let record = AuditRecord::new(
            conversation_id,
            call_id,
            &call.name,
            &call.arguments,
            decision.into(),
        );
        if let Some(result) = decision.refusal_result(&checked) {
            let record = record.with_reason(&result.content);
            self.write_audit(&record);
            let note = CallNote::untimed(&call, call_id, record.decision, None);
            return (result, note);
        }
        let (output, server) = self.run(&checked);
        let (content, is_error) =
            self.screen_output(&call.name, output.content.clone(), output.is_error);
        self.write_audit(
            &record
                .with_output(&output, &content)
                .with_server(server.as_deref()),
        );
        let note = CallNote::untimed(&call, call_id, decision.into(), output.exit_code);
        (
            ToolResult {
                call_id: call_id.to_string(),
                content,
                is_error,
                images: output.images,
            },
            note,
        )
    }

    /// Runs an approved call where its tool lives: a command, or a call to
    /// its MCP server (a server that stopped or timed out is said on the
    /// terminal and told to the model as an error). Also gives the server.
    fn run(&self, checked: &super::CheckedCall) -> (ToolOutput, Option<String>) {
        let Some(ToolSource::Mcp { server, tool }) = self.registry.source(&checked.name) else {
            return (self.registry.run(checked), None);
        };
        let arguments = checked.arguments.as_object().cloned().unwrap_or_default();
        let limit = self.registry.settings().output_limit_bytes;
        let started = std::time::Instant::now();
        let called = match &self.mcp {
            Some(hub) => hub.call(server, tool, arguments),
            None => Err(McpError::Unknown(server.clone())),
        };
        let output = match called {
            Ok((result, duration)) => super::mcp::content::output_of(&result, limit, duration),
            Err(err) => {
                eprintln!("confab: {err}");
                let timed_out = matches!(err, McpError::Timeout { .. });
                ToolOutput::failed(err.to_string(), timed_out, started.elapsed())
            }
        };
        (output, Some(server.clone()))
    }

    /// What of a tool's output may go back to the model: credentials are
    /// withheld or redacted, and text that looks like instructions is
    /// warned about, fenced as data, or withheld, by the `[guard]` policies.
    fn screen_output(&self, tool: &str, content: String, is_error: bool) -> (String, bool) {
        let verdict = judge(&content, self.guard.policy_for(Origin::ToolOutput, false));
        let secrets: Vec<String> = verdict
            .secrets
            .iter()
            .map(|s| format!("{} at line {}, column {}", s.kind, s.line, s.column))
            .collect();
        if verdict.redacted() {
            eprintln!(
                "confab: redacted {} secret(s) in the output of tool `{tool}`",
                secrets.len()
            );
        }
        let what = || -> String {
            let what: Vec<String> = verdict
                .findings
                .iter()
                .map(|f| format!("{}:{}: {}", f.line, f.column, f.rule))
                .collect();
            what.join(", ")
        };
        match verdict.action {
            Action::Send => (verdict.text, is_error),
            Action::BlockSecret => {
                eprintln!(
                    "confab: the output of tool `{tool}` holds a credential ({}); it was not sent to the model",
                    secrets.join("; ")
                );
                (
                    format!(
                        "the output of tool `{tool}` was withheld: it contains a credential ({})",
                        secrets.join("; ")
                    ),
                    true,
                )
            }
            Action::BlockInjection => {
                eprintln!(
                    "confab: the output of tool `{tool}` looks like a prompt injection ({}); it was not sent",
                    what()
                );
                (
                    format!("the output of tool `{tool}` was withheld: it contains text that looks like instructions to the model"),
                    true,
                )
            }
            Action::Warn => {
                eprintln!(
                    "warning: possible prompt injection in the output of tool `{tool}`: {}",
                    what()
                );
                (verdict.text, is_error)
            }
            Action::Fence => (
                fence(&verdict.text, &format!("output of tool {tool}")),
                is_error,
            ),
        }
    }

    /// Appends to the audit log, warning when that fails.
    fn write_audit(&self, record: &AuditRecord) {
        if let Err(err) = self.audit.append(record) {
            eprintln!("warning: the audit record was not written: {err}");
        }
    }
}

/// The broker for `config`'s tools and MCP servers (not started yet),
/// writing to the audit log in `data_dir`; `approved` are the
/// `--approve-tools` names, each a declared tool or `SERVER__TOOL` of a
/// declared server; `prompt` asks a person about high-risk calls.
pub fn open(
    config: &crate::config::Config,
    data_dir: &std::path::Path,
    approved: &[String],
    prompt: Option<TerminalPrompt>,
) -> anyhow::Result<ToolBroker> {
    use crate::exit::{ExitKind, Failure};
    let registry = ToolRegistry::from_config(&config.tools)
        .map_err(|err| {
            Failure::new(ExitKind::Usage, format!("config.toml: {err}"))
                .hint("fix the [tools.NAME] table; `confab config` shows the file's path")
        })?
        .with_settings(config.tool_settings);
    let known = |name: &str| {
        registry.names().contains(&name)
            || config.mcp_servers.keys().any(|server| {
                name.strip_prefix(server.as_str())
                    .and_then(|rest| rest.strip_prefix("__"))
                    .is_some_and(|tool| !tool.is_empty())
            })
    };
    if let Some(unknown) = approved.iter().find(|name| !known(name)) {
        let mut names: Vec<String> = registry.names().iter().map(|n| n.to_string()).collect();
        names.extend(
            config
                .mcp_servers
                .keys()
                .map(|server| format!("{server}__TOOL")),
        );
        return Err(Failure::new(
            ExitKind::Usage,
            format!("--approve-tools names `{unknown}`, which is not a configured tool"),
        )
        .hint(format!("the tools are: {}", names.join(", ")))
        .into());
    }
    let mut broker = ToolBroker::new(
        registry,
        approved.to_vec(),
        prompt,
        AuditLog::in_data_dir(data_dir),
    )
    .with_guard(config.guard);
    if !config.mcp_servers.is_empty() {
        let hub = McpHub::new(config.mcp_servers.clone())
            .map_err(|err| anyhow::anyhow!("starting the MCP runtime: {err}"))?;
        broker = broker.with_mcp(hub);
    }
    Ok(broker)
}
