//! One chat session's side of tool calls: answers every call the model
//! makes in a round (checked, decided, run or refused, audited) and counts
//! rounds against the chain limit.

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
}

/// Answers tool calls for one session.
pub struct ToolBroker {
    registry: ToolRegistry,
    approved_by_flag: Vec<String>,
    prompt: Option<TerminalPrompt>,
    audit: AuditLog,
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
            rounds: 0,
        }
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
            let (result, note) = if limit_reached {
                let refusal = Refusal::chain_limit(self.registry.settings().max_rounds);
                self.refuse(conversation_id, &call_id, call, &refusal)
            } else {
                self.answer_one(conversation_id, &call_id, call)
            };
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
        let note = CallNote {
            tool: call.name.clone(),
            decision: record.decision,
            exit_code: None,
        };
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
            let note = CallNote {
                tool: call.name.clone(),
                decision: record.decision,
                exit_code: None,
            };
            return (result, note);
        }
        let run = self.registry.run(&checked);
        let (content, is_error) = run.result_content();
        self.write_audit(&record.with_run(&run, &content));
        let note = CallNote {
            tool: call.name.clone(),
            decision: decision.into(),
            exit_code: run.exit_code,
        };
        (
            ToolResult {
                call_id: call_id.to_string(),
                content,
                is_error,
            },
            note,
        )
    }

    /// Appends to the audit log, warning when that fails.
    fn write_audit(&self, record: &AuditRecord) {
        if let Err(err) = self.audit.append(record) {
            eprintln!("warning: the audit record was not written: {err}");
        }
    }
}
