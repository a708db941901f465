//! The batch endpoints of the fake provider, as strict as the real APIs.
//!
//! OpenAI: `POST /v1/files` (multipart/form-data with `purpose=batch` and a
//! `file` part holding JSONL lines `{custom_id, method: "POST", url, body}`,
//! each checked), `POST /v1/batches` (`input_file_id` of an uploaded file,
//! an allowed `endpoint` that every line's `url` matches, `completion_window:
//! "24h"`), `GET /v1/batches/{id}` (`validating` → `in_progress` →
//! `completed`, or `cancelling` → `cancelled`), `POST /v1/batches/{id}/cancel`,
//! and `GET /v1/files/{id}/content` (the output and error files, which exist
//! only once the batch has ended). All with `Authorization: Bearer KEY`.
//!
//! Anthropic: `POST /v1/messages/batches` (`requests: [{custom_id, params}]`,
//! ids unique and `^[a-zA-Z0-9_-]{1,64}$`, params with `model`, `max_tokens`
//! and `messages`, never `stream: true`), `GET /v1/messages/batches/{id}`
//! (`in_progress` → `ended`; `results_url` only once ended, and pointing at a
//! host that does not exist so that a client following it fails), `POST
//! …/cancel`, `GET …/{id}/results` (400 before the end). All with
//! `x-api-key` and `anthropic-version`.
//!
//! Results come back in the reverse of the input order. Each request
//! succeeds with a reply naming its `custom_id` and default usage, unless
//! [`Batches::script`] says otherwise. A batch ends after
//! [`Batches::polls_before_end`] status polls (default 1).

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};

use super::fake_provider::{RecordedRequest, Reply};

/// The endpoints an OpenAI batch may target.
const OPENAI_ENDPOINTS: [&str; 4] = [
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/completions",
];

/// What one request of a batch gets.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A reply with this text and usage.
    Reply {
        /// The text.
        text: String,
        /// Uncached input tokens (Anthropic `input_tokens`; OpenAI adds
        /// the cached ones to `prompt_tokens`).
        input: u64,
        /// Cache-read tokens.
        cached: u64,
        /// Cache-write tokens (Anthropic only).
        cache_write: u64,
        /// Output tokens.
        output: u64,
    },
    /// An HTTP error of the request (`invalid_request_error`...).
    Error {
        /// The status.
        status: u16,
        /// The error type.
        kind: String,
        /// The message.
        message: String,
    },
    /// The request expired before it ran.
    Expired,
}

/// The default usage of an unscripted reply: input, output.
pub const DEFAULT_USAGE: (u64, u64) = (100, 20);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vendor {
    OpenAi,
    Anthropic,
}

struct FakeBatch {
    vendor: Vendor,
    /// `custom_id` and request body, in input order.
    requests: Vec<(String, Value)>,
    polls: u32,
    cancelled: bool,
    /// The URL check failed: OpenAI marks the batch failed.
    failed: Vec<Value>,
    ended: bool,
    input_file_id: Option<String>,
    /// The OpenAI endpoint the batch was created for.
    endpoint: String,
}

#[derive(Default)]
struct State {
    files: HashMap<String, String>,
    batches: HashMap<String, FakeBatch>,
    scripted: HashMap<String, Outcome>,
    polls_before_end: u32,
    requests: Vec<RecordedRequest>,
    next: u64,
}

/// The batch state of one fake provider.
pub struct Batches {
    state: Mutex<State>,
}

impl Default for Batches {
    fn default() -> Batches {
        Batches {
            state: Mutex::new(State {
                polls_before_end: 1,
                ..State::default()
            }),
        }
    }
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::raw(
        status,
        &[("content-type", "application/json")],
        &[&body.to_string()],
    )
}

fn openai_error(status: u16, message: &str) -> Reply {
    Reply::openai_error(status, "invalid_request_error", message)
}

fn anthropic_error(status: u16, message: &str) -> Reply {
    Reply::anthropic_error(status, "invalid_request_error", message)
}

impl Batches {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many status polls a batch answers `in_progress` before it ends.
    pub fn polls_before_end(&self, polls: u32) {
        self.lock().polls_before_end = polls;
    }

    /// What the request `custom_id` gets (in every batch).
    pub fn script(&self, custom_id: &str, outcome: Outcome) {
        self.lock().scripted.insert(custom_id.to_string(), outcome);
    }

    /// Every request to a batch route, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The bodies (`params` / `body`) of batch `id`'s requests, in input order.
    pub fn bodies(&self, id: &str) -> Vec<(String, Value)> {
        self.lock()
            .batches
            .get(id)
            .map(|b| b.requests.clone())
            .unwrap_or_default()
    }

    /// The ids of the batches created.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().batches.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The answer to `request` if it goes to a batch route, else `None`.
    pub fn answer(&self, request: &RecordedRequest) -> Option<Reply> {
        let path = request.path.split('?').next().unwrap_or(&request.path);
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method.as_str();
        let route = match (method, parts.as_slice()) {
            ("POST", ["v1", "files"]) => Route::Upload,
            ("GET", ["v1", "files", id, "content"]) => Route::FileContent(id.to_string()),
            ("POST", ["v1", "batches"]) => Route::OpenAiCreate,
            ("GET", ["v1", "batches", id]) => Route::Poll(id.to_string(), Vendor::OpenAi),
            ("POST", ["v1", "batches", id, "cancel"]) => {
                Route::Cancel(id.to_string(), Vendor::OpenAi)
            }
            ("POST", ["v1", "messages", "batches"]) => Route::AnthropicCreate,
            ("GET", ["v1", "messages", "batches", id]) => {
                Route::Poll(id.to_string(), Vendor::Anthropic)
            }
            ("POST", ["v1", "messages", "batches", id, "cancel"]) => {
                Route::Cancel(id.to_string(), Vendor::Anthropic)
            }
            ("GET", ["v1", "messages", "batches", id, "results"]) => Route::Results(id.to_string()),
            _ => return None,
        };
        let mut state = self.lock();
        state.requests.push(request.clone());
        let vendor = route.vendor();
        if let Some(refused) = refuse_auth(vendor, request) {
            return Some(refused);
        }
        Some(match route {
            Route::Upload => state.upload(request),
            Route::FileContent(id) => state.file_content(&id),
            Route::OpenAiCreate => state.openai_create(request),
            Route::AnthropicCreate => state.anthropic_create(request),
            Route::Poll(id, vendor) => state.poll(&id, vendor),
            Route::Cancel(id, vendor) => state.cancel(&id, vendor),
            Route::Results(id) => state.anthropic_results(&id),
        })
    }
}

enum Route {
    Upload,
    FileContent(String),
    OpenAiCreate,
    AnthropicCreate,
    Poll(String, Vendor),
    Cancel(String, Vendor),
    Results(String),
}

impl Route {
    fn vendor(&self) -> Vendor {
        match self {
            Route::Upload | Route::FileContent(_) | Route::OpenAiCreate => Vendor::OpenAi,
            Route::AnthropicCreate | Route::Results(_) => Vendor::Anthropic,
            Route::Poll(_, v) | Route::Cancel(_, v) => *v,
        }
    }
}

fn refuse_auth(vendor: Vendor, request: &RecordedRequest) -> Option<Reply> {
    let bearer = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|k| !k.trim().is_empty());
    match vendor {
        Vendor::OpenAi if bearer.is_none() => Some(Reply::openai_error(
            401,
            "invalid_request_error",
            "You didn't provide an API key.",
        )),
        Vendor::Anthropic if request.header("x-api-key").is_none_or(str::is_empty) => Some(
            Reply::anthropic_error(401, "authentication_error", "x-api-key header is required"),
        ),
        Vendor::Anthropic if request.header("anthropic-version").is_none() => Some(
            anthropic_error(400, "anthropic-version: header is required"),
        ),
        _ => None,
    }
}

/// The fields of a multipart/form-data body: name -> (filename, content).
fn multipart_fields(
    request: &RecordedRequest,
) -> Result<HashMap<String, (Option<String>, String)>, String> {
    let content_type = request.header("content-type").unwrap_or_default();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .ok_or("the body must be multipart/form-data with a boundary")?;
    let delimiter = format!("--{boundary}");
    let body = request.body.as_str();
    if !body.trim_end().ends_with(&format!("{delimiter}--")) {
        return Err("the multipart body does not end with its closing boundary".into());
    }
    let mut fields = HashMap::new();
    for part in body.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part
            .strip_prefix("\r\n")
            .ok_or("a part does not start with CRLF")?;
        let (head, content) = part.split_once("\r\n\r\n").ok_or("a part has no headers")?;
        let content = content
            .strip_suffix("\r\n")
            .ok_or("a part does not end with CRLF")?;
        let disposition = head
            .lines()
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with("content-disposition: form-data")
            })
            .ok_or("a part has no Content-Disposition: form-data")?;
        let param = |key: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(&format!("{key}=\"")))
                .map(|v| v.trim_end_matches('"').to_string())
        };
        let name = param("name").ok_or("a part has no name")?;
        fields.insert(name, (param("filename"), content.to_string()));
    }
    Ok(fields)
}

/// Checks an uploaded batch file; the error names the line.
fn check_input_file(text: &str) -> Result<usize, String> {
    let mut ids = HashSet::new();
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        let at = i + 1;
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("line {at}: not JSON: {e}"))?;
        let id = value["custom_id"]
            .as_str()
            .ok_or(format!("line {at}: no custom_id"))?;
        if !ids.insert(id.to_string()) {
            return Err(format!("line {at}: duplicate custom_id {id}"));
        }
        if value["method"] != "POST" {
            return Err(format!("line {at}: method must be POST"));
        }
        if !value["url"].is_string() || !value["body"].is_object() {
            return Err(format!("line {at}: url and body are required"));
        }
        let body = &value["body"];
        // A Responses body has `input`; a chat completion's `messages`.
        let list = if value["url"] == "/v1/responses" {
            if body.get("messages").is_some() {
                return Err(format!("line {at}: Unsupported parameter: 'messages'"));
            }
            "input"
        } else {
            "messages"
        };
        if !body["model"].is_string() || body[list].as_array().is_none_or(Vec::is_empty) {
            return Err(format!("line {at}: body needs model and {list}"));
        }
        if body["stream"] == true {
            return Err(format!("line {at}: streaming is not supported in batches"));
        }
        count += 1;
    }
    if count == 0 {
        return Err("the file is empty".into());
    }
    Ok(count)
}

fn valid_custom_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl State {
    fn next_id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:04}", self.next)
    }

    fn upload(&mut self, request: &RecordedRequest) -> Reply {
        let fields = match multipart_fields(request) {
            Ok(fields) => fields,
            Err(why) => return openai_error(400, &why),
        };
        if fields.get("purpose").map(|(_, v)| v.as_str()) != Some("batch") {
            return openai_error(400, "purpose must be batch");
        }
        let Some((Some(filename), content)) = fields.get("file").cloned() else {
            return openai_error(400, "a file part with a filename is required");
        };
        if let Err(why) = check_input_file(&content) {
            return openai_error(400, &format!("invalid batch file: {why}"));
        }
        let id = self.next_id("file-fake");
        let object = json!({"id": id, "object": "file", "bytes": content.len(), "created_at": 1_700_000_000, "filename": filename, "purpose": "batch"});
        self.files.insert(id, content);
        json_reply(200, &object)
    }

    fn openai_create(&mut self, request: &RecordedRequest) -> Reply {
        let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
            return openai_error(400, "the body must be JSON");
        };
        let endpoint = body["endpoint"].as_str().unwrap_or_default();
        if !OPENAI_ENDPOINTS.contains(&endpoint) {
            return openai_error(400, &format!("endpoint {endpoint:?} is not supported"));
        }
        if body["completion_window"] != "24h" {
            return openai_error(400, "completion_window must be 24h");
        }
        let file_id = body["input_file_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(file) = self.files.get(&file_id).cloned() else {
            return openai_error(404, &format!("No such File object: {file_id}"));
        };
        let mut requests = Vec::new();
        let mut failed = Vec::new();
        for (i, line) in file.lines().enumerate() {
            let value: Value = serde_json::from_str(line).unwrap_or_default();
            if value["url"] != endpoint {
                failed.push(json!({"code": "mismatched_url", "message": format!("url {} does not match the endpoint {endpoint}", value["url"]), "line": i + 1}));
            }
            let id = value["custom_id"].as_str().unwrap_or_default().to_string();
            requests.push((id, value["body"].clone()));
        }
        let id = self.next_id("batch_fake");
        self.batches.insert(
            id.clone(),
            FakeBatch {
                vendor: Vendor::OpenAi,
                requests,
                polls: 0,
                cancelled: false,
                failed,
                ended: false,
                input_file_id: Some(file_id),
                endpoint: endpoint.to_string(),
            },
        );
        json_reply(200, &self.openai_object(&id, "validating"))
    }

    fn anthropic_create(&mut self, request: &RecordedRequest) -> Reply {
        let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
            return anthropic_error(400, "the body must be JSON");
        };
        let Some(list) = body["requests"].as_array().filter(|l| !l.is_empty()) else {
            return anthropic_error(400, "requests: at least one request is required");
        };
        let mut ids = HashSet::new();
        let mut requests = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            let id = entry["custom_id"].as_str().unwrap_or_default();
            if !valid_custom_id(id) || !ids.insert(id.to_string()) {
                return anthropic_error(
                    400,
                    &format!("requests.{i}.custom_id: invalid or duplicate"),
                );
            }
            let params = &entry["params"];
            let ok = params["model"].is_string()
                && params["max_tokens"].as_u64().is_some_and(|n| n >= 1)
                && params["messages"].as_array().is_some_and(|m| !m.is_empty())
                && params["stream"] != true;
            if !ok {
                return anthropic_error(400, &format!("requests.{i}.params: model, max_tokens >= 1 and messages are required; stream is not allowed"));
            }
            requests.push((id.to_string(), params.clone()));
        }
        let id = self.next_id("msgbatch_fake");
        self.batches.insert(
            id.clone(),
            FakeBatch {
                vendor: Vendor::Anthropic,
                requests,
                polls: 0,
                cancelled: false,
                failed: Vec::new(),
                ended: false,
                input_file_id: None,
                endpoint: String::new(),
            },
        );
        json_reply(200, &self.anthropic_object(&id))
    }

    fn poll(&mut self, id: &str, vendor: Vendor) -> Reply {
        let polls_before_end = self.polls_before_end;
        let Some(batch) = self.batches.get_mut(id).filter(|b| b.vendor == vendor) else {
            return match vendor {
                Vendor::OpenAi => openai_error(404, &format!("No batch found with id '{id}'")),
                Vendor::Anthropic => {
                    Reply::anthropic_error(404, "not_found_error", "batch not found")
                }
            };
        };
        batch.polls += 1;
        if batch.polls > polls_before_end || batch.cancelled || !batch.failed.is_empty() {
            batch.ended = true;
        }
        match vendor {
            Vendor::OpenAi => {
                let status = match (batch.ended, batch.cancelled, batch.failed.is_empty()) {
                    (true, _, false) => "failed",
                    (true, true, _) => "cancelled",
                    (true, false, _) => "completed",
                    (false, _, _) => "in_progress",
                };
                json_reply(200, &self.openai_object(id, status))
            }
            Vendor::Anthropic => json_reply(200, &self.anthropic_object(id)),
        }
    }

    fn cancel(&mut self, id: &str, vendor: Vendor) -> Reply {
        let Some(batch) = self.batches.get_mut(id).filter(|b| b.vendor == vendor) else {
            return openai_error(404, "no such batch");
        };
        if !batch.ended {
            batch.cancelled = true;
        }
        match vendor {
            Vendor::OpenAi => json_reply(200, &self.openai_object(id, "cancelling")),
            Vendor::Anthropic => {
                let mut object = self.anthropic_object(id);
                if object["processing_status"] == "in_progress" {
                    object["processing_status"] = "canceling".into();
                }
                json_reply(200, &object)
            }
        }
    }

    /// The outcome of each request once the batch ended, in input order.
    fn outcomes(&self, id: &str) -> Vec<(String, Value, Outcome)> {
        let batch = &self.batches[id];
        batch
            .requests
            .iter()
            .map(|(custom_id, body)| {
                let outcome = match (batch.cancelled, self.scripted.get(custom_id)) {
                    (true, _) => Outcome::Expired,
                    (false, Some(outcome)) => outcome.clone(),
                    (false, None) => Outcome::Reply {
                        text: format!("reply to {custom_id}"),
                        input: DEFAULT_USAGE.0,
                        cached: 0,
                        cache_write: 0,
                        output: DEFAULT_USAGE.1,
                    },
                };
                (custom_id.clone(), body.clone(), outcome)
            })
            .collect()
    }

    fn openai_object(&self, id: &str, status: &str) -> Value {
        let batch = &self.batches[id];
        let total = batch.requests.len();
        let mut object = json!({
            "id": id, "object": "batch", "endpoint": batch.endpoint,
            "input_file_id": batch.input_file_id, "completion_window": "24h", "status": status,
            "created_at": 1_700_000_000, "output_file_id": null, "error_file_id": null,
            "request_counts": {"total": total, "completed": 0, "failed": 0},
        });
        if !batch.failed.is_empty() && batch.ended {
            object["errors"] = json!({"object": "list", "data": batch.failed});
            object["request_counts"]["total"] = 0.into();
            return object;
        }
        if batch.ended && status != "cancelling" {
            let outcomes = self.outcomes(id);
            let done = outcomes
                .iter()
                .filter(|(_, _, o)| matches!(o, Outcome::Reply { .. }))
                .count();
            let failed = outcomes
                .iter()
                .filter(|(_, _, o)| matches!(o, Outcome::Error { .. }))
                .count();
            object["request_counts"] = json!({"total": total, "completed": done, "failed": failed});
            object["output_file_id"] = format!("file-out-{id}").into();
            object["error_file_id"] = format!("file-err-{id}").into();
        }
        object
    }

    fn anthropic_object(&self, id: &str) -> Value {
        let batch = &self.batches[id];
        let mut counts = json!({"processing": batch.requests.len(), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0});
        let status = if batch.ended { "ended" } else { "in_progress" };
        let mut results_url = Value::Null;
        if batch.ended {
            let outcomes = self.outcomes(id);
            let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|(_, _, o)| f(o)).count();
            counts = json!({
                "processing": 0,
                "succeeded": count(|o| matches!(o, Outcome::Reply { .. })),
                "errored": count(|o| matches!(o, Outcome::Error { .. })),
                "canceled": if batch.cancelled { outcomes.len() } else { 0 },
                "expired": if batch.cancelled { 0 } else { count(|o| matches!(o, Outcome::Expired)) },
            });
            results_url =
                format!("https://results.invalid/v1/messages/batches/{id}/results").into();
        }
        json!({
            "id": id, "type": "message_batch", "processing_status": status,
            "request_counts": counts, "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-02T00:00:00Z", "results_url": results_url,
        })
    }

    fn file_content(&self, file_id: &str) -> Reply {
        let found = self.batches.iter().find_map(|(id, b)| {
            let output = format!("file-out-{id}") == file_id;
            let errors = format!("file-err-{id}") == file_id;
            (b.ended && (output || errors)).then(|| (id.clone(), output))
        });
        let Some((id, output)) = found else {
            return openai_error(404, &format!("No such File object: {file_id}"));
        };
        let mut lines: Vec<String> = self
            .outcomes(&id)
            .into_iter()
            .filter(|(_, _, o)| matches!(o, Outcome::Reply { .. }) == output)
            .filter(|(_, _, o)| !matches!(o, Outcome::Expired))
            .map(|(custom_id, body, outcome)| {
                openai_line(&custom_id, &body, &outcome, &self.batches[&id].endpoint).to_string()
            })
            .collect();
        lines.reverse();
        let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        Reply::raw(
            200,
            &[("content-type", "application/octet-stream")],
            &[&text],
        )
    }

    fn anthropic_results(&self, id: &str) -> Reply {
        let Some(batch) = self
            .batches
            .get(id)
            .filter(|b| b.vendor == Vendor::Anthropic)
        else {
            return Reply::anthropic_error(404, "not_found_error", "batch not found");
        };
        if !batch.ended {
            return anthropic_error(
                400,
                &format!("batch {id} is still processing; results are available once it has ended"),
            );
        }
        let mut lines: Vec<String> = self
            .outcomes(id)
            .into_iter()
            .map(|(custom_id, body, outcome)| {
                anthropic_line(&custom_id, &body, &outcome, batch.cancelled).to_string()
            })
            .collect();
        lines.reverse();
        let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        Reply::raw(200, &[("content-type", "application/binary")], &[&text])
    }
}

fn openai_line(custom_id: &str, body: &Value, outcome: &Outcome, endpoint: &str) -> Value {
    let response = match outcome {
        Outcome::Reply {
            text,
            input,
            cached,
            output,
            ..
        } if endpoint == "/v1/responses" => json!({
            "status_code": 200, "request_id": format!("req_{custom_id}"),
            "body": {
                "id": format!("resp_{custom_id}"), "object": "response", "status": "completed",
                "model": format!("{}-2025-04-16", body["model"].as_str().unwrap_or("m")),
                "output": [
                    {"type": "reasoning", "id": format!("rs_{custom_id}"), "summary": []},
                    {"type": "message", "role": "assistant", "content": [
                        {"type": "output_text", "text": text, "annotations": []}]}],
                "usage": {"input_tokens": input + cached, "output_tokens": output,
                          "input_tokens_details": {"cached_tokens": cached},
                          "output_tokens_details": {"reasoning_tokens": output / 2},
                          "total_tokens": input + cached + output},
            }
        }),
        Outcome::Reply {
            text,
            input,
            cached,
            output,
            ..
        } => json!({
            "status_code": 200, "request_id": format!("req_{custom_id}"),
            "body": {
                "id": format!("chatcmpl-{custom_id}"), "object": "chat.completion",
                "created": 1_700_000_000, "model": format!("{}-2024-07-18", body["model"].as_str().unwrap_or("m")),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": input + cached, "completion_tokens": output,
                          "total_tokens": input + cached + output,
                          "prompt_tokens_details": {"cached_tokens": cached}},
            }
        }),
        Outcome::Error {
            status,
            kind,
            message,
        } => json!({
            "status_code": status, "request_id": format!("req_{custom_id}"),
            "body": {"error": {"message": message, "type": kind, "param": null, "code": null}},
        }),
        Outcome::Expired => Value::Null,
    };
    json!({"id": format!("batch_req_{custom_id}"), "custom_id": custom_id, "response": response, "error": null})
}

fn anthropic_line(custom_id: &str, body: &Value, outcome: &Outcome, cancelled: bool) -> Value {
    let result = match outcome {
        Outcome::Reply {
            text,
            input,
            cached,
            cache_write,
            output,
        } => json!({
            "type": "succeeded",
            "message": {
                "id": format!("msg_{custom_id}"), "type": "message", "role": "assistant",
                "model": body["model"], "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": input, "output_tokens": output,
                          "cache_read_input_tokens": cached, "cache_creation_input_tokens": cache_write},
            }
        }),
        Outcome::Error { kind, message, .. } => json!({
            "type": "errored",
            "error": {"type": "error", "error": {"type": kind, "message": message}},
        }),
        Outcome::Expired if cancelled => json!({"type": "canceled"}),
        Outcome::Expired => json!({"type": "expired"}),
    };
    json!({"custom_id": custom_id, "result": result})
}
