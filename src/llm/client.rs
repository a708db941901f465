//! One call to a provider, done the careful way, on tokio and reqwest: the
//! request built by the provider's [`WireFormat`], sent with one retry loop
//! for chat and embeddings (see [`crate::llm::retry`]), paced by the
//! client-side rate limiter, the reply streamed back as it arrives with
//! every read bounded in size and time, and the call's numbers (status,
//! retries, time to first token, latency, usage, model) collected for the
//! usage log.
//!
//! The client owns a single-threaded runtime, built only by commands that
//! call a model; a call runs to its end, or stops at once when its `cancel`
//! flag is set (Ctrl-C), keeping what arrived.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt as _;
use reqwest::header::HeaderMap;

use crate::env::Environment;
use crate::llm::keys::{self, KeyError};
use crate::llm::limiter::RateLimiter;
use crate::llm::provider::ProviderConfig;
use crate::llm::retry::{AttemptFailure, RetryAfterHeaders, RetryPolicy};
use crate::llm::sse::{SseDecoder, SseEvent};
use crate::llm::wire::{self, WireFormat};
pub use crate::llm::ToolCallRequest;
use crate::llm::{openai, ApiError, ChatEvent, ChatRequest, FinishReason, StreamError, Usage};

/// The largest error body read.
const ERROR_BODY_LIMIT: usize = 1 << 20;
/// The largest whole (non-streamed) reply body read.
const WHOLE_BODY_LIMIT: usize = 64 << 20;
/// The largest embeddings reply read (a batch of large vectors).
const EMBEDDINGS_BODY_LIMIT: usize = 256 << 20;
/// How often a running call looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// How a successful response's body is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyShape {
    /// Server-sent events.
    EventStream,
    /// One JSON document: the reply, or an API error sent with a 2xx.
    Json,
}

/// Checks what the server answered before its body is read: a redirect
/// is an error naming where it points (it is never followed, so the key
/// never goes with it); a body in an encoding confab cannot decode, or of
/// a type that is neither an event stream nor JSON (an HTML page from a
/// proxy or a web server at the wrong path), is an error that says so. A
/// streamed request answered with JSON is read as the whole reply or the
/// API error it is. These answers are not retried: the next attempt would
/// get the same.
fn check_response(
    status: u16,
    headers: &HeaderMap,
    streamed: bool,
) -> Result<BodyShape, CallFailure> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if (300..400).contains(&status) {
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("nowhere (no Location header)");
        return Err(CallFailure::Redirect {
            status,
            location: printable(location, 300),
        });
    }
    if let Some(encoding) = header("content-encoding") {
        if !matches!(encoding.as_str(), "" | "identity" | "gzip" | "x-gzip") {
            let encoding = printable(&encoding, 100);
            return Err(CallFailure::Malformed(format!(
                "the body is `{encoding}`-encoded, which confab did not ask for and cannot \
                 decode; check the proxy between confab and the API"
            )));
        }
    }
    let content_type = header("content-type").unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or("").trim();
    let is_json = media == "application/json" || media.ends_with("+json");
    if !(200..300).contains(&status) || is_json {
        return Ok(BodyShape::Json);
    }
    if streamed && (media == "text/event-stream" || media.is_empty()) {
        return Ok(BodyShape::EventStream);
    }
    if !streamed && media.is_empty() {
        return Ok(BodyShape::Json);
    }
    let media = printable(media, 100);
    Err(CallFailure::Malformed(format!(
        "the server answered HTTP {status} with a `{media}` body, not {}; base_url probably \
         points at a web page rather than the API root",
        if streamed { "an event stream" } else { "JSON" }
    )))
}

/// Server-sent text (a header value) made safe to print, at most `max`
/// characters.
fn printable(text: &str, max: usize) -> String {
    let head: String = text.chars().take(max).collect();
    crate::safe_text::printable(&head)
}

/// Errors that stop a call before it is sent.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No API key could be had.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The HTTP client or its runtime could not be set up.
    #[error("could not set up the HTTP client: {0}")]
    Setup(String),
}

/// How long the client waits, per provider config.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    /// For the answer's status and headers, from the request's start.
    response: Duration,
    /// For each read of the body.
    read: Duration,
    /// For the whole call: pacing, every attempt and the waits between.
    total: Duration,
}

/// A client for one configured provider.
pub struct Client {
    wire: &'static dyn WireFormat,
    base_url: String,
    chat_url: String,
    embeddings_url: String,
    api_key: Option<String>,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    timeouts: Timeouts,
    policy: RetryPolicy,
    limiter: Mutex<RateLimiter>,
    /// The model that answers in this process instead of over HTTP.
    in_process: Option<Mutex<Box<dyn InProcessModel + Send>>>,
}

/// A model that runs in this process rather than behind an HTTP API (the
/// built-in local model): it gets the request after the client's own
/// preparation (tool rounds flattened to text when no tools are offered)
/// and tells the observer of text as it is generated.
pub trait InProcessModel {
    /// Answers `request`, stopping when `cancel` is set and keeping what
    /// was generated.
    fn chat(
        &mut self,
        request: &ChatRequest,
        cancel: &AtomicBool,
        observer: &mut dyn CallObserver,
    ) -> CallOutcome;
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEnd {
    /// The reply arrived whole.
    Complete,
    /// The user pressed Ctrl-C; what arrived is kept.
    Cancelled,
    /// The stream broke after text was shown; what arrived is kept. Not retried.
    Broken(String),
    /// No usable reply.
    Failed(CallFailure),
}

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallFailure {
    /// The API answered with an error (status, or inside a 200 stream).
    Api(ApiError),
    /// The connection failed or timed out, on every attempt.
    Transport(String),
    /// The reply could not be understood.
    Malformed(String),
    /// The server answered with a redirect, which confab does not follow.
    Redirect {
        /// The 3xx status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
}

impl CallFailure {
    /// A short kind for the usage log (`rate_limit`, `server_error`, `timeout`...).
    pub fn kind(&self) -> String {
        match self {
            CallFailure::Api(e) => match e.status {
                Some(401) | Some(403) => "auth".into(),
                Some(429) => "rate_limit".into(),
                Some(s) if s >= 500 => "server_error".into(),
                Some(_) => "bad_request".into(),
                None => "stream_error".into(),
            },
            CallFailure::Transport(m) if m.contains("timed out") || m.contains("timeout") => {
                "timeout".into()
            }
            CallFailure::Transport(_) => "connection".into(),
            CallFailure::Malformed(_) => "malformed".into(),
            CallFailure::Redirect { .. } => "redirect".into(),
        }
    }

    /// The same failure with `scrub` applied to every text that came from
    /// the server or the transport (an error body may echo the key).
    pub fn scrubbed(self, scrub: impl Fn(&str) -> String) -> CallFailure {
        match self {
            CallFailure::Api(mut e) => {
                e.message = scrub(&e.message);
                e.code = e.code.map(|c| scrub(&c));
                CallFailure::Api(e)
            }
            CallFailure::Transport(m) => CallFailure::Transport(scrub(&m)),
            CallFailure::Malformed(m) => CallFailure::Malformed(scrub(&m)),
            CallFailure::Redirect { status, location } => CallFailure::Redirect {
                status,
                location: scrub(&location),
            },
        }
    }

    /// The message for people.
    pub fn message(&self) -> String {
        match self {
            CallFailure::Api(e) => e.to_string(),
            CallFailure::Transport(m) => m.clone(),
            CallFailure::Malformed(m) => format!("malformed reply from the server: {m}"),
            CallFailure::Redirect { status, location } => format!(
                "the server answered HTTP {status}, redirecting to {location}; confab does not \
                 follow redirects, so that the API key is sent only to the configured host: \
                 set base_url to the address the API is really at"
            ),
        }
    }
}

/// Everything known about a finished call.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    /// The reply text (partial unless `end` is `Complete`).
    pub text: String,
    /// Why the model stopped.
    pub finish_reason: Option<FinishReason>,
    /// Tool calls the model asked for, by index order.
    pub tool_calls: Vec<ToolCallRequest>,
    /// The reasoning blocks that came with the reply, in order: passed
    /// back with its tool calls.
    pub reasoning: Vec<crate::llm::ReasoningBlock>,
    /// The model the API reported.
    pub model_reported: Option<String>,
    /// The API's id of the reply.
    pub response_id: Option<String>,
    /// Usage the API reported (the last one sent).
    pub usage: Option<Usage>,
    /// Retries taken.
    pub retries: u32,
    /// Why each retry was needed.
    pub retry_notes: Vec<RetryNote>,
    /// The last HTTP status received.
    pub status: Option<u16>,
    /// Time to the first text.
    pub ttft: Option<Duration>,
    /// Wall time of the call.
    pub latency: Duration,
    /// How it ended.
    pub end: CallEnd,
}

impl CallOutcome {
    /// An outcome that ended as `end` after `latency`, with nothing in it
    /// yet: no text, usage, retries or status (calls answered without
    /// HTTP, such as the response cache and the local model, fill in what
    /// they have).
    pub fn empty(end: CallEnd, latency: Duration) -> CallOutcome {
        CallOutcome {
            text: String::new(),
            finish_reason: None,
            tool_calls: Vec::new(),
            reasoning: Vec::new(),
            model_reported: None,
            response_id: None,
            usage: None,
            retries: 0,
            retry_notes: Vec::new(),
            status: None,
            ttft: None,
            latency,
            end,
        }
    }
}

/// One failed attempt of a call that was tried again.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryNote {
    /// When the attempt failed.
    pub at: SystemTime,
    /// Which retry follows (1 for the first).
    pub retry: u32,
    /// The wait before it.
    pub delay: Duration,
    /// Why the attempt failed.
    pub reason: String,
}

/// What has arrived of one reply, across its attempts.
#[derive(Default)]
struct Reply {
    text: String,
    ttft: Option<Duration>,
    finish_reason: Option<FinishReason>,
    tool_calls: BTreeMap<u32, ToolCallRequest>,
    reasoning: Vec<crate::llm::ReasoningBlock>,
    model_reported: Option<String>,
    response_id: Option<String>,
    usage: Option<Usage>,
    status: Option<u16>,
    /// Whether text or a tool call was shown or taken: a failure after
    /// that is never retried silently.
    output: bool,
}

impl Reply {
    /// How a call that ran past its deadline ends: what was shown is kept
    /// (and marked interrupted), else it failed.
    fn past_deadline(&self, total: Duration) -> CallEnd {
        let message = format!(
            "the call took longer than {} s (total_timeout_secs); confab stopped it",
            total.as_secs()
        );
        if self.output {
            CallEnd::Broken(message)
        } else {
            CallEnd::Failed(CallFailure::Transport(message))
        }
    }

    fn into_outcome(self, end: CallEnd, retries: u32, latency: Duration) -> CallOutcome {
        CallOutcome {
            text: self.text,
            finish_reason: self.finish_reason,
            tool_calls: self
                .tool_calls
                .into_iter()
                .map(|(index, mut call)| {
                    // Some compatible servers send no id; the reply to the
                    // call needs one, so make one up.
                    if call.id.as_deref().is_none_or(str::is_empty) {
                        call.id = Some(format!("call_{index}"));
                    }
                    call
                })
                .collect(),
            reasoning: self.reasoning,
            model_reported: self.model_reported,
            response_id: self.response_id,
            usage: self.usage,
            retries,
            retry_notes: Vec::new(),
            status: self.status,
            ttft: self.ttft,
            latency,
            end,
        }
    }
}

/// Things the caller sees while a call runs.
pub trait CallObserver {
    /// More reply text arrived.
    fn text(&mut self, text: &str);
    /// More of the model's visible reasoning arrived (never reply text).
    fn reasoning(&mut self, _text: &str) {}
    /// An attempt failed and another will be made after `delay`.
    fn retrying(&mut self, retry: u32, delay: Duration, reason: &str);
    /// The client-side rate limit holds the request back for `wait`.
    fn rate_limited(&mut self, wait: Duration);
}

impl Client {
    /// A client for `provider`, resolving its API key now (see
    /// [`crate::llm::keys`]).
    pub fn new(
        provider_name: &str,
        provider: &ProviderConfig,
        env: &dyn Environment,
    ) -> Result<Client, ClientError> {
        Client::speaking(provider_name, provider, env, wire::for_kind(provider.kind))
    }

    /// A client to chat with `model` on `provider`, in the wire format
    /// [`wire::for_model`] picks for it.
    pub fn for_model(
        provider_name: &str,
        provider: &ProviderConfig,
        model: &str,
        env: &dyn Environment,
    ) -> Result<Client, ClientError> {
        let wire = wire::for_model(provider_name, provider, model);
        Client::speaking(provider_name, provider, env, wire)
    }

    /// The wire format the client speaks.
    pub fn wire(&self) -> &'static dyn WireFormat {
        self.wire
    }

    /// A client for `provider` that speaks `wire` instead of the format of
    /// the provider's kind (a format under test, in process).
    pub fn speaking(
        provider_name: &str,
        provider: &ProviderConfig,
        env: &dyn Environment,
        wire: &'static dyn WireFormat,
    ) -> Result<Client, ClientError> {
        let api_key = keys::resolve(provider_name, provider, env)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| ClientError::Setup(err.to_string()))?;
        let connect = Duration::from_secs(provider.connect_timeout_secs);
        let read = Duration::from_secs(provider.read_timeout_secs);
        let http = {
            let _inside = runtime.enter();
            http_client(&provider.base_url(), connect, read).map_err(ClientError::Setup)?
        };
        Ok(Client {
            wire,
            base_url: provider.base_url(),
            chat_url: provider.endpoint(wire.chat_path()),
            embeddings_url: provider.endpoint("embeddings"),
            api_key,
            http,
            runtime,
            timeouts: Timeouts {
                response: connect + read,
                read,
                total: Duration::from_secs(provider.total_timeout_secs),
            },
            policy: RetryPolicy {
                max_retries: provider.max_retries,
                ..RetryPolicy::default()
            },
            limiter: Mutex::new(RateLimiter::new(
                provider.requests_per_minute,
                provider.tokens_per_minute,
            )),
            in_process: None,
        })
    }

    /// What the server says of `model`'s limits, cached (see
    /// [`crate::llm::discovery`]); asked with this client's credentials.
    pub fn server_limits(
        &self,
        cache: &crate::llm::discovery::LimitsCache,
        provider_name: &str,
        provider: &ProviderConfig,
        model: &str,
    ) -> Option<crate::llm::discovery::ServerLimits> {
        crate::llm::discovery::limits_for(self, cache, provider_name, provider, model)
    }

    /// The client with `model` answering in this process: no request
    /// leaves the machine.
    pub fn with_in_process(mut self, model: Box<dyn InProcessModel + Send>) -> Client {
        self.in_process = Some(Mutex::new(model));
        self
    }

    /// Replaces the retry policy (tests use short delays).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Client {
        self.policy = policy;
        self
    }

    /// The host the client talks to, for the usage log.
    pub fn host(&self) -> String {
        if self.in_process.is_some() {
            return crate::local::PROVIDER.to_string();
        }
        let base_url = crate::safe_text::strip_userinfo(&self.base_url);
        let rest = base_url
            .split_once("://")
            .map_or(base_url.as_str(), |(_, r)| r);
        rest.split(['/', '?', '#'])
            .next()
            .unwrap_or(rest)
            .to_string()
    }

    /// Sends `request` and waits for the reply, telling `observer` about
    /// text as it arrives. Returns when the reply is complete, the call
    /// failed, or `cancel` was set.
    pub fn chat(
        &self,
        request: &ChatRequest,
        cancel: &AtomicBool,
        observer: &mut dyn CallObserver,
    ) -> CallOutcome {
        let started = Instant::now();
        let flat = request
            .tools
            .is_empty()
            .then(|| super::flatten::tool_rounds_as_text(&request.messages))
            .flatten()
            .map(|messages| ChatRequest {
                messages,
                ..request.clone()
            });
        let request = flat.as_ref().unwrap_or(request);
        if let Some(model) = &self.in_process {
            let mut model = model
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            return model.chat(request, cancel, observer);
        }
        let body = self.wire.chat_body(request);
        let mut reply = Reply::default();
        let mut retries = 0;
        let mut notes = Vec::new();
        let end = self.runtime.block_on(async {
            let call = async {
                self.pace(request_tokens(request), Some(&mut *observer))
                    .await;
                let mut attempt = ChatAttempt {
                    client: self,
                    body: &body,
                    stream: request.stream,
                    // Responses events echo the request (instructions,
                    // tools) in their response objects.
                    stream_limit: stream_limit(request.max_output_tokens) + 4 * body.len(),
                    reply: &mut reply,
                    observer: &mut *observer,
                    started,
                };
                let retried = self.with_retries(&mut attempt).await;
                retries = retried.retries;
                notes = retried.notes;
                match retried.result {
                    Ok(()) => CallEnd::Complete,
                    Err(Stop::Broken(failure)) => CallEnd::Broken(failure.message()),
                    Err(Stop::Failed(failure)) => CallEnd::Failed(failure),
                }
            };
            tokio::select! {
                end = call => Some(end),
                () = cancelled(cancel) => Some(CallEnd::Cancelled),
                () = tokio::time::sleep(self.timeouts.total) => None,
            }
        });
        let end = end.unwrap_or_else(|| reply.past_deadline(self.timeouts.total));
        let mut outcome = reply.into_outcome(end, retries, started.elapsed());
        outcome.retry_notes = notes;
        outcome
    }

    /// Embeds each batch with an OpenAI-compatible `/embeddings` endpoint,
    /// up to `in_flight` batches at once, each paced by the rate limiter
    /// and retried on its own like a chat call; the outcomes are in the
    /// batches' order.
    pub fn embed_batches(
        &self,
        model: &str,
        batches: &[Vec<String>],
        in_flight: usize,
    ) -> Vec<EmbedOutcome> {
        let calls = futures_util::stream::iter(batches)
            .map(|batch| self.embed_batch(model, batch))
            .buffered(in_flight.max(1));
        self.runtime.block_on(calls.collect())
    }

    async fn embed_batch(&self, model: &str, inputs: &[String]) -> EmbedOutcome {
        let started = Instant::now();
        let body = serde_json::to_vec(&openai::EmbeddingRequest {
            model,
            input: inputs,
            encoding_format: "float",
        })
        .unwrap_or_default();
        let estimate: u64 = inputs.iter().map(|i| i.len() as u64 / 4 + 1).sum();
        self.pace(estimate, None).await;
        let mut attempt = EmbedAttempt {
            client: self,
            body,
            count: inputs.len(),
            status: None,
        };
        let retried = self.with_retries(&mut attempt).await;
        EmbedOutcome {
            result: retried.result.map_err(Stop::into_failure),
            retries: retried.retries,
            retry_notes: retried.notes,
            status: attempt.status,
            latency: started.elapsed(),
        }
    }

    /// A short side request (the model-limits probe) with the provider's
    /// credentials, never redirected: the body of a 2xx answer (at most
    /// `limit` bytes), `None` for any other status, `Err` when the server
    /// could not be reached within `timeout`.
    pub fn side_request(
        &self,
        url: &str,
        json_body: Option<&str>,
        timeout: Duration,
        limit: usize,
    ) -> Result<Option<String>, String> {
        let mut request = match json_body {
            Some(body) => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string()),
            None => self.http.get(url),
        };
        for (name, value) in self.wire.auth_headers(self.api_key.as_deref()) {
            request = request.header(name, value);
        }
        self.runtime.block_on(async {
            let answer = tokio::time::timeout(timeout, async {
                let response = request.send().await.map_err(|err| describe(&err))?;
                if !response.status().is_success() {
                    return Ok::<_, String>(None);
                }
                Ok(read_body(response, limit, timeout).await.ok())
            });
            match answer.await {
                Ok(Ok(body)) => Ok(body),
                Ok(Err(why)) => Err(format!("the server did not answer: {why}")),
                Err(_) => Err(format!(
                    "the server did not answer within {} s",
                    timeout.as_secs()
                )),
            }
        })
    }

    /// Sends the attempts of one call until one succeeds, one fails in a
    /// way no retry mends, or the retries are spent; waits between them as
    /// the policy and the server's Retry-After say.
    async fn with_retries<A: Attempt>(&self, attempt: &mut A) -> Retried<A::Output> {
        let mut retries = 0;
        let mut notes = Vec::new();
        loop {
            let failed = match attempt.run().await {
                Ok(output) => {
                    return Retried {
                        result: Ok(output),
                        retries,
                        notes,
                    }
                }
                Err(mut failed) => {
                    let key = self.api_key.as_deref();
                    failed.call_failure = failed
                        .call_failure
                        .scrubbed(|text| crate::safe_text::without_secrets(text, key));
                    failed
                }
            };
            if matches!(failed.failure, AttemptFailure::AfterOutput) {
                return Retried {
                    result: Err(Stop::Broken(failed.call_failure)),
                    retries,
                    notes,
                };
            }
            let delay = self.policy.next_delay(
                &failed.failure,
                retries,
                &failed.retry_after,
                SystemTime::now(),
                fastrand::f64(),
            );
            let Some(delay) = delay else {
                return Retried {
                    result: Err(Stop::Failed(failed.call_failure)),
                    retries,
                    notes,
                };
            };
            retries += 1;
            let reason = failed.call_failure.message();
            attempt.retrying(retries, delay, &reason);
            notes.push(RetryNote {
                at: SystemTime::now(),
                retry: retries,
                delay,
                reason,
            });
            tokio::time::sleep(delay).await;
        }
    }

    /// Waits until the client-side limits let a request of about `tokens`
    /// go, telling `observer` once if it has to wait.
    async fn pace(&self, tokens: u64, mut observer: Option<&mut dyn CallObserver>) {
        loop {
            let wait = match self.limiter.lock() {
                Ok(mut limiter) => limiter.reserve(tokens, Instant::now()),
                Err(_) => Duration::ZERO,
            };
            if wait.is_zero() {
                return;
            }
            if let Some(observer) = observer.take() {
                observer.rate_limited(wait);
            }
            tokio::time::sleep(wait.min(Duration::from_millis(100))).await;
        }
    }

    /// The failed attempt an HTTP error answer stands for, its body read
    /// (bounded) with `parse`; its headers steer the retry.
    async fn error_answer(
        &self,
        response: reqwest::Response,
        parse: &dyn Fn(u16, &str) -> ApiError,
    ) -> Box<FailedAttempt> {
        let status = response.status().as_u16();
        let (retry_after, should_retry_header) = retry_headers(response.headers());
        let text = read_body(response, ERROR_BODY_LIMIT, self.timeouts.read)
            .await
            .unwrap_or_default();
        let error = parse(status, &text);
        Box::new(FailedAttempt {
            failure: AttemptFailure::Status {
                status,
                should_retry_header,
                error_code: error.code.clone(),
            },
            call_failure: CallFailure::Api(error),
            retry_after,
        })
    }

    /// POSTs a JSON body to `url` with the provider's auth headers; a
    /// stream is asked for uncompressed, since a compressor may hold text
    /// back until a block fills.
    async fn post(
        &self,
        url: &str,
        body: &[u8],
        stream: bool,
    ) -> Result<reqwest::Response, Box<FailedAttempt>> {
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if stream {
            request = request
                .header("accept", "text/event-stream")
                .header("accept-encoding", "identity");
        }
        for (name, value) in self.wire.auth_headers(self.api_key.as_deref()) {
            request = request.header(name, value);
        }
        match tokio::time::timeout(self.timeouts.response, request.send()).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(transport_failure(&describe(&err))),
            Err(_) => Err(transport_failure(&format!(
                "timed out: no answer from the server within {} s",
                self.timeouts.response.as_secs()
            ))),
        }
    }
}

// ---------------------------------------------------------------------------
// Plain API requests (the batch endpoints): JSON or multipart in, a bounded
// body out, through the same auth headers, timeouts and retry loop as chat.
// ---------------------------------------------------------------------------

/// A request body and its content type.
#[derive(Clone, Debug)]
pub struct ApiBody {
    /// `application/json`, `multipart/form-data; boundary=...`.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// One plain API request ([`Client::api_request`]).
#[derive(Clone, Debug)]
pub struct ApiRequest<'a> {
    /// The full URL (see [`ProviderConfig::endpoint`]).
    pub url: &'a str,
    /// A POST body; `None`: a GET.
    pub body: Option<ApiBody>,
    /// The most bytes of the answer read.
    pub limit: usize,
    /// Whether the answer may be any media type (a file download), not only JSON.
    pub download: bool,
}

impl Client {
    /// Sends `request` with the provider's auth headers, retried as a chat
    /// call is, and returns the body of the 2xx answer (at most
    /// `request.limit` bytes); an error answer is the API error it holds.
    pub fn api_request(&self, request: &ApiRequest<'_>) -> Result<String, CallFailure> {
        let mut attempt = ApiAttempt {
            client: self,
            request,
        };
        let total = self.timeouts.total;
        self.runtime.block_on(async {
            match tokio::time::timeout(total, self.with_retries(&mut attempt)).await {
                Ok(retried) => retried.result.map_err(Stop::into_failure),
                Err(_) => Err(CallFailure::Transport(format!(
                    "the request took longer than {} s (total_timeout_secs)",
                    total.as_secs()
                ))),
            }
        })
    }
}

/// One attempt of a plain API request.
struct ApiAttempt<'a> {
    client: &'a Client,
    request: &'a ApiRequest<'a>,
}

impl Attempt for ApiAttempt<'_> {
    type Output = String;

    async fn run(&mut self) -> Result<String, Box<FailedAttempt>> {
        let client = self.client;
        let mut builder = match &self.request.body {
            Some(body) => client
                .http
                .post(self.request.url)
                .header("content-type", body.content_type.as_str())
                .body(body.bytes.clone()),
            None => client.http.get(self.request.url),
        };
        for (name, value) in client.wire.auth_headers(client.api_key.as_deref()) {
            builder = builder.header(name, value);
        }
        let response = match tokio::time::timeout(client.timeouts.response, builder.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => return Err(transport_failure(&describe(&err))),
            Err(_) => return Err(transport_failure("timed out: no answer from the server")),
        };
        let status = response.status().as_u16();
        if !self.request.download || !(200..300).contains(&status) {
            check_response(status, response.headers(), false)
                .map_err(|failure| refused(status, failure))?;
        }
        if !(200..300).contains(&status) {
            let parse = |status: u16, body: &str| client.wire.parse_error(status, body);
            return Err(client.error_answer(response, &parse).await);
        }
        read_body(response, self.request.limit, client.timeouts.read)
            .await
            .map_err(|err| match err.starts_with("the body is over") {
                true => refused(status, CallFailure::Malformed(err)),
                false => transport_failure(&err),
            })
    }

    fn retrying(&mut self, retry: u32, delay: Duration, reason: &str) {
        eprintln!(
            "confab: {reason}; retry {retry} in {:.1}s",
            delay.as_secs_f64()
        );
    }
}

/// The HTTP client: rustls (see [`tls_config`]), bounded connect and read
/// times, no redirects followed (following one would send the key
/// wherever the Location points; see `check_response`), HTTP/1.1.
fn http_client(
    base_url: &str,
    connect: Duration,
    read: Duration,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(base_url)?)
        .connect_timeout(connect)
        // Every read of the connection, the answer's head included.
        .read_timeout(read)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| describe(&err))
}

/// The TLS set-up of every client confab makes: rustls with ring and the
/// system's roots, or no roots for a plain-HTTP URL (loading them is most
/// of a start-up, and with no redirects followed such a client never
/// reaches an HTTPS host).
pub(crate) fn tls_config(url: &str) -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?;
    let tls = if !url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        versions.with_root_certificates(rustls::RootCertStore::empty())
    } else {
        versions
            .with_platform_verifier()
            .map_err(|err| err.to_string())?
    };
    Ok(tls.with_no_client_auth())
}

/// Rough prompt tokens of a request (bytes / 4 plus the output cap), for
/// pacing only: the API counts.
fn request_tokens(request: &ChatRequest) -> u64 {
    let prompt_bytes: usize = request
        .messages
        .iter()
        .map(crate::llm::Message::text_len)
        .sum::<usize>()
        + request.system.as_ref().map_or(0, String::len);
    prompt_bytes as u64 / 4 + u64::from(request.max_output_tokens)
}

/// The most bytes a streamed reply of at most `max_output_tokens` tokens
/// may take: 1 MiB plus 1 KiB a token, far above what any API sends
/// (a chunk per token is a few hundred bytes of JSON).
fn stream_limit(max_output_tokens: u32) -> usize {
    (1 << 20) + max_output_tokens as usize * 1024
}

/// Resolves once `flag` is set.
async fn cancelled(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(CANCEL_POLL).await;
    }
}

/// An error with its causes, as people read it ("connection refused"
/// rather than "error sending request").
fn describe(err: &reqwest::Error) -> String {
    let mut message = if err.is_timeout() {
        format!("timed out: {err}")
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// A body read whole, at most `limit` bytes, each read within `read`.
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    read: Duration,
) -> Result<String, String> {
    let mut body = Vec::new();
    loop {
        let chunk = match tokio::time::timeout(read, response.chunk()).await {
            Ok(Ok(chunk)) => chunk,
            Ok(Err(err)) => return Err(describe(&err)),
            Err(_) => {
                return Err(format!(
                    "timed out: the body stalled for {} s",
                    read.as_secs()
                ))
            }
        };
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > limit {
            return Err(format!("the body is over {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())
}

/// How a call stopped short of success.
enum Stop {
    /// The stream broke after output; what arrived is kept.
    Broken(CallFailure),
    /// No usable reply.
    Failed(CallFailure),
}

impl Stop {
    fn into_failure(self) -> CallFailure {
        match self {
            Stop::Broken(failure) | Stop::Failed(failure) => failure,
        }
    }
}

/// What the retry loop returns.
struct Retried<T> {
    result: Result<T, Stop>,
    retries: u32,
    /// The failed attempts that were tried again.
    notes: Vec<RetryNote>,
}

/// One kind of request the retry loop can send again.
trait Attempt {
    /// What a successful attempt gives.
    type Output;
    /// Sends the request once and reads the answer.
    async fn run(&mut self) -> Result<Self::Output, Box<FailedAttempt>>;
    /// Another attempt will be made after `delay`.
    fn retrying(&mut self, retry: u32, delay: Duration, reason: &str);
}

/// One attempt's failure, with what is needed to decide on a retry.
struct FailedAttempt {
    failure: AttemptFailure,
    call_failure: CallFailure,
    retry_after: RetryAfterHeaders,
}

/// A chat request, its reply collected into `reply` as it streams.
struct ChatAttempt<'a> {
    client: &'a Client,
    body: &'a [u8],
    stream: bool,
    /// The most bytes a streamed reply may take (see [`stream_limit`]).
    stream_limit: usize,
    reply: &'a mut Reply,
    observer: &'a mut dyn CallObserver,
    started: Instant,
}

impl Attempt for ChatAttempt<'_> {
    type Output = ();

    async fn run(&mut self) -> Result<(), Box<FailedAttempt>> {
        let client = self.client;
        let response = client
            .post(&client.chat_url, self.body, self.stream)
            .await?;
        let status = response.status().as_u16();
        self.reply.status = Some(status);
        // A chunked or sized body that ends has ended on purpose: the
        // server finished it (a close-delimited one may have been cut).
        let framed = ["transfer-encoding", "content-length"]
            .iter()
            .any(|name| response.headers().contains_key(*name));
        let shape = check_response(status, response.headers(), self.stream)
            .map_err(|failure| refused(status, failure))?;
        if !(200..300).contains(&status) {
            let parse = |status: u16, body: &str| client.wire.parse_error(status, body);
            return Err(client.error_answer(response, &parse).await);
        }
        if shape == BodyShape::EventStream {
            return self.read_stream(response, framed).await;
        }
        let text = read_body(response, WHOLE_BODY_LIMIT, client.timeouts.read)
            .await
            .map_err(|err| transport_failure(&err))?;
        let events = client
            .wire
            .parse_reply(&text)
            .map_err(|err| refused(status, err.into()))?;
        for event in events {
            self.apply(event);
        }
        Ok(())
    }

    fn retrying(&mut self, retry: u32, delay: Duration, reason: &str) {
        self.observer.retrying(retry, delay, reason);
    }
}

impl ChatAttempt<'_> {
    /// Reads an SSE body to its end, applying each event.
    async fn read_stream(
        &mut self,
        mut response: reqwest::Response,
        framed: bool,
    ) -> Result<(), Box<FailedAttempt>> {
        let read_timeout = self.client.timeouts.read;
        let mut reader = self.client.wire.stream_reader();
        let mut decoder = SseDecoder::new();
        let mut events: Vec<SseEvent> = Vec::new();
        let (mut any_event, mut done) = (false, false);
        let mut received = 0usize;
        loop {
            let chunk = match tokio::time::timeout(read_timeout, response.chunk()).await {
                Ok(Ok(chunk)) => chunk,
                Ok(Err(err)) => {
                    return Err(self.broke(&format!(
                        "the connection broke mid-stream: {}",
                        describe(&err)
                    )))
                }
                Err(_) => {
                    return Err(self.broke(&format!(
                        "timed out: the server sent nothing for {} s mid-stream",
                        read_timeout.as_secs()
                    )))
                }
            };
            received += chunk.as_ref().map_or(0, |bytes| bytes.len());
            if received > self.stream_limit {
                return Err(self.overflowed());
            }
            match &chunk {
                Some(bytes) => decoder.feed(bytes, &mut events),
                None => decoder.finish(&mut events),
            }
            for event in events.drain(..) {
                any_event = true;
                let parsed = reader.read(&event).map_err(|err| self.stream_error(err))?;
                for chat_event in parsed {
                    done |= chat_event == ChatEvent::Done;
                    self.apply(chat_event);
                }
            }
            if done || chunk.is_none() {
                break;
            }
        }
        let finished = done || self.reply.finish_reason.is_some();
        if !finished && !any_event && framed {
            // A server that ends the stream it framed without one event
            // gave its answer (llama-cpp-python does this for a prompt
            // over its context); asking again would get the same.
            return Err(refused(
                200,
                CallFailure::Malformed(
                    "the server answered 200 and ended the event stream without sending a \
                     single event; some servers do this when they refuse the request (a \
                     prompt over the context they were started with, for one): try \
                     --no-stream to see their error, and `confab models` for the limits"
                        .into(),
                ),
            ));
        }
        if !finished {
            return Err(self.broke("the stream ended before the reply was complete"));
        }
        Ok(())
    }

    /// A stream longer than any reply within the output cap: a server
    /// that does not stop (or sends one endless line). What arrived is
    /// kept; asking again would get the same.
    fn overflowed(&self) -> Box<FailedAttempt> {
        let message = format!(
            "the event stream passed {} MiB, more than a reply within the output cap can take; \
             confab stopped reading it",
            self.stream_limit >> 20
        );
        if self.reply.output {
            after_output(&message)
        } else {
            refused(200, CallFailure::Malformed(message))
        }
    }

    /// A transport failure: retried only if nothing was output yet.
    fn broke(&self, message: &str) -> Box<FailedAttempt> {
        if self.reply.output {
            after_output(message)
        } else {
            transport_failure(message)
        }
    }

    /// An error event inside a 200 stream is the server's answer, not a
    /// transport hiccup: not retried unless it says it is overloaded.
    fn stream_error(&self, err: StreamError) -> Box<FailedAttempt> {
        let failure = CallFailure::from(err);
        if self.reply.output {
            return after_output(&failure.message());
        }
        Box::new(FailedAttempt {
            failure: AttemptFailure::Status {
                status: 200,
                should_retry_header: Some(is_overload(&failure)),
                error_code: None,
            },
            call_failure: failure,
            retry_after: RetryAfterHeaders::default(),
        })
    }

    fn apply(&mut self, event: ChatEvent) {
        let reply = &mut *self.reply;
        match event {
            ChatEvent::Model(model) => reply.model_reported = Some(model),
            ChatEvent::ResponseId(id) => reply.response_id = Some(id),
            ChatEvent::TextDelta(text) => {
                reply.output = true;
                reply.ttft.get_or_insert_with(|| self.started.elapsed());
                self.observer.text(&text);
                reply.text.push_str(&text);
            }
            ChatEvent::ReasoningDelta(text) => {
                reply.output = true;
                self.observer.reasoning(&text);
            }
            ChatEvent::Reasoning(block) => {
                reply.output = true;
                reply.reasoning.push(block);
            }
            ChatEvent::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => {
                reply.output = true;
                // Fragments join by index: id and name come once, the
                // arguments in pieces (or whole, as Ollama sends them).
                let call = reply.tool_calls.entry(index).or_default();
                if id.is_some() {
                    call.id = id;
                }
                if let Some(name) = name {
                    call.name = name;
                }
                call.arguments.push_str(&arguments);
            }
            ChatEvent::Finish(reason) => reply.finish_reason = Some(reason),
            ChatEvent::Usage(usage) => reply.usage = Some(usage),
            ChatEvent::Done => {}
        }
    }
}

/// A finished embeddings call.
#[derive(Clone, Debug)]
pub struct EmbedOutcome {
    /// One vector per input, or the failure.
    pub result: Result<openai::EmbeddingResponse, CallFailure>,
    /// Retries taken.
    pub retries: u32,
    /// Why each retry was needed.
    pub retry_notes: Vec<RetryNote>,
    /// The last HTTP status.
    pub status: Option<u16>,
    /// Wall time of the call.
    pub latency: Duration,
}

/// An embeddings request for one batch.
struct EmbedAttempt<'a> {
    client: &'a Client,
    body: Vec<u8>,
    count: usize,
    status: Option<u16>,
}

impl Attempt for EmbedAttempt<'_> {
    type Output = openai::EmbeddingResponse;

    async fn run(&mut self) -> Result<openai::EmbeddingResponse, Box<FailedAttempt>> {
        let client = self.client;
        let response = client
            .post(&client.embeddings_url, &self.body, false)
            .await?;
        let status = response.status().as_u16();
        self.status = Some(status);
        check_response(status, response.headers(), false)
            .map_err(|failure| refused(status, failure))?;
        if !(200..300).contains(&status) {
            return Err(client
                .error_answer(response, &openai::parse_error_body)
                .await);
        }
        let text = read_body(response, EMBEDDINGS_BODY_LIMIT, client.timeouts.read)
            .await
            .map_err(|err| transport_failure(&err))?;
        openai::parse_embedding_response(&text, self.count)
            .map_err(|err| refused(status, err.into()))
    }

    fn retrying(&mut self, retry: u32, delay: Duration, reason: &str) {
        eprintln!(
            "confab: {reason}; retry {retry} in {:.1}s",
            delay.as_secs_f64()
        );
    }
}

/// The headers that steer retries: `retry-after-ms` / `retry-after`, and
/// `x-should-retry` (which overrides the status rules).
fn retry_headers(headers: &HeaderMap) -> (RetryAfterHeaders, Option<bool>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    (
        RetryAfterHeaders {
            retry_after_ms: header("retry-after-ms"),
            retry_after: header("retry-after"),
        },
        header("x-should-retry").map(|v| v == "true"),
    )
}

/// The server's answer, which no retry would mend.
fn refused(status: u16, failure: CallFailure) -> Box<FailedAttempt> {
    Box::new(FailedAttempt {
        failure: AttemptFailure::Status {
            status,
            should_retry_header: Some(false),
            error_code: None,
        },
        call_failure: failure,
        retry_after: RetryAfterHeaders::default(),
    })
}

fn transport_failure(message: &str) -> Box<FailedAttempt> {
    Box::new(FailedAttempt {
        failure: AttemptFailure::Connection,
        call_failure: CallFailure::Transport(message.to_string()),
        retry_after: RetryAfterHeaders::default(),
    })
}

fn after_output(message: &str) -> Box<FailedAttempt> {
    Box::new(FailedAttempt {
        failure: AttemptFailure::AfterOutput,
        call_failure: CallFailure::Transport(message.to_string()),
        retry_after: RetryAfterHeaders::default(),
    })
}

impl From<StreamError> for CallFailure {
    fn from(err: StreamError) -> CallFailure {
        match err {
            StreamError::Api(e) => CallFailure::Api(e),
            StreamError::Malformed(m) => CallFailure::Malformed(m),
        }
    }
}

fn is_overload(failure: &CallFailure) -> bool {
    matches!(failure, CallFailure::Api(e) if e.kind.as_deref() == Some("overloaded_error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_printed_without_terminal_controls() {
        assert_eq!(
            printable("http://evil.example/\u{1b}[2J\rx", 100),
            "http://evil.example/\\u{1b}[2J\\u{d}x"
        );
        assert_eq!(printable("ab", 1), "a");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn answers_are_sorted_by_status_type_and_encoding() {
        let sse = headers(&[("content-type", "text/event-stream")]);
        assert_eq!(check_response(200, &sse, true), Ok(BodyShape::EventStream));
        let json = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert_eq!(check_response(200, &json, true), Ok(BodyShape::Json));
        assert_eq!(check_response(429, &sse, true), Ok(BodyShape::Json));
        let html = headers(&[("content-type", "text/html")]);
        assert!(matches!(
            check_response(200, &html, false),
            Err(CallFailure::Malformed(m)) if m.contains("text/html")
        ));
        let moved = headers(&[("location", "https://elsewhere.example/v1")]);
        assert!(matches!(
            check_response(308, &moved, true),
            Err(CallFailure::Redirect { status: 308, location }) if location.contains("elsewhere")
        ));
        let brotli = headers(&[
            ("content-type", "text/event-stream"),
            ("content-encoding", "br"),
        ]);
        assert!(check_response(200, &brotli, true).is_err());
        let gzip = headers(&[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ]);
        assert_eq!(check_response(200, &gzip, false), Ok(BodyShape::Json));
    }
}
