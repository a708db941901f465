//! The steps of one turn: screen the input, retrieve, make room, record
//! the user message, build the request, serve it from the cache or
//! exchange it with the model, validate, cache and report.

use std::sync::Arc;

use crate::cache::{CacheHit, CacheKey, CachedReply, HitKind};
use crate::conversation::{ConversationHandle, ConversationRecord, Role, RECORD_VERSION};
use crate::exit::{ExitKind, Failure};
use crate::llm::client::{CallEnd, CallOutcome};
use crate::llm::{ChatRequest, FinishReason, Message};
use crate::tools::broker::ToolBroker;
use crate::usage::{self, CallOutcome as UsageOutcome, UsageSource};

use super::exchange::Exchange;
use super::screen::ScreenedInput;
use super::{Engine, TurnReport};

impl Engine {
    /// One turn: check the budget, record the user message, call the model,
    /// record the reply and the usage.
    /// (Ctrl-C, SIGTERM and SIGHUP stop the call and leave the
    /// bookkeeping to finish.)
    pub fn turn(&mut self, message: &str) -> anyhow::Result<TurnReport> {
        let _busy = self.cancel.busy();
        let _turn = self.take_turn()?;
        let report = self.run_turn(message);
        self.attachments.clear();
        self.note_file_length();
        report
    }

    /// The steps of a turn, in order.
    pub(super) fn run_turn(&mut self, message: &str) -> anyhow::Result<TurnReport> {
        let input = self.screen_input(message)?;
        let cap = self.output_cap();
        let skip = self.make_room(&input.sent, cap)?;
        if let Some(broker) = &mut self.tools {
            broker.start_turn();
            broker.start_for_chat().map_err(|err| {
                Failure::new(ExitKind::Other, err.to_string()).hint(
                    "check its [mcp_servers.NAME] table; `confab tools list` starts every server and shows what went wrong",
                )
            })?;
        }
        // Built before the message joins the history, which the request
        // carries as sent (fenced, with retrieved chunks).
        let mut request = self.build_request(&input.sent, skip, cap);
        let id = self.record_user(&input)?;
        let cache_key = self.cache_key(&request);
        if let Some(key) = &cache_key {
            if let Some(report) = self.serve_from_cache(key, &id)? {
                return Ok(report);
            }
        }
        // With --schema the reply is shown only once it validates.
        let echo = self.schema.is_none();
        let exchange = self.exchange(&mut request, &id, &input.message, echo)?;
        let (exchange, validated) = self.validate(exchange, &mut request, &id)?;
        if let Some(value) = &validated {
            self.sink.reply_json(&serde_json::to_string_pretty(value)?);
        }
        if let Some(key) = &cache_key {
            self.store_in_cache(key, &exchange, self.schema.is_none() || validated.is_some());
        }
        Ok(self.report(id, exchange, validated))
    }

    /// Appends the user's message to the conversation (starting it if
    /// new) and the history; returns the conversation id.
    fn record_user(&mut self, input: &ScreenedInput) -> anyhow::Result<String> {
        let message = input.message.as_str();
        let preset = self.plan.preset.clone();
        let store = crate::attach::AttachmentStore::in_data_dir(&self.paths.data_dir);
        for (attachment, bytes) in &self.attachments {
            store.keep(attachment, bytes)?;
        }
        let attachments: Vec<crate::llm::Attachment> =
            self.attachments.iter().map(|(a, _)| a.clone()).collect();
        let conversation = self.ensure_conversation(message)?;
        conversation.append(&ConversationRecord::Message {
            v: RECORD_VERSION,
            ts: usage::now_rfc3339(),
            role: Role::User,
            content: message.to_string(),
            model: None,
            call_id: None,
            interrupted: false,
            fenced: input.fenced,
            preset,
            attachments: attachments.clone(),
        })?;
        // Later turns resend a flagged message fenced, as this one is.
        let kept = if input.fenced {
            crate::guard::fence(message, "user input")
        } else {
            message.to_string()
        };
        self.history.push(Message {
            attachments,
            ..Message::new(Role::User, kept)
        });
        Ok(conversation.id().to_string())
    }

    /// The request for `sent`, without the oldest `skip` verbatim
    /// messages, capped at `cap` output tokens, with the tools and the
    /// `--schema` format (or its instruction, where the API has none).
    fn build_request(&self, sent: &str, skip: usize, cap: u64) -> ChatRequest {
        let mut request = ChatRequest {
            model: self.resolved.model.clone(),
            system: self.system.clone(),
            messages: self.request_messages(Some(sent), skip),
            max_output_tokens: u32::try_from(cap).unwrap_or(u32::MAX),
            temperature: self.options.temperature,
            stream: !self.options.no_stream,
            cache_prompt: self.prompt_cache(),
            reasoning_effort: self.options.reasoning_effort,
            thinking_budget: self.options.thinking_budget,
            tools: self
                .tools
                .as_ref()
                .map(ToolBroker::declarations)
                .unwrap_or_default(),
            ..ChatRequest::default()
        };
        if let Some((name, schema)) = &self.schema {
            if self.client.wire().takes_response_format() {
                request.response_format = Some(crate::llm::JsonSchemaFormat {
                    name: name.clone(),
                    schema: schema.source().clone(),
                });
            } else {
                let instruction = crate::guard::output::instruction(schema.source());
                request.system = Some(match &request.system {
                    Some(system) => format!("{system}\n\n{instruction}"),
                    None => instruction,
                });
            }
        }
        request
    }

    /// With `--schema`: the reply parsed and validated; an invalid one is
    /// asked for once more with the errors, then refused (exit 5).
    fn validate(
        &mut self,
        exchange: Exchange,
        request: &mut ChatRequest,
        id: &str,
    ) -> anyhow::Result<(Exchange, Option<serde_json::Value>)> {
        let Some(schema) = self.schema.as_ref().map(|(_, s)| Arc::clone(s)) else {
            return Ok((exchange, None));
        };
        if !matches!(exchange.outcome.end, CallEnd::Complete) {
            return Ok((exchange, None));
        }
        let errors = match crate::guard::output::check_reply(&exchange.outcome.text, &schema) {
            Ok(value) => return Ok((exchange, Some(value))),
            Err(errors) => errors,
        };
        self.info(&format!(
            "the reply does not fit the schema ({}); asking once more",
            errors.join("; ")
        ));
        let correction = crate::guard::output::correction(&errors);
        request
            .messages
            .push(Message::new(Role::Assistant, exchange.last_text.clone()));
        request
            .messages
            .push(Message::new(Role::User, correction.clone()));
        self.append_user(&correction)?;
        self.history
            .push(Message::new(Role::User, correction.clone()));
        let second = self.exchange(request, id, &correction, false)?;
        let exchange = exchange.then(second);
        if !matches!(exchange.outcome.end, CallEnd::Complete) {
            return Ok((exchange, None));
        }
        match crate::guard::output::check_reply(&exchange.outcome.text, &schema) {
            Ok(value) => Ok((exchange, Some(value))),
            Err(errors) => Err(Failure::new(
                ExitKind::InputRejected,
                format!(
                    "the reply does not fit the schema after a retry: {}",
                    errors.join("; ")
                ),
            )
            .hint(format!(
                "the replies are kept in conversation {id}; simplify the schema or try another model"
            ))
            .into()),
        }
    }

    /// Stores a complete reply (one that fits `--schema` and was not cut
    /// off) in the response cache under `key`.
    fn store_in_cache(&mut self, key: &CacheKey, exchange: &Exchange, fits_schema: bool) {
        let Some(cache) = &self.cache else { return };
        let cut_off = exchange
            .outcome
            .finish_reason
            .as_ref()
            .is_some_and(FinishReason::is_cut_off);
        if !matches!(exchange.outcome.end, CallEnd::Complete) || !fits_schema || cut_off {
            return;
        }
        let reply = CachedReply {
            text: exchange.outcome.text.clone(),
            model_reported: exchange.outcome.model_reported.clone(),
            finish_reason: exchange
                .outcome
                .finish_reason
                .as_ref()
                .map(|r| r.as_str().to_string()),
            usage: exchange.usage,
        };
        if let Err(err) = cache.store(key, &reply) {
            self.warn(&format!("the reply was not cached: {err}"));
        }
    }

    /// The report of a turn that called the model.
    fn report(
        &self,
        id: String,
        exchange: Exchange,
        validated: Option<serde_json::Value>,
    ) -> TurnReport {
        let outcome = exchange.outcome;
        let interrupted = matches!(outcome.end, CallEnd::Cancelled | CallEnd::Broken(_));
        TurnReport {
            conversation_id: id,
            provider: self.resolved.provider_name.clone(),
            model_requested: self.resolved.model.clone(),
            model_reported: outcome.model_reported,
            text: outcome.text,
            from_cache: None,
            json: validated,
            finish_reason: outcome.finish_reason.map(|r| r.as_str().to_string()),
            interrupted,
            input_tokens: exchange.usage.input_tokens,
            cached_input_tokens: exchange.usage.cached_input_tokens,
            cache_write_tokens: exchange.usage.cache_write_tokens,
            output_tokens: exchange.usage.output_tokens,
            reasoning_tokens: exchange.usage.reasoning_tokens,
            usage_source: exchange.usage_source,
            latency_ms: exchange.latency_ms,
            ttft_ms: exchange.ttft_ms,
            retries: exchange.retries,
            stopped_by: matches!(outcome.end, CallEnd::Cancelled)
                .then(|| self.cancel.signal())
                .flatten(),
            end: Some(outcome.end),
        }
    }

    /// The cache key of `request`, when the cache is on and the request
    /// may be cached: temperature 0 (or `--cacheable`), and no tools, whose
    /// results can change between calls.
    pub(super) fn cache_key(&mut self, request: &ChatRequest) -> Option<CacheKey> {
        self.cache.as_ref()?;
        if self.tools.is_some() {
            self.note("not cached: tools are configured, and their results can change");
            return None;
        }
        if !crate::cache::cacheable(request.temperature, self.plan.cacheable) {
            self.note("not cached: only temperature-0 requests are (pass --temperature 0, or --cacheable)");
            return None;
        }
        let format = self
            .schema
            .as_ref()
            .map(|(_, schema)| schema.source().to_string());
        CacheKey::for_request(&self.resolved.provider_name, request, format.as_deref())
    }

    /// Serves the turn from the cache on a hit: prints and stores the
    /// reply and records a `cache_hit` usage record with the tokens it
    /// saved. `None` on a miss (or a cached reply that no longer fits
    /// `--schema`).
    pub(super) fn serve_from_cache(
        &mut self,
        key: &CacheKey,
        id: &str,
    ) -> anyhow::Result<Option<TurnReport>> {
        let Some(cache) = &self.cache else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        let started_at = usage::now_rfc3339();
        let hit: CacheHit = match cache.lookup(key) {
            Ok(Some(hit)) => hit,
            Ok(None) => return Ok(None),
            Err(err) => {
                self.warn(&format!(
                    "the response cache could not be read ({err}); asking the model"
                ));
                return Ok(None);
            }
        };
        let validated = match &self.schema {
            Some((_, schema)) => match crate::guard::output::check_reply(&hit.reply.text, schema) {
                Ok(value) => Some(value),
                Err(_) => return Ok(None),
            },
            None => None,
        };
        let cached: String = hit.cached_prompt.chars().take(80).collect();
        let how = match hit.kind {
            HitKind::Exact => "the same question".to_string(),
            HitKind::SameQuestion => format!("the same question in other words: \"{cached}\""),
            HitKind::Similar(similarity) => {
                format!("a similar question (cosine {similarity:.3}): \"{cached}\"")
            }
        };
        self.info(&format!(
            "served from the response cache, stored {} for {how}; no API call was made",
            hit.stored_at
        ));
        match &validated {
            Some(value) => self.sink.reply_json(&serde_json::to_string_pretty(value)?),
            None => self.sink.reply(hit.reply.text.trim_end_matches('\n')),
        }
        let call_id = usage::new_call_id();
        let model = hit.reply.model_reported.clone();
        self.record_reply(&hit.reply.text, model, call_id.clone(), false)?;
        // The record of the call the hit stands in for, with its tokens as
        // what was saved.
        let served = CallOutcome {
            text: hit.reply.text.clone(),
            finish_reason: hit
                .reply
                .finish_reason
                .as_deref()
                .map(FinishReason::from_wire),
            model_reported: hit.reply.model_reported.clone(),
            usage: Some(hit.reply.usage),
            ..CallOutcome::empty(CallEnd::Complete, started.elapsed())
        };
        let mut record = self.usage_record(
            &served,
            (self.plan.command, id, &call_id),
            &started_at,
            0,
            "",
        );
        record.outcome = UsageOutcome::CacheHit;
        record.cache_match = Some(hit.kind.label());
        let latency_ms = record.latency_ms;
        if let Err(err) = self.recorder.write(&record) {
            self.warn(&format!("the usage record was not written: {err}"));
        }
        self.telemetry.model_call(
            crate::telemetry::Operation::Chat,
            &record,
            &crate::telemetry::RequestFacts::default(),
            &[],
            None,
        );
        Ok(Some(TurnReport {
            conversation_id: id.to_string(),
            provider: self.resolved.provider_name.clone(),
            model_requested: self.resolved.model.clone(),
            model_reported: hit.reply.model_reported.clone(),
            text: hit.reply.text.clone(),
            from_cache: record.cache_match.clone(),
            json: validated,
            finish_reason: hit
                .reply
                .finish_reason
                .as_deref()
                .map(|r| FinishReason::from_wire(r).as_str().to_string()),
            interrupted: false,
            input_tokens: 0,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            output_tokens: 0,
            reasoning_tokens: 0,
            usage_source: UsageSource::Api,
            latency_ms,
            ttft_ms: None,
            retries: 0,
            end: Some(CallEnd::Complete),
            stopped_by: None,
        }))
    }

    /// Appends a user message to the conversation file.
    pub(super) fn append_user(&self, content: &str) -> anyhow::Result<()> {
        self.append(&ConversationRecord::Message {
            v: RECORD_VERSION,
            ts: usage::now_rfc3339(),
            role: Role::User,
            content: content.to_string(),
            model: None,
            call_id: None,
            interrupted: false,
            fenced: false,
            preset: self.plan.preset.clone(),
            attachments: Vec::new(),
        })?;
        Ok(())
    }

    /// The conversation this turn goes into: the one open, or a new one
    /// whose header is written now.
    pub(super) fn ensure_conversation(
        &mut self,
        first_message: &str,
    ) -> anyhow::Result<ConversationHandle> {
        if let Some(handle) = &self.conversation {
            return Ok(handle.clone());
        }
        let title: String = first_message
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(60)
            .collect();
        let model = format!("{}:{}", self.resolved.provider_name, self.resolved.model);
        let handle = self.store.create(|id| ConversationRecord::Header {
            v: RECORD_VERSION,
            id: id.to_string(),
            created: usage::now_rfc3339(),
            title: title.clone(),
            model: model.clone(),
            system: self.system.clone(),
            replay_of: self.plan.replay_of.clone(),
            compact_at: self.compact_at,
        })?;
        self.conversation = Some(handle.clone());
        Ok(handle)
    }
}
