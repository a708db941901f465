//! One chat call to a provider, done the careful way: the request built for
//! the provider's wire format, sent with retries (see [`crate::llm::retry`])
//! on a worker thread, the reply streamed back as it arrives, and the call's
//! numbers (status, retries, time to first token, latency, usage, model)
//! collected for the usage log.
//!
//! The caller's thread only waits on a channel, so Ctrl-C (a `cancel`
//! flag) is noticed at once even while the network is silent.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::config::{Environment, ProviderConfig, ProviderKind};
use crate::llm::limiter::RateLimiter;
use crate::llm::retry::{AttemptFailure, RetryAfterHeaders, RetryPolicy};
use crate::llm::sse::{SseDecoder, SseEvent};
pub use crate::llm::ToolCallRequest;
use crate::llm::{anthropic, openai, ApiError, ChatEvent, ChatRequest, StreamError, Usage};

/// The Anthropic API version confab speaks.
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The largest error body read.
const ERROR_BODY_LIMIT: u64 = 1 << 20;
/// The largest whole (non-streamed) reply body read.
const WHOLE_BODY_LIMIT: u64 = 64 << 20;

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
    response: &ureq::http::Response<ureq::Body>,
    streamed: bool,
) -> Result<BodyShape, CallFailure> {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if (300..400).contains(&status) {
        let location = response
            .headers()
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
    /// The API key variable is not set.
    #[error("{variable} is not set")]
    MissingKey {
        /// The variable.
        variable: String,
        /// The provider's name in config, for the hint.
        provider: String,
    },
    /// The key command failed.
    #[error("the api_key_cmd of provider `{provider}` failed: {message}")]
    KeyCommand {
        /// The provider's name.
        provider: String,
        /// What went wrong.
        message: String,
    },
}

/// A client for one configured provider.
pub struct Client {
    kind: ProviderKind,
    base_url: String,
    chat_url: String,
    embeddings_url: String,
    api_key: Option<String>,
    agent: ureq::Agent,
    policy: RetryPolicy,
    limiter: Mutex<RateLimiter>,
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
    /// Why the model stopped, as the API said.
    pub finish_reason: Option<String>,
    /// Tool calls the model asked for, by index order.
    pub tool_calls: Vec<ToolCallRequest>,
    /// The model the API reported.
    pub model_reported: Option<String>,
    /// Usage the API reported (the last one sent).
    pub usage: Option<Usage>,
    /// Retries taken.
    pub retries: u32,
    /// The last HTTP status received.
    pub status: Option<u16>,
    /// Time to the first text.
    pub ttft: Option<Duration>,
    /// Wall time of the call.
    pub latency: Duration,
    /// How it ended.
    pub end: CallEnd,
}

/// What the worker tells the waiting thread.
enum WorkerMessage {
    Text(String),
    Retrying {
        retry: u32,
        delay: Duration,
        reason: String,
    },
    Finished(Box<WorkerResult>),
}

#[derive(Default)]
struct WorkerResult {
    finish_reason: Option<String>,
    tool_calls: std::collections::BTreeMap<u32, ToolCallRequest>,
    model_reported: Option<String>,
    usage: Option<Usage>,
    retries: u32,
    status: Option<u16>,
    end: Option<CallEnd>,
}

/// Things the caller sees while a call runs.
pub trait CallObserver {
    /// More reply text arrived.
    fn text(&mut self, text: &str);
    /// An attempt failed and another will be made after `delay`.
    fn retrying(&mut self, retry: u32, delay: Duration, reason: &str);
    /// The client-side rate limit holds the request back for `wait`.
    fn rate_limited(&mut self, wait: Duration);
}

impl Client {
    /// A client for `provider`, resolving its API key now (from the
    /// environment variable, the key command or the file, in that order).
    pub fn new(
        provider_name: &str,
        provider: &ProviderConfig,
        env: &dyn Environment,
    ) -> Result<Client, ClientError> {
        let api_key = resolve_api_key(provider_name, provider, env)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(provider.connect_timeout_secs)))
            .timeout_recv_response(Some(Duration::from_secs(provider.read_timeout_secs)))
            .timeout_per_read(Some(Duration::from_secs(provider.read_timeout_secs)))
            .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION")))
            // A redirect is answered, not followed: following it would send
            // the key to wherever the Location points (see `check_response`).
            .max_redirects(0)
            .build();
        Ok(Client {
            kind: provider.kind,
            base_url: provider.base_url(),
            chat_url: match provider.kind {
                ProviderKind::Openai => provider.endpoint("chat/completions"),
                ProviderKind::Anthropic => provider.endpoint("messages"),
            },
            embeddings_url: provider.endpoint("embeddings"),
            api_key,
            agent: config.into(),
            policy: RetryPolicy {
                max_retries: provider.max_retries,
                ..RetryPolicy::default()
            },
            limiter: Mutex::new(RateLimiter::new(
                provider.requests_per_minute,
                provider.tokens_per_minute,
            )),
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
        crate::llm::discovery::limits_for(
            cache,
            provider_name,
            provider,
            self.api_key.as_deref(),
            model,
        )
    }

    /// Replaces the retry policy (tests use short delays).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Client {
        self.policy = policy;
        self
    }

    /// The host the client talks to, for the usage log.
    pub fn host(&self) -> String {
        let rest = self
            .base_url
            .split_once("://")
            .map_or(self.base_url.as_str(), |(_, r)| r);
        rest.split('/').next().unwrap_or(rest).to_string()
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
        if !self.wait_for_rate_limit(request, cancel, observer) {
            return CallOutcome {
                text: String::new(),
                finish_reason: None,
                tool_calls: Vec::new(),
                model_reported: None,
                usage: None,
                retries: 0,
                status: None,
                ttft: None,
                latency: started.elapsed(),
                end: CallEnd::Cancelled,
            };
        }
        let (sender, receiver) = mpsc::channel();
        let worker = Worker {
            kind: self.kind,
            url: self.chat_url.clone(),
            api_key: self.api_key.clone(),
            agent: self.agent.clone(),
            policy: self.policy.clone(),
            body: self.request_body(request),
            stream: request.stream,
            sender,
        };
        std::thread::spawn(move || worker.run());
        let mut text = String::new();
        let mut ttft = None;
        let result = loop {
            if cancel.load(Ordering::SeqCst) {
                break None;
            }
            match receiver.recv_timeout(Duration::from_millis(50)) {
                Ok(WorkerMessage::Text(piece)) => {
                    ttft.get_or_insert_with(|| started.elapsed());
                    observer.text(&piece);
                    text.push_str(&piece);
                }
                Ok(WorkerMessage::Retrying {
                    retry,
                    delay,
                    reason,
                }) => observer.retrying(retry, delay, &reason),
                Ok(WorkerMessage::Finished(result)) => break Some(*result),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Some(WorkerResult {
                        end: Some(CallEnd::Failed(CallFailure::Transport(
                            "the request thread stopped unexpectedly".into(),
                        ))),
                        ..WorkerResult::default()
                    })
                }
            }
        };
        let result = result.unwrap_or(WorkerResult {
            end: Some(CallEnd::Cancelled),
            ..WorkerResult::default()
        });
        CallOutcome {
            text,
            finish_reason: result.finish_reason,
            tool_calls: result
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
            model_reported: result.model_reported,
            usage: result.usage,
            retries: result.retries,
            status: result.status,
            ttft,
            latency: started.elapsed(),
            end: result.end.unwrap_or(CallEnd::Complete),
        }
    }

    /// Waits until the client-side limits let the request go; false if
    /// cancelled while waiting. The token share is a rough estimate (bytes
    /// / 4 plus the output cap): the limiter only paces, the API counts.
    fn wait_for_rate_limit(
        &self,
        request: &ChatRequest,
        cancel: &AtomicBool,
        observer: &mut dyn CallObserver,
    ) -> bool {
        let prompt_bytes: usize = request
            .messages
            .iter()
            .map(crate::llm::Message::text_len)
            .sum::<usize>()
            + request.system.as_ref().map_or(0, String::len);
        let tokens = prompt_bytes as u64 / 4 + u64::from(request.max_output_tokens);
        let mut told = false;
        loop {
            let wait = match self.limiter.lock() {
                Ok(mut limiter) => limiter.reserve(tokens, Instant::now()),
                Err(_) => Duration::ZERO,
            };
            if wait.is_zero() {
                return true;
            }
            if !told {
                observer.rate_limited(wait);
                told = true;
            }
            std::thread::sleep(wait.min(Duration::from_millis(100)));
            if cancel.load(Ordering::SeqCst) {
                return false;
            }
        }
    }

    fn request_body(&self, request: &ChatRequest) -> Vec<u8> {
        let body = match self.kind {
            ProviderKind::Openai => serde_json::to_vec(&openai::request_body(request, true)),
            ProviderKind::Anthropic => serde_json::to_vec(&anthropic::request_body(request)),
        };
        // Serializing plain structs of strings and numbers cannot fail.
        body.unwrap_or_default()
    }
}

/// A finished embeddings call.
#[derive(Clone, Debug)]
pub struct EmbedOutcome {
    /// One vector per input, or the failure.
    pub result: Result<openai::EmbeddingResponse, CallFailure>,
    /// Retries taken.
    pub retries: u32,
    /// The last HTTP status.
    pub status: Option<u16>,
    /// Wall time of the call.
    pub latency: Duration,
}

impl Client {
    /// Embeds `inputs` with an OpenAI-compatible `/embeddings` endpoint,
    /// with the same retries and rate limits as chat calls.
    pub fn embed(&self, model: &str, inputs: &[String]) -> EmbedOutcome {
        let started = Instant::now();
        let body = serde_json::to_vec(&openai::EmbeddingRequest {
            model,
            input: inputs,
            encoding_format: "float",
        })
        .unwrap_or_default();
        let estimate: u64 = inputs.iter().map(|i| i.len() as u64 / 4 + 1).sum();
        if let Ok(mut limiter) = self.limiter.lock() {
            limiter.acquire(estimate);
        }
        let url = &self.embeddings_url;
        let mut retries = 0;
        let mut status = None;
        loop {
            let mut request = self
                .agent
                .post(url)
                .header("content-type", "application/json");
            for (name, value) in auth_headers(self.kind, self.api_key.as_deref()) {
                request = request.header(name, &value);
            }
            let (failure, retry_after) = match request.send(&body[..]) {
                Err(err) => (
                    (
                        AttemptFailure::Connection,
                        CallFailure::Transport(err.to_string()),
                    ),
                    RetryAfterHeaders::default(),
                ),
                Ok(response) => {
                    let code = response.status().as_u16();
                    status = Some(code);
                    if let Err(failure) = check_response(&response, false) {
                        return EmbedOutcome {
                            result: Err(failure),
                            retries,
                            status,
                            latency: started.elapsed(),
                        };
                    }
                    let (retry_after, should_retry_header) = retry_headers(&response);
                    let text = response
                        .into_body()
                        .with_config()
                        .limit(1 << 30)
                        .read_to_string();
                    match (code, text) {
                        (200..=299, Ok(text)) => {
                            return EmbedOutcome {
                                result: openai::parse_embedding_response(&text, inputs.len())
                                    .map_err(CallFailure::from),
                                retries,
                                status,
                                latency: started.elapsed(),
                            }
                        }
                        (200..=299, Err(err)) => (
                            (
                                AttemptFailure::Connection,
                                CallFailure::Transport(err.to_string()),
                            ),
                            retry_after,
                        ),
                        (_, text) => {
                            let error = openai::parse_error_body(code, &text.unwrap_or_default());
                            (
                                (
                                    AttemptFailure::Status {
                                        status: code,
                                        should_retry_header,
                                        error_code: error.code.clone(),
                                    },
                                    CallFailure::Api(error),
                                ),
                                retry_after,
                            )
                        }
                    }
                }
            };
            let (attempt, call_failure) = failure;
            match self.policy.next_delay(
                &attempt,
                retries,
                &retry_after,
                SystemTime::now(),
                fastrand::f64(),
            ) {
                Some(delay) => {
                    retries += 1;
                    eprintln!(
                        "confab: {}; retry {retries} in {:.1}s",
                        call_failure.message(),
                        delay.as_secs_f64()
                    );
                    std::thread::sleep(delay);
                }
                None => {
                    return EmbedOutcome {
                        result: Err(call_failure),
                        retries,
                        status,
                        latency: started.elapsed(),
                    }
                }
            }
        }
    }
}

/// Finds the API key: the environment variable (`api_key_env`), else the
/// key command, else a key in the file; none at all is fine for local
/// servers that need none.
fn resolve_api_key(
    name: &str,
    provider: &ProviderConfig,
    env: &dyn Environment,
) -> Result<Option<String>, ClientError> {
    if let Some(command) = provider.api_key_cmd.as_ref().filter(|c| !c.is_empty()) {
        let output = std::process::Command::new(&command[0])
            .args(&command[1..])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|err| ClientError::KeyCommand {
                provider: name.to_string(),
                message: err.to_string(),
            })?;
        if !output.status.success() {
            return Err(ClientError::KeyCommand {
                provider: name.to_string(),
                message: format!("it exited with {}", output.status),
            });
        }
        let key = String::from_utf8_lossy(&output.stdout).trim().to_string();
        return Ok(Some(key).filter(|k| !k.is_empty()));
    }
    if let Some(variable) = provider.api_key_env.as_ref().filter(|v| !v.is_empty()) {
        return match env.var(variable) {
            Some(key) => Ok(Some(key)),
            None => Err(ClientError::MissingKey {
                variable: variable.clone(),
                provider: name.to_string(),
            }),
        };
    }
    Ok(provider.api_key.clone())
}

/// The request, sent (and re-sent) on its own thread.
struct Worker {
    kind: ProviderKind,
    url: String,
    api_key: Option<String>,
    agent: ureq::Agent,
    policy: RetryPolicy,
    body: Vec<u8>,
    stream: bool,
    sender: mpsc::Sender<WorkerMessage>,
}

/// One attempt's failure, with what is needed to decide on a retry.
struct FailedAttempt {
    failure: AttemptFailure,
    call_failure: CallFailure,
    retry_after: RetryAfterHeaders,
}

impl Worker {
    fn run(self) {
        let mut result = WorkerResult::default();
        let mut retries = 0;
        loop {
            match self.attempt(&mut result) {
                Ok(()) => break,
                Err(failed) => {
                    if matches!(failed.failure, AttemptFailure::AfterOutput) {
                        result.end = Some(CallEnd::Broken(failed.call_failure.message()));
                        break;
                    }
                    let delay = self.policy.next_delay(
                        &failed.failure,
                        retries,
                        &failed.retry_after,
                        SystemTime::now(),
                        fastrand::f64(),
                    );
                    match delay {
                        Some(delay) => {
                            retries += 1;
                            let _ = self.sender.send(WorkerMessage::Retrying {
                                retry: retries,
                                delay,
                                reason: failed.call_failure.message(),
                            });
                            std::thread::sleep(delay);
                        }
                        None => {
                            result.end = Some(CallEnd::Failed(failed.call_failure));
                            break;
                        }
                    }
                }
            }
        }
        result.retries = retries;
        let _ = self.sender.send(WorkerMessage::Finished(Box::new(result)));
    }

    fn attempt(&self, result: &mut WorkerResult) -> Result<(), Box<FailedAttempt>> {
        let mut request = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json");
        if self.stream {
            // A compressed stream may be held back by the compressor until
            // a block fills, so a stream is asked for uncompressed.
            request = request
                .header("accept", "text/event-stream")
                .header("accept-encoding", "identity");
        }
        for (name, value) in auth_headers(self.kind, self.api_key.as_deref()) {
            request = request.header(name, &value);
        }
        let response = request
            .send(&self.body[..])
            .map_err(|err| transport_failure(&err.to_string()))?;
        let status = response.status().as_u16();
        result.status = Some(status);
        let (retry_after, should_retry_header) = retry_headers(&response);
        // A chunked or sized body that ends has ended on purpose: the
        // server finished it (a close-delimited one may have been cut).
        let framed = ["transfer-encoding", "content-length"]
            .iter()
            .any(|name| response.headers().contains_key(*name));
        let shape =
            check_response(&response, self.stream).map_err(|failure| refused(status, failure))?;
        let mut body = response.into_body();
        if !(200..300).contains(&status) {
            let text = body
                .with_config()
                .limit(ERROR_BODY_LIMIT)
                .read_to_string()
                .unwrap_or_default();
            let error = match self.kind {
                ProviderKind::Openai => openai::parse_error_body(status, &text),
                ProviderKind::Anthropic => anthropic::parse_error_body(status, &text),
            };
            return Err(Box::new(FailedAttempt {
                failure: AttemptFailure::Status {
                    status,
                    should_retry_header,
                    error_code: error.code.clone(),
                },
                call_failure: CallFailure::Api(error),
                retry_after,
            }));
        }
        if shape == BodyShape::EventStream {
            return self.read_stream(&mut body.into_reader(), framed, result);
        }
        let text = body
            .with_config()
            .limit(WHOLE_BODY_LIMIT)
            .read_to_string()
            .map_err(|err| transport_failure(&err.to_string()))?;
        let events = match self.kind {
            ProviderKind::Openai => openai::parse_chunk(&text).map_err(CallFailure::from),
            ProviderKind::Anthropic => anthropic::parse_response(&text).map_err(CallFailure::from),
        };
        let events = events.map_err(|failure| refused(status, failure))?;
        let mut output = false;
        for event in events {
            self.apply(event, result, &mut output);
        }
        Ok(())
    }

    /// Reads an SSE body to its end, applying each event.
    fn read_stream(
        &self,
        reader: &mut impl Read,
        framed: bool,
        result: &mut WorkerResult,
    ) -> Result<(), Box<FailedAttempt>> {
        let mut any_event = false;
        let mut decoder = SseDecoder::new();
        let mut anthropic_state = anthropic::StreamState::default();
        let mut buffer = vec![0u8; 16 * 1024];
        let mut events: Vec<SseEvent> = Vec::new();
        let mut output = false;
        let mut done = false;
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(read) => read,
                Err(err) => {
                    let message = format!("the connection broke mid-stream: {err}");
                    return Err(if output {
                        after_output(&message)
                    } else {
                        transport_failure(&message)
                    });
                }
            };
            if read == 0 {
                decoder.finish(&mut events);
            } else {
                decoder.feed(&buffer[..read], &mut events);
            }
            for event in events.drain(..) {
                any_event = true;
                let parsed = match self.kind {
                    ProviderKind::Openai => {
                        openai::parse_chunk(&event.data).map_err(CallFailure::from)
                    }
                    ProviderKind::Anthropic => {
                        anthropic::parse_event(&event.event, &event.data, &mut anthropic_state)
                            .map_err(CallFailure::from)
                    }
                };
                let parsed = parsed.map_err(|failure| {
                    if output {
                        after_output(&failure.message())
                    } else {
                        Box::new(FailedAttempt {
                            // An error inside a 200 stream is the server's
                            // answer, not a transport hiccup: not retried,
                            // unless it says it is overloaded.
                            failure: AttemptFailure::Status {
                                status: 200,
                                should_retry_header: Some(is_overload(&failure)),
                                error_code: None,
                            },
                            call_failure: failure,
                            retry_after: RetryAfterHeaders::default(),
                        })
                    }
                })?;
                for chat_event in parsed {
                    if chat_event == ChatEvent::Done {
                        done = true;
                    }
                    self.apply(chat_event, result, &mut output);
                }
            }
            if done || read == 0 {
                break;
            }
        }
        if !done && result.finish_reason.is_none() && !any_event && framed {
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
        if !done && result.finish_reason.is_none() {
            let message = "the stream ended before the reply was complete".to_string();
            return Err(if output {
                after_output(&message)
            } else {
                transport_failure(&message)
            });
        }
        Ok(())
    }

    fn apply(&self, event: ChatEvent, result: &mut WorkerResult, output: &mut bool) {
        match event {
            ChatEvent::Model(model) => result.model_reported = Some(model),
            ChatEvent::TextDelta(text) => {
                *output = true;
                let _ = self.sender.send(WorkerMessage::Text(text));
            }
            ChatEvent::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => {
                *output = true;
                // Fragments join by index: id and name come once, the
                // arguments in pieces (or whole, as Ollama sends them).
                let call = result.tool_calls.entry(index).or_default();
                if id.is_some() {
                    call.id = id;
                }
                if let Some(name) = name {
                    call.name = name;
                }
                call.arguments.push_str(&arguments);
            }
            ChatEvent::Finish(reason) => result.finish_reason = Some(reason),
            ChatEvent::Usage(usage) => result.usage = Some(usage),
            ChatEvent::Done => {}
        }
    }
}

/// The headers that authenticate a request in `kind`'s wire format:
/// `Authorization: Bearer` for OpenAI-style APIs (none without a key, as
/// local servers want), `anthropic-version` and `x-api-key` for Anthropic.
pub fn auth_headers(kind: ProviderKind, api_key: Option<&str>) -> Vec<(&'static str, String)> {
    match (kind, api_key) {
        (ProviderKind::Openai, Some(key)) => vec![("authorization", format!("Bearer {key}"))],
        (ProviderKind::Openai, None) => Vec::new(),
        (ProviderKind::Anthropic, key) => {
            let mut headers = vec![("anthropic-version", ANTHROPIC_VERSION.to_string())];
            headers.extend(key.map(|key| ("x-api-key", key.to_string())));
            headers
        }
    }
}

/// The headers that steer retries: `retry-after-ms` / `retry-after`, and
/// `x-should-retry` (which overrides the status rules).
fn retry_headers(response: &ureq::http::Response<ureq::Body>) -> (RetryAfterHeaders, Option<bool>) {
    let header = |name: &str| {
        response
            .headers()
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

    #[test]
    fn auth_headers_follow_each_wire_format() {
        assert_eq!(
            auth_headers(ProviderKind::Openai, Some("k")),
            [("authorization", "Bearer k".to_string())]
        );
        assert!(auth_headers(ProviderKind::Openai, None).is_empty());
        assert_eq!(
            auth_headers(ProviderKind::Anthropic, Some("k")),
            [
                ("anthropic-version", ANTHROPIC_VERSION.to_string()),
                ("x-api-key", "k".to_string())
            ]
        );
    }
}
