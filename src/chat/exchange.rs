//! Exchanging a request with the model: one call recorded in the usage
//! log, and the tool rounds that follow until the model replies without
//! asking for a tool.

use crate::conversation::{ConversationRecord, Role, RECORD_VERSION};
use crate::llm::client::{CallEnd, CallOutcome};
use crate::llm::{ChatRequest, Message, ToolCallRequest};
use crate::telemetry::{CallContent, Operation, RequestFacts, ToolSpan};
use crate::tools::broker::CallNote;
use crate::usage::recorder::ChatCall;
use crate::usage::{self, UsageRecord, UsageSource};

use super::Engine;

/// The calls of one exchange (tool rounds, a schema retry) summed up, and
/// the last call's outcome with the whole reply text.
pub(super) struct Exchange {
    pub(super) outcome: CallOutcome,
    /// The text of the last call alone (earlier rounds are in the request).
    pub(super) last_text: String,
    pub(super) usage: crate::llm::Usage,
    pub(super) usage_source: UsageSource,
    pub(super) latency_ms: u64,
    pub(super) ttft_ms: Option<u64>,
    pub(super) retries: u32,
}

impl Exchange {
    pub(super) fn of(outcome: &CallOutcome, record: &UsageRecord) -> Exchange {
        Exchange {
            outcome: outcome.clone(),
            last_text: outcome.text.clone(),
            usage: crate::llm::Usage {
                input_tokens: record.input_tokens,
                cached_input_tokens: record.cached_input_tokens,
                cache_write_tokens: record.cache_write_tokens,
                cache_write_hour_tokens: record.cache_write_hour_tokens,
                output_tokens: record.output_tokens,
                reasoning_tokens: record.reasoning_tokens,
            },
            usage_source: record.usage_source,
            latency_ms: record.latency_ms,
            ttft_ms: record.ttft_ms,
            retries: record.retries,
        }
    }

    /// This exchange followed by `next`: sums, the first time to first
    /// token, `next`'s outcome.
    pub(super) fn then(self, next: Exchange) -> Exchange {
        let (a, b) = (self.usage, next.usage);
        Exchange {
            outcome: next.outcome,
            last_text: next.last_text,
            usage: crate::llm::Usage {
                input_tokens: a.input_tokens + b.input_tokens,
                cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
                cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
                cache_write_hour_tokens: a.cache_write_hour_tokens + b.cache_write_hour_tokens,
                output_tokens: a.output_tokens + b.output_tokens,
                reasoning_tokens: a.reasoning_tokens + b.reasoning_tokens,
            },
            usage_source: if self.usage_source == UsageSource::Local {
                UsageSource::Local
            } else {
                next.usage_source
            },
            latency_ms: self.latency_ms + next.latency_ms,
            ttft_ms: self.ttft_ms.or(next.ttft_ms),
            retries: self.retries + next.retries,
        }
    }
}

impl Engine {
    /// Calls the model and answers its tool calls until it replies without
    /// one (or the chain limit stops it); records every call in the usage
    /// log and the reply in the conversation.
    pub(super) fn exchange(
        &mut self,
        request: &mut ChatRequest,
        id: &str,
        message: &str,
        echo: bool,
    ) -> anyhow::Result<Exchange> {
        let mut texts: Vec<String> = Vec::new();
        let mut total: Option<Exchange> = None;
        let mut refused_rounds = 0;
        // Whether the last call's text is already in a tool-calls record.
        let mut last_recorded;
        let mut rounds = 0;
        let (outcome, call_id) = loop {
            last_recorded = false;
            let logged = if total.is_none() { message } else { "" };
            let (outcome, record) = self.call(request, self.plan.command, id, logged, echo);
            let this = Exchange::of(&outcome, &record);
            total = Some(match total {
                Some(before) => before.then(this),
                None => this,
            });
            if !outcome.text.is_empty() {
                texts.push(outcome.text.clone());
            }
            let answerable =
                !outcome.tool_calls.is_empty() && matches!(outcome.end, CallEnd::Complete);
            let Some(broker) = self.tools.as_ref().filter(|_| answerable) else {
                if self.tools.is_none() {
                    for call in &outcome.tool_calls {
                        self.info(&format!(
                            "the model asked to call `{}` with {}; no tools are configured, so nothing was run",
                            call.name, call.arguments
                        ));
                    }
                }
                break (outcome, record.call_id);
            };
            if broker.exhausted() {
                refused_rounds += 1;
                if refused_rounds > 1 {
                    self.info(
                        "the model kept asking for tools after the limit of rounds; stopping here",
                    );
                    break (outcome, record.call_id);
                }
            }
            let calls = Message {
                reasoning: outcome.reasoning.clone(),
                ..Message::assistant_tool_calls(outcome.text.clone(), outcome.tool_calls.clone())
            };
            let model = outcome.model_reported.clone();
            self.record_tool_calls(&calls, model, &record.call_id)?;
            request.messages.push(calls);
            let (results, notes) = self.answer_tools(id, &outcome.tool_calls)?;
            last_recorded = true;
            rounds += 1;
            for note in notes {
                let ran = note
                    .exit_code
                    .map(|code| format!(", exit {code}"))
                    .unwrap_or_default();
                let decision = serde_json::to_value(note.decision)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let failed = note
                    .exit_code
                    .filter(|code| *code != 0)
                    .map(|code| format!("exit {code}"));
                self.telemetry.tool_call(&ToolSpan {
                    name: &note.tool,
                    call_id: Some(&note.call_id),
                    decision: &decision,
                    started: note.started,
                    duration: note.duration,
                    error: failed.as_deref(),
                    conversation_id: Some(id),
                });
                self.info(&format!("tool `{}`: {decision}{ran}", note.tool));
            }
            request.messages.extend(results);
            let next = self.count_request(request.system.as_deref(), &request.messages)
                + self.request_overhead()
                + u64::from(request.max_output_tokens);
            if next > self.info.context_window {
                self.info(&format!(
                    "the tool results would take the request to {next} tokens, over the \
                     {}-token context window; stopping the tool calls here",
                    self.info.context_window
                ));
                break (outcome, record.call_id);
            }
        };
        let text = texts.join("\n\n");
        // A failure after earlier rounds wrote text leaves a partial reply.
        let interrupted = matches!(outcome.end, CallEnd::Cancelled | CallEnd::Broken(_))
            || (matches!(outcome.end, CallEnd::Failed(_)) && !text.is_empty());
        // The earlier rounds' texts are in their tool-calls records: the
        // reply record holds what the last call wrote. After tool rounds it
        // is written even when empty, for its call id and interrupted mark.
        let after_rounds = rounds > 0 && (interrupted || matches!(outcome.end, CallEnd::Complete));
        if !last_recorded && (!outcome.text.is_empty() || after_rounds) {
            let model = outcome.model_reported.clone();
            self.record_reply(&outcome.text, model, call_id, interrupted)?;
        }
        let mut total = total.expect("at least one call");
        total.outcome = outcome;
        total.outcome.text = text;
        Ok(total)
    }

    /// Appends a round of tool calls to the conversation file and history,
    /// before they are answered.
    fn record_tool_calls(
        &mut self,
        calls: &Message,
        model_reported: Option<String>,
        call_id: &str,
    ) -> anyhow::Result<()> {
        self.append(&ConversationRecord::ToolCalls {
            v: RECORD_VERSION,
            ts: usage::now_rfc3339(),
            content: calls.content.clone(),
            calls: calls.tool_calls.clone(),
            model: model_reported.or_else(|| Some(self.resolved.model.clone())),
            call_id: Some(call_id.to_string()),
            reasoning: calls.reasoning.clone(),
        })?;
        self.history.push(calls.clone());
        Ok(())
    }

    /// Answers a round of tool calls, appending each result to the
    /// conversation file as soon as it is known, and all of them to the
    /// history. Returns the result messages and the broker's notes.
    fn answer_tools(
        &mut self,
        id: &str,
        calls: &[ToolCallRequest],
    ) -> anyhow::Result<(Vec<Message>, Vec<CallNote>)> {
        let Some(broker) = self.tools.as_mut() else {
            return Ok((Vec::new(), Vec::new()));
        };
        let conversation = self.conversation.clone();
        let mut failed = None;
        let (results, notes) = broker.answer_each(Some(id), calls, |call, result| {
            let record = ConversationRecord::ToolResult {
                v: RECORD_VERSION,
                ts: usage::now_rfc3339(),
                tool: call.name.clone(),
                result: result.for_history(),
            };
            let written = match &conversation {
                Some(conversation) => conversation.append(&record).map_err(anyhow::Error::from),
                None => Err(anyhow::anyhow!(
                    "internal error: no conversation is open to record into"
                )),
            };
            if let Err(err) = written {
                failed.get_or_insert(err);
            }
        });
        if let Some(err) = failed {
            return Err(err);
        }
        // The history keeps what the file keeps: images are shown to the
        // model in this exchange only.
        let kept = results.iter().map(|message| match &message.tool_result {
            Some(result) if !result.images.is_empty() => Message::tool_result(result.for_history()),
            _ => message.clone(),
        });
        self.history.extend(kept);
        Ok((results, notes))
    }

    /// Appends the assistant's reply to the conversation file and history.
    pub(super) fn record_reply(
        &mut self,
        text: &str,
        model_reported: Option<String>,
        call_id: String,
        interrupted: bool,
    ) -> anyhow::Result<()> {
        self.append(&ConversationRecord::Message {
            v: RECORD_VERSION,
            ts: usage::now_rfc3339(),
            role: Role::Assistant,
            content: text.to_string(),
            model: model_reported.or_else(|| Some(self.resolved.model.clone())),
            call_id: Some(call_id),
            interrupted,
            fenced: false,
            preset: None,
            attachments: Vec::new(),
        })?;
        // An empty reply after tool rounds is kept in the file but never
        // resent (see `Conversation::messages`).
        if !text.is_empty() {
            self.history.push(Message::new(Role::Assistant, text));
        }
        Ok(())
    }

    /// One model call, recorded in the usage log under `command`.
    pub(super) fn call(
        &mut self,
        request: &ChatRequest,
        command: &str,
        conversation_id: &str,
        message: &str,
        echo: bool,
    ) -> (CallOutcome, UsageRecord) {
        let started_at = usage::now_rfc3339();
        let call_id = usage::new_call_id();
        let prompt_tokens = self.count_request(request.system.as_deref(), &request.messages);
        self.cancel.clear_interrupt();
        self.sink.call_started(&self.resolved.model, echo);
        let outcome = self
            .client
            .chat(request, self.cancel.flag(), self.sink.as_mut());
        self.sink.call_finished();
        let record = self.usage_record(
            &outcome,
            (command, conversation_id, &call_id),
            &started_at,
            prompt_tokens,
            message,
        );
        if let Err(err) = self.recorder.write(&record) {
            self.warn(&format!("the usage record was not written: {err}"));
        }
        let content = CallContent {
            system: request.system.as_deref(),
            messages: &request.messages,
            reply: &outcome.text,
        };
        self.telemetry.model_call(
            Operation::Chat,
            &record,
            &RequestFacts {
                max_tokens: Some(request.max_output_tokens),
                temperature: request.temperature,
                stream: request.stream,
            },
            &outcome.retry_notes,
            self.telemetry.captures_content().then_some(content),
        );
        (outcome, record)
    }

    /// The record of a call of this engine's model.
    pub(super) fn usage_record(
        &self,
        outcome: &CallOutcome,
        call: (&str, &str, &str),
        ts: &str,
        prompt_tokens: u64,
        message: &str,
    ) -> UsageRecord {
        let (command, conversation_id, call_id) = call;
        self.recorder.chat_record(
            ChatCall {
                call_id,
                ts,
                command,
                conversation_id,
                model: &self.resolved.model,
                prompt_tokens,
                encoding: self.info.tokenizer.encoding,
                prompt: message,
            },
            outcome,
        )
    }
}
