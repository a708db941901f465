//! Batches (`confab batch`): many requests sent at once through a
//! provider's batch API, answered within 24 hours at the batch price.
//!
//! The flow: [`input`] reads and checks the file, [`request`] screens each
//! line and builds the same request chat would send, [`estimate`] prices
//! it (exact token counts, worst-case output), then the provider's
//! [`BatchApi`] ([`openai`]: `/v1/files` + `/v1/batches`; [`anthropic`]:
//! `/v1/messages/batches`) submits it, polls it, cancels it and downloads
//! its results, which [`results`] puts back in input order (validated
//! against `--schema` when one was given) and records in the usage log
//! once, at the batch tier. [`store`] keeps one small JSON file per batch
//! in the data dir: what was sent, in which order, and whether its usage
//! was recorded.

pub mod anthropic;
pub mod estimate;
pub mod input;
pub mod openai;
pub mod request;
pub mod results;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::llm::client::{CallFailure, Client};
use crate::llm::provider::{ProviderConfig, ProviderKind};
use crate::llm::wire::WireFormat;
use crate::llm::{ChatEvent, Usage};

/// The most bytes of one status or create answer read.
pub const STATUS_LIMIT: usize = 4 << 20;

/// The most bytes of results downloaded per request of the batch (on top
/// of a fixed 1 MiB): far above any reply within the output cap.
pub const RESULT_BYTES_PER_REQUEST: usize = 1 << 20;

/// Errors of the batch core.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Bad input or flags (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A guard refused the input (exit 5).
    #[error("{0}")]
    Rejected(String),
    /// The input file is wrong (exit 2).
    #[error(transparent)]
    Input(#[from] input::InputError),
    /// The provider failed or refused (exit 4).
    #[error("{0}")]
    Provider(String),
    /// The local batch record could not be read or written.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl From<CallFailure> for BatchError {
    fn from(failure: CallFailure) -> BatchError {
        BatchError::Provider(failure.message())
    }
}

/// Request counts of a batch as the provider last said them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests in the batch.
    pub total: u64,
    /// Requests still being processed.
    pub processing: u64,
    /// Requests answered.
    pub succeeded: u64,
    /// Requests that failed.
    pub errored: u64,
    /// Requests canceled or expired before they ran.
    pub canceled: u64,
}

/// A batch as the provider describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteBatch {
    /// The provider's id.
    pub id: String,
    /// The provider's word for its state (`in_progress`, `ended`,
    /// `completed`, `cancelling`...).
    pub status: String,
    /// Whether it has ended: its results can be downloaded.
    pub ended: bool,
    /// Its request counts.
    pub counts: Counts,
    /// Where its results are: OpenAI's output and error file ids, or
    /// `results` once Anthropic set `results_url`.
    pub results: Vec<String>,
    /// Why the batch as a whole failed (OpenAI's validation errors).
    pub errors: Vec<String>,
}

/// The result of one request.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemResult {
    /// The model answered.
    Reply(Reply),
    /// The request failed, was canceled or expired.
    Failed {
        /// `invalid_request_error`, `canceled`, `expired`...
        kind: String,
        /// What the provider said.
        message: String,
    },
}

/// A whole reply to one request, read with the chat wire format.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    /// The text.
    pub text: String,
    /// The model the API reported.
    pub model: Option<String>,
    /// The API's id of the reply.
    pub response_id: Option<String>,
    /// Why it stopped.
    pub finish_reason: Option<String>,
    /// The usage the API reported.
    pub usage: Option<Usage>,
}

impl Reply {
    /// The reply `wire` reads in a whole (non-streamed) reply body.
    pub fn parse(wire: &dyn WireFormat, body: &str) -> Result<Reply, String> {
        let events = wire.parse_reply(body).map_err(|err| err.to_string())?;
        let mut reply = Reply::default();
        for event in events {
            match event {
                ChatEvent::Model(model) => reply.model = Some(model),
                ChatEvent::ResponseId(id) => reply.response_id = Some(id),
                ChatEvent::TextDelta(text) => reply.text.push_str(&text),
                ChatEvent::Finish(reason) => reply.finish_reason = Some(reason.as_str().into()),
                ChatEvent::Usage(usage) => reply.usage = Some(usage),
                ChatEvent::ToolCallDelta { .. }
                | ChatEvent::ReasoningDelta(_)
                | ChatEvent::Reasoning(_)
                | ChatEvent::Done => {}
            }
        }
        Ok(reply)
    }
}

/// What submitting gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Submitted {
    /// The batch as the provider described it.
    pub batch: RemoteBatch,
    /// The uploaded input file (OpenAI).
    pub input_file_id: Option<String>,
}

/// One provider's batch API.
pub trait BatchApi: Sync {
    /// Sends `requests` as one batch.
    fn submit(
        &self,
        remote: &Remote<'_>,
        requests: &[request::Prepared],
    ) -> Result<Submitted, BatchError>;
    /// Asks for the batch's state.
    fn status(&self, remote: &Remote<'_>, id: &str) -> Result<RemoteBatch, BatchError>;
    /// Asks for the batch to be canceled; returns its state after.
    fn cancel(&self, remote: &Remote<'_>, id: &str) -> Result<RemoteBatch, BatchError>;
    /// Downloads the results of an ended batch, by `custom_id`, in the
    /// order the provider sent them (at most `limit` bytes).
    fn results(
        &self,
        remote: &Remote<'_>,
        batch: &RemoteBatch,
        limit: usize,
    ) -> Result<Vec<(String, ItemResult)>, BatchError>;
}

/// The batch API of a provider kind.
pub fn api_for(kind: ProviderKind) -> &'static dyn BatchApi {
    match kind {
        // `confab batch` refuses the local model before it gets here.
        ProviderKind::Openai | ProviderKind::OpenaiResponses | ProviderKind::Local => {
            &openai::OpenAiBatches
        }
        ProviderKind::Anthropic => &anthropic::MessageBatches,
    }
}

/// A provider's batch API reached through a client.
pub struct Remote<'a> {
    /// The client (auth, retries, bounds).
    pub client: &'a Client,
    /// The provider, for its endpoints.
    pub provider: &'a ProviderConfig,
}

impl Remote<'_> {
    /// The body of a GET of `path` (relative to the API root).
    fn get(&self, path: &str, limit: usize, download: bool) -> Result<String, BatchError> {
        let url = self.provider.endpoint(path);
        let request = crate::llm::client::ApiRequest {
            url: &url,
            body: None,
            limit,
            download,
        };
        Ok(self.client.api_request(&request)?)
    }

    /// The body of a POST of `body` to `path`.
    fn post(&self, path: &str, body: crate::llm::client::ApiBody) -> Result<String, BatchError> {
        let url = self.provider.endpoint(path);
        let request = crate::llm::client::ApiRequest {
            url: &url,
            body: Some(body),
            limit: STATUS_LIMIT,
            download: false,
        };
        Ok(self.client.api_request(&request)?)
    }

    /// The body of a POST of JSON to `path`.
    fn post_json(&self, path: &str, json: &serde_json::Value) -> Result<String, BatchError> {
        let bytes = serde_json::to_vec(json).map_err(|e| BatchError::Usage(e.to_string()))?;
        self.post(
            path,
            crate::llm::client::ApiBody {
                content_type: "application/json".into(),
                bytes,
            },
        )
    }
}

/// Whether `id` (a batch or file id from the user or a server) is safe
/// to put in a URL path and a file name.
pub fn valid_remote_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A server's JSON answer parsed into `T`, or an error saying what it was.
fn parse_answer<T: serde::de::DeserializeOwned>(what: &str, body: &str) -> Result<T, BatchError> {
    serde_json::from_str(body)
        .map_err(|err| BatchError::Provider(format!("malformed {what} from the server: {err}")))
}

/// The non-blank lines of a results file, each parsed into `T`; a line
/// that does not parse is an error naming it.
fn parse_lines<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, BatchError> {
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    lines
        .map(|(number, line)| {
            serde_json::from_str(line).map_err(|err| {
                BatchError::Provider(format!(
                    "malformed result line {} from the server: {err}",
                    number + 1
                ))
            })
        })
        .collect()
}

/// Checks an id the server sent before it goes into a URL.
fn checked_id(id: String) -> Result<String, BatchError> {
    if valid_remote_id(&id) {
        Ok(id)
    } else {
        Err(BatchError::Provider(format!(
            "the server sent an id confab will not use in a URL: {}",
            crate::safe_text::printable(&id.chars().take(80).collect::<String>())
        )))
    }
}
