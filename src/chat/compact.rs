//! Rolling summarisation: the oldest messages summarised into a running
//! summary, in as many calls as the window needs, each recorded.

use crate::conversation::compaction::{self, Summary};
use crate::conversation::{ConversationRecord, RECORD_VERSION};
use crate::llm::client::CallEnd;
use crate::llm::{ChatRequest, FinishReason, Message};
use crate::usage;

use super::Engine;

impl Engine {
    /// Summarises the messages before the last `keep_last` into the running
    /// summary, in as many calls as the window needs, writing a compaction
    /// record after each. Returns how many messages were newly covered (0
    /// when there was nothing to compact).
    pub fn compact(&mut self) -> anyhow::Result<usize> {
        let _busy = self.cancel.busy();
        let _turn = self.take_turn()?;
        let covered = self.compact_now();
        self.note_file_length();
        covered
    }

    pub(super) fn compact_now(&mut self) -> anyhow::Result<usize> {
        let Some(conversation) = self.conversation.clone() else {
            return Ok(0);
        };
        let from = self.summary.as_ref().map_or(0, |s| s.covers);
        let keep_last = self.config.compaction.keep_last;
        let Some(end) = compaction::split_point(&self.history, from, keep_last) else {
            return Ok(0);
        };
        // A summary may take at most a quarter of the window.
        let summary_cap = u64::from(self.config.compaction.summary_max_tokens)
            .min(self.info.max_output_tokens)
            .min(self.info.context_window / 4)
            .max(1);
        // What a summary call may send: the window less its output cap, a
        // margin for the instructions, and a tenth for estimation error.
        let budget = (self.info.context_window.saturating_sub(summary_cap + 256)) * 9 / 10;
        let mut start = from;
        while start < end {
            let previous = self.summary.as_ref().map(|s| s.text.clone());
            // Whole units (a tool call with its results), so that no
            // summary ends between a call and its results.
            let mut stop = compaction::unit_end(&self.history, start).min(end);
            let share = budget / (stop - start) as u64;
            let mut batch: Vec<Message> = self.history[start..stop]
                .iter()
                .map(|m| self.clip(m, share))
                .collect();
            while stop < end {
                let next = compaction::unit_end(&self.history, stop).min(end);
                batch.extend_from_slice(&self.history[stop..next]);
                let request = compaction::summary_request(
                    &self.resolved.model,
                    previous.as_deref(),
                    &batch,
                    summary_cap as u32,
                );
                if self.count_request(request.system.as_deref(), &request.messages) > budget {
                    batch.truncate(batch.len() - (next - stop));
                    break;
                }
                stop = next;
            }
            let request = compaction::summary_request(
                &self.resolved.model,
                previous.as_deref(),
                &batch,
                summary_cap as u32,
            );
            let (text, call_id, model) = self.summary_call(&request, conversation.id())?;
            conversation.append(&ConversationRecord::Compaction {
                v: RECORD_VERSION,
                ts: usage::now_rfc3339(),
                covers: stop,
                summary: text.clone(),
                model: Some(model),
                call_id: Some(call_id),
            })?;
            self.summary = Some(Summary { text, covers: stop });
            start = stop;
        }
        Ok(end - from)
    }

    /// A message cut to fit `budget` tokens (a single message bigger than a
    /// summary call can take is summarised from its beginning and end; for
    /// a tool result, its content is cut).
    pub(super) fn clip(&self, message: &Message, budget: u64) -> Message {
        let mut clipped = message.clone();
        match &mut clipped.tool_result {
            Some(result) => result.content = self.clip_text(&result.content, budget),
            None => clipped.content = self.clip_text(&message.content, budget),
        }
        clipped
    }

    /// `text` cut to its beginning and end if it is over half of `budget`
    /// tokens.
    fn clip_text(&self, text: &str, budget: u64) -> String {
        let tokens = self.info.tokenizer.encoding.count(text) as u64;
        if tokens <= budget / 2 {
            return text.to_string();
        }
        let keep_chars = (text.chars().count() as u64 * budget / 2 / tokens) as usize;
        let head: String = text.chars().take(keep_chars / 2).collect();
        let tail: Vec<char> = text.chars().rev().take(keep_chars / 2).collect();
        let tail: String = tail.into_iter().rev().collect();
        format!("{head}\n[... cut by confab to fit the summary call ...]\n{tail}")
    }

    /// Makes one summary call, recorded in the usage log as `compaction`.
    /// Returns the summary, the call id and the model that wrote it.
    pub(super) fn summary_call(
        &mut self,
        request: &ChatRequest,
        conversation_id: &str,
    ) -> anyhow::Result<(String, String, String)> {
        let (outcome, record) = self.call(request, "compaction", conversation_id, "", false);
        let call_id = record.call_id;
        if outcome
            .finish_reason
            .as_ref()
            .is_some_and(FinishReason::is_cut_off)
        {
            self.warn(&format!(
                "the summary reached its cap of {} tokens and was cut; raise [compaction] summary_max_tokens",
                request.max_output_tokens
            ));
        }
        match &outcome.end {
            CallEnd::Complete if !outcome.text.trim().is_empty() => Ok((
                outcome.text.trim().to_string(),
                call_id,
                outcome
                    .model_reported
                    .clone()
                    .unwrap_or_else(|| self.resolved.model.clone()),
            )),
            CallEnd::Complete => anyhow::bail!("the summary call returned no text"),
            CallEnd::Cancelled => anyhow::bail!("the summary call was interrupted"),
            CallEnd::Broken(reason) => anyhow::bail!("the summary call broke off: {reason}"),
            CallEnd::Failed(failure) => {
                anyhow::bail!("the summary call failed: {}", failure.message())
            }
        }
    }
}
