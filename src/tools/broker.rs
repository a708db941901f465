//! One chat session's side of tool calls: answers every call the model
//! makes in a round (checked, decided, run or refused, audited) and counts
//! rounds against the chain limit.

use crate::guard::{fence, judge, Action, GuardConfig, Origin};
use crate::llm::{Message, ToolCallRequest, ToolDeclaration, ToolResult};

use super::{
    ApprovalPrompt, AuditDecision, AuditLog, AuditRecord, Refusal, TerminalPrompt, ToolRegistry,
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
        }
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
        let run = self.registry.run(&checked);
        let (content, is_error) = run.result_content();
        let (content, is_error) = self.screen_output(&call.name, content, is_error);
        self.write_audit(&record.with_run(&run, &content));
        let note = CallNote::untimed(&call, call_id, decision.into(), run.exit_code);
        (
            ToolResult {
                call_id: call_id.to_string(),
                content,
                is_error,
            },
            note,
        )
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
