//! Counting what a request sends against the model's window: the prompt
//! with its system prompt, summary, messages and tool declarations; the
//! output cap; the compaction threshold; and what to leave out of a
//! request when even compaction is not enough.

use serde::Serialize;

use crate::conversation::compaction;
use crate::conversation::Role;
use crate::exit::{ExitKind, Failure};
use crate::llm::models::DEFAULT_OUTPUT_CAP;
use crate::llm::Message;
use crate::tokens::chat::{count_messages, ChatMessage, MessageContent};

use super::Engine;

/// How the next request's context is spent (the REPL's `/tokens`).
#[derive(Debug, Clone, Serialize)]
pub struct ContextBreakdown {
    /// Tokens of the system prompt.
    pub system_tokens: u64,
    /// Tokens of the running summary.
    pub summary_tokens: u64,
    /// Messages the summary stands for.
    pub summarised_messages: usize,
    /// Messages sent verbatim.
    pub verbatim_messages: usize,
    /// Tokens of the verbatim messages (with per-message overhead).
    pub verbatim_tokens: u64,
    /// Tokens of the tool declarations and the `--schema` instruction.
    pub tools_tokens: u64,
    /// The whole prompt.
    pub prompt_tokens: u64,
    /// The output cap.
    pub output_cap: u64,
    /// The prompt size past which the conversation is compacted.
    pub compact_threshold: u64,
    /// The model's context window.
    pub context_window: u64,
    /// Whether the counts are exact (else estimates).
    pub exact: bool,
}

impl Engine {
    /// The output cap for the next request.
    pub fn output_cap(&self) -> u64 {
        let wanted = self
            .options
            .max_tokens
            .or(self.config.max_tokens)
            .map(u64::from)
            .unwrap_or(DEFAULT_OUTPUT_CAP.min(self.info.max_output_tokens));
        wanted.min(self.info.max_output_tokens)
    }

    /// Prompt tokens of what the next request would send: the system
    /// prompt, the summary, the verbatim messages (without the oldest
    /// `skip`) and `next` (if any). Counted with the model's tokenizer (an
    /// estimate for models without a public one).
    pub fn prompt_tokens(&self, next: Option<&str>) -> u64 {
        self.context_tokens(next, 0)
    }

    pub(super) fn context_tokens(&self, next: Option<&str>, skip: usize) -> u64 {
        let messages = self.request_messages(next, skip);
        self.count_request(self.system.as_deref(), &messages) + self.request_overhead()
    }

    /// The messages the next request sends: the summary in front of the
    /// messages it does not cover, without the oldest `skip` of those, and
    /// `next` last.
    pub(super) fn request_messages(&self, next: Option<&str>, skip: usize) -> Vec<Message> {
        let mut verbatim: Vec<Message> = self.verbatim().iter().skip(skip).cloned().collect();
        if let Some(next) = next {
            verbatim.push(Message {
                attachments: self.attachments.iter().map(|(a, _)| a.clone()).collect(),
                ..Message::new(Role::User, next.to_string())
            });
        }
        compaction::with_summary(self.summary.as_ref(), &verbatim)
    }

    /// The messages the summary does not cover.
    pub(super) fn verbatim(&self) -> &[Message] {
        let covered = self.summary.as_ref().map_or(0, |s| s.covers);
        &self.history[covered.min(self.history.len())..]
    }

    pub(super) fn count_request(&self, system: Option<&str>, messages: &[Message]) -> u64 {
        let tokenizer = &self.info.tokenizer;
        let to_chat = |role: &str, content: &str| ChatMessage {
            role: role.to_string(),
            content: Some(MessageContent::Text(content.to_string())),
            name: None,
        };
        let mut chat: Vec<ChatMessage> = Vec::with_capacity(messages.len() + 1);
        if let Some(system) = system {
            chat.push(to_chat("system", system));
        }
        let mut tool_data = 0;
        for m in messages {
            chat.push(to_chat(m.role.as_str(), &m.content));
            for call in &m.tool_calls {
                tool_data += self.info.tokenizer.encoding.count(&call.name)
                    + self.info.tokenizer.encoding.count(&call.arguments);
            }
            if let Some(result) = &m.tool_result {
                tool_data += self.info.tokenizer.encoding.count(&result.content);
            }
            tool_data += m
                .attachments
                .iter()
                .map(|a| a.estimated_tokens as usize)
                .sum::<usize>();
        }
        (count_messages(tokenizer, &chat).tokens + tool_data) as u64
    }

    /// Tokens every request carries besides its messages: the tool
    /// declarations and the `--schema` instruction.
    /// (Counted once per model: the declarations and schema do not change.)
    pub(super) fn request_overhead(&self) -> u64 {
        self.overhead_tokens
    }

    pub(super) fn count_overhead(&self) -> u64 {
        let tools = self.tools.as_ref().map_or(0, |broker| {
            let declared = serde_json::to_string(&broker.declarations()).unwrap_or_default();
            self.info.tokenizer.encoding.count(&declared)
        });
        let schema = self.schema.as_ref().map_or(0, |(_, schema)| {
            self.info
                .tokenizer
                .encoding
                .count(&crate::guard::output::instruction(schema.source()))
        });
        (tools + schema) as u64
    }

    /// The compaction threshold as a fraction: `--compact-at` or the
    /// conversation's own, else the model's, else `[compaction]`'s.
    pub fn compact_fraction(&self) -> f32 {
        self.compact_at
            .or_else(|| {
                self.config
                    .models
                    .get(&self.resolved.model)
                    .and_then(|m| m.compact_at)
            })
            .unwrap_or(self.config.compaction.threshold)
    }

    /// The prompt size past which the conversation is compacted.
    pub fn compact_threshold(&self) -> u64 {
        compaction::threshold_tokens(
            self.info.context_window,
            self.output_cap(),
            self.compact_fraction(),
        )
    }

    /// How the next request's context is spent, for `/tokens`.
    pub fn context_breakdown(&self) -> ContextBreakdown {
        let system = self
            .system
            .as_deref()
            .map_or(0, |s| self.count_request(Some(s), &[]));
        let total = self.prompt_tokens(None);
        let summary = self.summary.as_ref().map_or(0, |s| {
            self.count_request(None, &[Message::new(Role::User, s.text.clone())])
        });
        ContextBreakdown {
            system_tokens: system,
            summary_tokens: summary,
            summarised_messages: self.summary.as_ref().map_or(0, |s| s.covers),
            verbatim_messages: self.verbatim().len(),
            verbatim_tokens: total.saturating_sub(system + summary + self.request_overhead()),
            tools_tokens: self.request_overhead(),
            prompt_tokens: total,
            output_cap: self.output_cap(),
            compact_threshold: self.compact_threshold(),
            context_window: self.info.context_window,
            exact: self.info.tokenizer.exact,
        }
    }

    /// Makes room for `sent` before it goes out: compacts when the prompt
    /// would pass the threshold, and when compaction fails or is not
    /// enough, leaves the oldest verbatim messages out of this request (they
    /// stay in the file). Returns how many were left out; fails with exit 3
    /// only when the new message does not fit even alone.
    pub(super) fn make_room(&mut self, sent: &str, cap: u64) -> anyhow::Result<usize> {
        let threshold = self.compact_threshold();
        let window = self.info.context_window;
        let mut target = window.saturating_sub(cap);
        if self.context_tokens(Some(sent), 0) > threshold {
            match self.compact_now() {
                Ok(covered) if covered > 0 => self.info(&format!(
                    "compacted the conversation: the summary now stands for its first {} messages (`confab history show {}` has them all)",
                    self.summary.as_ref().map_or(0, |s| s.covers),
                    self.conversation_id().unwrap_or("")
                )),
                Ok(_) => {}
                Err(_) if self.cancel.requested() => {
                    return Err(Failure::new(
                        ExitKind::Interrupted,
                        "interrupted while summarising the older messages; nothing was sent",
                    )
                    .into());
                }
                Err(err) => {
                    self.warn(&format!("could not summarise the older messages ({err:#})"));
                    target = threshold;
                }
            }
        }
        let verbatim = self.verbatim().len();
        let mut skip = 0;
        while skip < verbatim && self.context_tokens(Some(sent), skip) > target {
            skip += 1;
        }
        // What is sent must start with the user (strict role alternation).
        // (A tool result is not the user's: it must follow its call.)
        while skip > 0 && skip < verbatim && !compaction::starts_a_turn(&self.verbatim()[skip]) {
            skip += 1;
        }
        let prompt_tokens = self.context_tokens(Some(sent), skip);
        if prompt_tokens + cap > window {
            return Err(Failure::new(
                ExitKind::BudgetExceeded,
                format!(
                    "the prompt is {prompt_tokens} tokens and the output cap {cap}: together over {}'s \
                     context window of {window} tokens",
                    self.resolved.model
                ),
            )
            .hint("shorten the input, lower --max-tokens, or start a new conversation")
            .into());
        }
        if skip > 0 {
            self.warn(&format!(
                "sending without the oldest {skip} messages to stay within the context window; \
                 they stay in the conversation file"
            ));
        }
        Ok(skip)
    }
}
