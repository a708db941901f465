//! The local model as a provider: a ChatML prompt from the request, the
//! reply generated in process and streamed to the call's observer, and a
//! [`CallOutcome`] like an HTTP call's, its usage counted by the model's
//! own tokenizer.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::runtime::{GenerateOptions, LocalModel};
use super::{chatml, install, LocalError};
use crate::llm::client::{CallEnd, CallFailure, CallObserver, CallOutcome, InProcessModel};
use crate::llm::{ApiError, ChatRequest, Usage};

/// A loaded local model answering chat requests.
pub struct LocalChat {
    model: LocalModel,
    name: &'static str,
}

impl LocalChat {
    /// Loads the installed model `name` from the cache dir.
    pub fn open(cache_dir: &Path, name: &str) -> Result<LocalChat, LocalError> {
        let installed = install::find(cache_dir, Some(name))?;
        Ok(LocalChat {
            model: LocalModel::load(&installed)?,
            name: installed.model.name,
        })
    }
}

impl InProcessModel for LocalChat {
    fn chat(
        &mut self,
        request: &ChatRequest,
        cancel: &AtomicBool,
        observer: &mut dyn CallObserver,
    ) -> CallOutcome {
        let started = Instant::now();
        let mut outcome = CallOutcome {
            model_reported: Some(self.name.to_string()),
            ..CallOutcome::empty(CallEnd::Complete, started.elapsed())
        };
        let prompt = match self.model.encode(&chatml::render(request)) {
            Ok(prompt) => prompt,
            Err(err) => return failed(outcome, err, started),
        };
        let options = GenerateOptions {
            max_tokens: request.max_output_tokens,
            temperature: request.temperature,
            seed: fastrand::u64(..),
        };
        let generated = self
            .model
            .generate(&prompt, options, cancel, &mut |text| observer.text(text));
        let generation = match generated {
            Ok(generation) => generation,
            Err(err) => return failed(outcome, err, started),
        };
        outcome.usage = Some(Usage {
            input_tokens: generation.prompt_tokens,
            output_tokens: generation.output_tokens,
            ..Usage::default()
        });
        outcome.end = match generation.finish {
            Some(_) => CallEnd::Complete,
            None => CallEnd::Cancelled,
        };
        outcome.finish_reason = generation.finish;
        outcome.text = generation.text;
        outcome.ttft = generation.ttft;
        outcome.latency = started.elapsed();
        outcome
    }
}

fn failed(mut outcome: CallOutcome, err: LocalError, started: Instant) -> CallOutcome {
    outcome.end = CallEnd::Failed(CallFailure::Api(ApiError {
        status: None,
        kind: Some("local_model".into()),
        code: None,
        message: err.to_string(),
    }));
    outcome.latency = started.elapsed();
    outcome
}
