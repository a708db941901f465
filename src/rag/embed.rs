//! Embedders: the built-in static model (offline, the default) and any
//! OpenAI-compatible `/v1/embeddings` endpoint through the provider layer
//! (batched, retried, rate limited, each call in the usage log). An index
//! records which embedder built it, by [`Embedder::id`].

use crate::embed::static_embedder::StaticEmbedder;
use crate::llm::client::{Client, EmbedOutcome};
use crate::usage::recorder::CallRecorder;
use crate::usage::{self, UsageLog};

/// Embedding batches sent at once to an API (each still paced by the
/// provider's rate limits).
const BATCHES_IN_FLIGHT: usize = 4;

/// Errors of embedding.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The embeddings API failed.
    #[error("the embeddings call failed: {0}")]
    Api(String),
}

/// Something that turns texts into unit vectors.
pub trait Embedder {
    /// A stable id: two indexes built with the same id have comparable vectors.
    fn id(&self) -> String;
    /// Vector dimensions.
    fn dim(&self) -> Option<usize>;
    /// Embeds texts, one unit vector each.
    fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// The built-in static embedder.
pub struct BuiltinEmbedder;

impl Embedder for BuiltinEmbedder {
    fn id(&self) -> String {
        format!("builtin:{}", StaticEmbedder::builtin().name())
    }
    fn dim(&self) -> Option<usize> {
        Some(StaticEmbedder::builtin().dim())
    }
    fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        use rayon::prelude::*;
        let model = StaticEmbedder::builtin();
        Ok(texts.par_iter().map(|t| model.embed(t)).collect())
    }
}

/// An OpenAI-compatible embeddings endpoint.
pub struct ApiEmbedder {
    /// The client of the configured provider.
    pub client: Client,
    /// The provider's name, for ids and the usage log.
    pub provider: String,
    /// The embedding model.
    pub model: String,
    /// Inputs per request.
    pub batch: usize,
    /// Where calls are recorded.
    pub recorder: CallRecorder,
    /// The command recorded (`rag index`, `rag query`).
    pub command: String,
    dim: Option<usize>,
    /// Where each batch's span goes.
    telemetry: crate::telemetry::Telemetry,
}

impl ApiEmbedder {
    /// An embedder for `model` on a provider.
    pub fn new(
        client: Client,
        provider: &str,
        model: &str,
        usage_log: UsageLog,
        command: &str,
    ) -> ApiEmbedder {
        let recorder = CallRecorder::new(usage_log, provider, &client.host());
        ApiEmbedder {
            client,
            provider: provider.to_string(),
            model: model.to_string(),
            batch: 128,
            recorder,
            command: command.to_string(),
            dim: None,
            telemetry: crate::telemetry::Telemetry::off(),
        }
    }
}

fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

impl Embedder for ApiEmbedder {
    fn id(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }
    fn dim(&self) -> Option<usize> {
        self.dim
    }
    fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let batches: Vec<Vec<String>> = texts
            .chunks(self.batch.max(1))
            .map(|batch| batch.iter().map(|t| api_input(t)).collect())
            .collect();
        let ts = usage::now_rfc3339();
        let outcomes = self
            .client
            .embed_batches(&self.model, &batches, BATCHES_IN_FLIGHT);
        let mut vectors = Vec::with_capacity(texts.len());
        let mut failure = None;
        for (inputs, outcome) in batches.iter().zip(outcomes) {
            self.record(inputs, &outcome, &ts);
            match outcome.result {
                Ok(response) => {
                    for v in response.vectors {
                        self.dim.get_or_insert(v.len());
                        vectors.push(normalize(v));
                    }
                }
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
        }
        match failure {
            Some(err) => Err(EmbedError::Api(err.message())),
            None => Ok(vectors),
        }
    }
}

/// An input as the API takes it: it refuses empty strings.
fn api_input(text: &str) -> String {
    if text.trim().is_empty() {
        " ".to_string()
    } else {
        text.to_string()
    }
}

impl ApiEmbedder {
    /// Writes the usage record of one batch's call.
    fn record(&self, inputs: &[String], outcome: &EmbedOutcome, ts: &str) {
        let record = self
            .recorder
            .embed_record(ts, &self.command, &self.model, inputs, outcome);
        if let Err(err) = self.recorder.write(&record) {
            eprintln!("warning: the usage record was not written: {err}");
        }
        self.telemetry.model_call(
            crate::telemetry::Operation::Embeddings,
            &record,
            &crate::telemetry::RequestFacts::default(),
            &outcome.retry_notes,
            None,
        );
    }

    /// Sends a span for each batch's call to `telemetry`.
    pub fn with_telemetry(mut self, telemetry: crate::telemetry::Telemetry) -> ApiEmbedder {
        self.telemetry = telemetry;
        self
    }
}
