//! OpenTelemetry export of confab's calls: a root span per command, a
//! CLIENT span per model call (`chat gpt-4o-mini`), `execute_tool`,
//! `retrieval` and compaction spans, and the GenAI client metrics, sent
//! over OTLP/HTTP when an endpoint is configured (see [`plan`]).
//!
//! Spans are built from the same typed records the usage log gets, with
//! the call's own start and end times, so `confab usage export --otlp`
//! sends past calls the same way. Exporting never changes what a command
//! does: failures are noted, and said once, in one line, at exit.

pub mod attributes;
mod export;
pub mod plan;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

use crate::llm::client::RetryNote;
use crate::usage::prices::PriceTable;
use crate::usage::report::Pricing;
use crate::usage::UsageRecord;

pub use attributes::{CallContent, Operation, RequestFacts};
pub use plan::{TelemetryConfig, TelemetryPlan};

/// The bucket boundaries the GenAI conventions give for token counts.
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// The bucket boundaries the GenAI conventions give for durations, in seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// A tool call, as its span shows it.
#[derive(Clone, Debug)]
pub struct ToolSpan<'a> {
    /// The tool's name.
    pub name: &'a str,
    /// The model's id of the call.
    pub call_id: Option<&'a str>,
    /// What the broker decided (`ran`, `refused`, `denied`...).
    pub decision: &'a str,
    /// When it started.
    pub started: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Why it failed, if it did.
    pub error: Option<&'a str>,
    /// The conversation.
    pub conversation_id: Option<&'a str>,
}

/// A retrieval from a RAG index, as its span shows it.
#[derive(Clone, Debug)]
pub struct RetrievalSpan<'a> {
    /// The index's name or path.
    pub index: &'a str,
    /// How many chunks were asked for and found.
    pub requested: usize,
    /// How many chunks came back.
    pub returned: usize,
    /// When it started.
    pub started: SystemTime,
    /// How long it took.
    pub duration: Duration,
}

/// The GenAI client histograms.
struct Instruments {
    tokens: Histogram<u64>,
    duration: Histogram<f64>,
    first_chunk: Histogram<f64>,
}

impl Instruments {
    /// The histograms, with the spec's names, units and buckets.
    fn new(meter: &opentelemetry::metrics::Meter) -> Instruments {
        Instruments {
            tokens: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
            duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            first_chunk: meter
                .f64_histogram("gen_ai.client.operation.time_to_first_chunk")
                .with_unit("s")
                .with_description("Time to receive the first chunk of a streamed reply")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
        }
    }
}

/// The command's root span (`confab chat`), in a context its children use.
fn root_span(tracer: &SdkTracer, command: &str, user_id: Option<&str>) -> Context {
    let mut attributes = vec![
        KeyValue::new("confab.command", command.to_string()),
        KeyValue::new("openinference.span.kind", "CHAIN"),
    ];
    attributes.extend(attributes::session_attributes(None, user_id));
    let span = tracer
        .span_builder(format!("confab {command}"))
        .with_kind(SpanKind::Internal)
        .with_attributes(attributes)
        .start(tracer);
    Context::new().with_span(span)
}

/// An export in progress; finished when the last handle is dropped.
struct Active {
    plan: TelemetryPlan,
    pipeline: export::Pipeline,
    tracer: Option<SdkTracer>,
    root: Context,
    instruments: Option<Instruments>,
    prices: PriceTable,
    free_providers: HashSet<String>,
    /// Set once the export at exit has run.
    finished: std::sync::atomic::AtomicBool,
}

/// The telemetry of one process: cheap to clone, and a no-op when off.
#[derive(Clone, Default)]
pub struct Telemetry {
    active: Option<Arc<Active>>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("on", &self.active.is_some())
            .finish()
    }
}

/// What [`Telemetry::start`] needs to know of the process.
pub struct StartOptions<'a> {
    /// The command, for the root span's name (`chat`, `rag query`...).
    pub command: &'a str,
    /// Prices, for `gen_ai.usage.cost`.
    pub prices: PriceTable,
    /// Providers priced at zero.
    pub free_providers: HashSet<String>,
}

impl Telemetry {
    /// No export.
    pub fn off() -> Telemetry {
        Telemetry::default()
    }

    /// Starts exporting as `plan` says, with the command's root span. A
    /// pipeline that cannot be built is a warning, and export is off.
    pub fn start(plan: Option<TelemetryPlan>, options: StartOptions<'_>) -> Telemetry {
        let Some(plan) = plan else {
            return Telemetry::off();
        };
        let pipeline = match export::Pipeline::build(&plan) {
            Ok(pipeline) => pipeline,
            Err(err) => {
                eprintln!("confab: warning: telemetry is off: {err}");
                return Telemetry::off();
            }
        };
        let tracer = pipeline
            .tracer_provider
            .as_ref()
            .map(|provider| provider.tracer("confab"));
        let instruments = pipeline
            .meter_provider
            .as_ref()
            .map(|provider| Instruments::new(&provider.meter("confab")));
        let root = match &tracer {
            Some(tracer) => root_span(tracer, options.command, plan.user_id.as_deref()),
            None => Context::new(),
        };
        Telemetry {
            active: Some(Arc::new(Active {
                plan,
                pipeline,
                tracer,
                root,
                instruments,
                prices: options.prices,
                free_providers: options.free_providers,
                finished: std::sync::atomic::AtomicBool::new(false),
            })),
        }
    }

    /// Sends the spans queued so far (a long export sends as it goes, so
    /// that the queue never drops any) and returns the first export
    /// failure so far, if any.
    pub fn send_queued(&self) -> Option<String> {
        let active = self.active.as_ref()?;
        if let Some(provider) = &active.pipeline.tracer_provider {
            let _ = provider.force_flush();
        }
        active.pipeline.failures.first()
    }

    /// Ends the root span and exports everything now, within the flush
    /// timeout; returns the first failure instead of printing it.
    pub fn finish(&self) -> Option<String> {
        self.active.as_ref().and_then(|active| active.finish_once())
    }

    /// Where spans go, for messages (credentials removed).
    pub fn traces_url(&self) -> Option<String> {
        self.active
            .as_ref()
            .and_then(|a| a.plan.traces_url.as_deref())
            .map(crate::safe_text::redact_url)
    }

    /// Whether prompts and replies may go on spans (the caller then passes
    /// [`CallContent`]).
    pub fn captures_content(&self) -> bool {
        self.active.as_ref().is_some_and(|a| a.plan.capture_content)
    }

    /// A model call of this command: a CLIENT span under the root (under a
    /// `compaction` span for a summary), retries as events, and metrics.
    pub fn model_call(
        &self,
        operation: Operation,
        record: &UsageRecord,
        request: &RequestFacts,
        retries: &[RetryNote],
        content: Option<CallContent<'_>>,
    ) {
        let Some(active) = &self.active else { return };
        active.record_metrics(operation, record);
        let Some(tracer) = &active.tracer else { return };
        let (start, end) = record_times(record);
        let mut parent = active.root.clone();
        if let Some(conversation) = &record.conversation_id {
            active
                .root
                .span()
                .set_attribute(KeyValue::new("session.id", conversation.clone()));
        }
        let in_compaction = record.command == "compaction";
        if in_compaction {
            let span = tracer
                .span_builder("compaction")
                .with_kind(SpanKind::Internal)
                .with_start_time(start)
                .with_attributes(attributes::session_attributes(
                    record.conversation_id.as_deref(),
                    active.plan.user_id.as_deref(),
                ))
                .start_with_context(tracer, &parent);
            parent = parent.with_span(span);
        }
        active.call_span(
            tracer, &parent, operation, record, request, retries, content,
        );
        if in_compaction {
            parent.span().end_with_timestamp(end);
        }
    }

    /// A past call read from a usage log, as a span of its own trace with
    /// its original times (`confab usage export --otlp`).
    pub fn past_call(&self, record: &UsageRecord) {
        let Some(active) = &self.active else { return };
        let Some(tracer) = &active.tracer else { return };
        // Records from before the field: `rag index` only ever embedded.
        let embeddings = record.operation.as_deref() == Some("embeddings")
            || (record.operation.is_none() && record.command == "rag index");
        let operation = if embeddings {
            Operation::Embeddings
        } else {
            Operation::Chat
        };
        active.call_span(
            tracer,
            &Context::new(),
            operation,
            record,
            &RequestFacts::default(),
            &[],
            None,
        );
    }

    /// A tool call: an `execute_tool {name}` span under the root.
    pub fn tool_call(&self, tool: &ToolSpan<'_>) {
        let Some(active) = &self.active else { return };
        let Some(tracer) = &active.tracer else { return };
        let mut attributes = vec![
            KeyValue::new("gen_ai.operation.name", "execute_tool"),
            KeyValue::new("gen_ai.tool.name", tool.name.to_string()),
            KeyValue::new("gen_ai.tool.type", "function"),
            KeyValue::new("confab.tool.decision", tool.decision.to_string()),
            KeyValue::new("openinference.span.kind", "TOOL"),
            KeyValue::new("tool.name", tool.name.to_string()),
        ];
        if let Some(id) = tool.call_id {
            attributes.push(KeyValue::new("gen_ai.tool.call.id", id.to_string()));
        }
        if let Some(conversation) = tool.conversation_id {
            attributes.push(KeyValue::new(
                "gen_ai.conversation.id",
                conversation.to_string(),
            ));
        }
        attributes.extend(attributes::session_attributes(
            tool.conversation_id,
            active.plan.user_id.as_deref(),
        ));
        if tool.error.is_some() {
            attributes.push(KeyValue::new("error.type", "tool_error"));
        }
        let mut span = tracer
            .span_builder(format!("execute_tool {}", tool.name))
            .with_kind(SpanKind::Internal)
            .with_start_time(tool.started)
            .with_attributes(attributes)
            .start_with_context(tracer, &active.root);
        if let Some(error) = tool.error {
            span.set_status(Status::error(error.to_string()));
        }
        span.end_with_timestamp(tool.started + tool.duration);
    }

    /// A retrieval: a `retrieval {index}` span under the root.
    pub fn retrieval(&self, retrieval: &RetrievalSpan<'_>) {
        let Some(active) = &self.active else { return };
        let Some(tracer) = &active.tracer else { return };
        let mut attributes = vec![
            KeyValue::new("gen_ai.operation.name", "retrieval"),
            KeyValue::new("gen_ai.data_source.id", retrieval.index.to_string()),
            KeyValue::new("gen_ai.request.top_k", retrieval.requested as i64),
            KeyValue::new("confab.retrieval.returned", retrieval.returned as i64),
            KeyValue::new("openinference.span.kind", "RETRIEVER"),
        ];
        attributes.extend(attributes::session_attributes(
            None,
            active.plan.user_id.as_deref(),
        ));
        let mut span = tracer
            .span_builder(format!("retrieval {}", retrieval.index))
            .with_kind(SpanKind::Internal)
            .with_start_time(retrieval.started)
            .with_attributes(attributes)
            .start_with_context(tracer, &active.root);
        span.end_with_timestamp(retrieval.started + retrieval.duration);
    }
}

impl Active {
    /// The CLIENT span of one model call under `parent`.
    #[allow(clippy::too_many_arguments)]
    fn call_span(
        &self,
        tracer: &SdkTracer,
        parent: &Context,
        operation: Operation,
        record: &UsageRecord,
        request: &RequestFacts,
        retries: &[RetryNote],
        content: Option<CallContent<'_>>,
    ) {
        let (start, end) = record_times(record);
        let pricing = Pricing {
            table: &self.prices,
            free_providers: self.free_providers.clone(),
        };
        let cost = pricing.cost(&record.view());
        let mut attributes = attributes::call_attributes(
            operation,
            record,
            request,
            cost,
            self.plan.latest_names_only,
        );
        attributes.extend(attributes::session_attributes(
            record.conversation_id.as_deref(),
            self.plan.user_id.as_deref(),
        ));
        if let Some(content) = content.filter(|_| self.plan.capture_content) {
            attributes.extend(attributes::content_attributes(
                &content,
                record.finish_reason.as_deref(),
            ));
        }
        let mut span = tracer
            .span_builder(format!("{} {}", operation.name(), record.model_requested))
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes(attributes)
            .start_with_context(tracer, parent);
        for note in retries {
            span.add_event_with_timestamp(
                "confab.retry",
                note.at,
                vec![
                    KeyValue::new("confab.retry.number", i64::from(note.retry)),
                    KeyValue::new("confab.retry.delay_ms", note.delay.as_millis() as i64),
                    KeyValue::new("confab.retry.reason", note.reason.clone()),
                ],
            );
        }
        if let Some(error) = attributes::error_type(record) {
            span.set_status(Status::error(error));
        }
        span.end_with_timestamp(end);
    }

    /// The two GenAI client histograms (and time to first chunk).
    fn record_metrics(&self, operation: Operation, record: &UsageRecord) {
        let Some(instruments) = &self.instruments else {
            return;
        };
        let mut common = attributes::start_attributes(operation, record);
        common.push(KeyValue::new(
            "gen_ai.response.model",
            record
                .model_reported
                .clone()
                .unwrap_or_else(|| record.model_requested.clone()),
        ));
        let mut timed = common.clone();
        if let Some(error) = attributes::error_type(record) {
            timed.push(KeyValue::new("error.type", error));
        }
        instruments
            .duration
            .record(record.latency_ms as f64 / 1000.0, &timed);
        if let Some(ttft) = record.ttft_ms {
            instruments
                .first_chunk
                .record(ttft as f64 / 1000.0, &common);
        }
        if record.usage_source != crate::usage::UsageSource::Api {
            // The spec: record nothing when the count is not known.
            return;
        }
        let counted = |kind: &'static str, tokens: u64| {
            let mut with_type = common.clone();
            with_type.push(KeyValue::new("gen_ai.token.type", kind));
            instruments.tokens.record(tokens, &with_type);
        };
        counted("input", record.input_tokens);
        if operation == Operation::Chat {
            counted("output", record.output_tokens);
        }
    }
}

impl Active {
    /// Ends the root span and shuts the pipeline down, the first time only.
    fn finish_once(&self) -> Option<String> {
        if self
            .finished
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return None;
        }
        self.root.span().end();
        self.pipeline.shutdown()
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if let Some(failure) = self.finish_once() {
            eprintln!(
                "confab: warning: telemetry was not exported ({failure}); every call is still in \
                 usage.jsonl, and `confab usage export --otlp` can send it later"
            );
        }
    }
}

/// The longest a call can take: the largest `total_timeout_secs`.
const LONGEST_CALL_MS: u64 = 86_400_000;

/// A record's start (its `ts`) and end (start plus latency); now, for a
/// record whose time cannot be read. A log is outside input: a latency
/// past the longest a call can take is cut to that.
fn record_times(record: &UsageRecord) -> (SystemTime, SystemTime) {
    let start = record
        .ts
        .parse::<jiff::Timestamp>()
        .map(SystemTime::from)
        .unwrap_or_else(|_| SystemTime::now());
    let latency = Duration::from_millis(record.latency_ms.min(LONGEST_CALL_MS));
    (start, start.checked_add(latency).unwrap_or(start))
}
