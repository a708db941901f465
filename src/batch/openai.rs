//! OpenAI's Batch API: the requests uploaded as a JSONL file (`POST
//! /v1/files`, multipart, `purpose=batch`), a batch created from it
//! (`POST /v1/batches`, `completion_window: 24h`, the endpoint the chat
//! wire format posts to), polled (`GET /v1/batches/{id}`), canceled, and
//! its output and error files downloaded (`GET /v1/files/{id}/content`).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::batch::request::Prepared;
use crate::batch::{
    checked_id, parse_answer, parse_lines, BatchApi, BatchError, Counts, ItemResult, Remote,
    RemoteBatch, Reply, Submitted,
};
use crate::llm::client::ApiBody;
use crate::llm::provider::ProviderKind;
use crate::llm::wire::{self, WireFormat};

/// OpenAI's Batch API.
pub struct OpenAiBatches;

/// The chat wire format a batch of `model` carries, as chat would speak
/// to it: the Responses API for reasoning models (and on a Responses
/// provider), Chat Completions for the others.
pub fn chat_wire(kind: ProviderKind, model: &str) -> &'static dyn WireFormat {
    // Batches go to OpenAI's own API: the format its provider would speak.
    let provider = crate::llm::provider::ProviderConfig::new(kind);
    wire::for_model("openai", &provider, model)
}

/// The `url` of each line and the batch's `endpoint`: the chat path
/// under `/v1`.
pub fn endpoint(wire: &dyn WireFormat) -> String {
    format!("/v1/{}", wire.chat_path())
}

/// The JSONL file of `requests` in `wire`'s format, one `{custom_id,
/// method, url, body}` a line.
pub fn input_file(requests: &[Prepared], wire: &dyn WireFormat) -> Result<Vec<u8>, BatchError> {
    let url = endpoint(wire);
    let mut out = Vec::new();
    for prepared in requests {
        let body: Value = serde_json::from_slice(&wire.chat_body(&prepared.request))
            .map_err(|e| BatchError::Usage(format!("building request {}: {e}", prepared.id)))?;
        let line = json!({"custom_id": prepared.id, "method": "POST", "url": url, "body": body});
        serde_json::to_writer(&mut out, &line).map_err(|e| BatchError::Usage(e.to_string()))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// A `multipart/form-data` body with `purpose=batch` and `file`.
pub fn multipart(file: &[u8], file_name: &str) -> ApiBody {
    let mut boundary = format!("confab-{:016x}", fastrand::u64(..));
    while memchr::memmem::find(file, boundary.as_bytes()).is_some() {
        boundary = format!("confab-{:016x}", fastrand::u64(..));
    }
    let mut bytes = Vec::with_capacity(file.len() + 512);
    bytes.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/jsonl\r\n\r\n"
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(file);
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    ApiBody {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        bytes,
    }
}

#[derive(Deserialize)]
struct FileObject {
    id: String,
}

#[derive(Deserialize)]
struct BatchObject {
    id: String,
    status: String,
    #[serde(default)]
    request_counts: Option<WireCounts>,
    #[serde(default)]
    output_file_id: Option<String>,
    #[serde(default)]
    error_file_id: Option<String>,
    #[serde(default)]
    errors: Option<WireErrors>,
}

#[derive(Deserialize)]
struct WireCounts {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    completed: u64,
    #[serde(default)]
    failed: u64,
}

#[derive(Deserialize)]
struct WireErrors {
    #[serde(default)]
    data: Vec<WireError>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    line: Option<u64>,
}

/// The batch a Batch object describes.
pub fn parse_batch(body: &str) -> Result<RemoteBatch, BatchError> {
    let object: BatchObject = parse_answer("batch", body)?;
    let ended = matches!(
        object.status.as_str(),
        "completed" | "failed" | "expired" | "cancelled"
    );
    let counts = object.request_counts.map_or(Counts::default(), |c| {
        let done = c.completed + c.failed;
        Counts {
            total: c.total,
            processing: if ended {
                0
            } else {
                c.total.saturating_sub(done)
            },
            succeeded: c.completed,
            errored: c.failed,
            canceled: if ended {
                c.total.saturating_sub(done)
            } else {
                0
            },
        }
    });
    let results = [object.output_file_id, object.error_file_id]
        .into_iter()
        .flatten()
        .map(checked_id)
        .collect::<Result<Vec<_>, _>>()?;
    let errors = object
        .errors
        .map(|e| e.data)
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
            let code = e.code.unwrap_or_default();
            format!("{at}{code}: {}", e.message.unwrap_or_default())
        })
        .collect();
    Ok(RemoteBatch {
        id: checked_id(object.id)?,
        status: object.status,
        ended,
        counts,
        results,
        errors,
    })
}

#[derive(Deserialize)]
struct OutputLine {
    custom_id: String,
    #[serde(default)]
    response: Option<OutputResponse>,
    #[serde(default)]
    error: Option<OutputError>,
}

#[derive(Deserialize)]
struct OutputResponse {
    status_code: u16,
    body: Value,
}

#[derive(Deserialize)]
struct OutputError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The results in an output or error file, by `custom_id`.
pub fn parse_results(text: &str) -> Result<Vec<(String, ItemResult)>, BatchError> {
    let mut results = Vec::new();
    for parsed in parse_lines::<OutputLine>(text)? {
        // Each body says which API answered it.
        let responses = parsed
            .response
            .as_ref()
            .is_some_and(|r| r.body["object"] == "response");
        let wire = wire::for_kind(if responses {
            ProviderKind::OpenaiResponses
        } else {
            ProviderKind::Openai
        });
        let result = match (parsed.response, parsed.error) {
            (Some(response), _) if response.status_code == 200 => {
                match Reply::parse(wire, &response.body.to_string()) {
                    Ok(reply) => ItemResult::Reply(reply),
                    Err(message) => failed("malformed_reply", message),
                }
            }
            (Some(response), _) => {
                let error = wire.parse_error(response.status_code, &response.body.to_string());
                let kind = error.kind.clone().or(error.code.clone());
                failed(&kind.unwrap_or_else(|| "error".into()), error.to_string())
            }
            (None, Some(error)) => failed(
                error.code.as_deref().unwrap_or("error"),
                error.message.unwrap_or_default(),
            ),
            (None, None) => failed(
                "error",
                "the result has neither a response nor an error".into(),
            ),
        };
        results.push((parsed.custom_id, result));
    }
    Ok(results)
}

fn failed(kind: &str, message: String) -> ItemResult {
    ItemResult::Failed {
        kind: kind.to_string(),
        message,
    }
}

impl BatchApi for OpenAiBatches {
    fn submit(&self, remote: &Remote<'_>, requests: &[Prepared]) -> Result<Submitted, BatchError> {
        let model = requests.first().map_or("", |p| p.request.model.as_str());
        let wire = chat_wire(remote.provider.kind, model);
        let file = input_file(requests, wire)?;
        let uploaded = remote.post("files", multipart(&file, "confab-batch.jsonl"))?;
        let file_id = checked_id(parse_answer::<FileObject>("file", &uploaded)?.id)?;
        let created = remote.post_json(
            "batches",
            &json!({"input_file_id": file_id, "endpoint": endpoint(wire), "completion_window": "24h"}),
        )?;
        Ok(Submitted {
            batch: parse_batch(&created)?,
            input_file_id: Some(file_id),
        })
    }

    fn status(&self, remote: &Remote<'_>, id: &str) -> Result<RemoteBatch, BatchError> {
        parse_batch(&remote.get(&format!("batches/{id}"), super::STATUS_LIMIT, false)?)
    }

    fn cancel(&self, remote: &Remote<'_>, id: &str) -> Result<RemoteBatch, BatchError> {
        parse_batch(&remote.post_json(&format!("batches/{id}/cancel"), &json!({}))?)
    }

    fn results(
        &self,
        remote: &Remote<'_>,
        batch: &RemoteBatch,
        limit: usize,
    ) -> Result<Vec<(String, ItemResult)>, BatchError> {
        let mut all = Vec::new();
        for file_id in &batch.results {
            let text = remote.get(&format!("files/{file_id}/content"), limit, true)?;
            all.extend(parse_results(&text)?);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ChatRequest, Message, Role};

    #[test]
    fn lines_carry_the_chat_body_and_endpoint() {
        let prepared = [Prepared {
            id: "a".into(),
            request: ChatRequest {
                model: "gpt-4o-mini".into(),
                messages: vec![Message::new(Role::User, "hi")],
                max_output_tokens: 9,
                ..ChatRequest::default()
            },
        }];
        let file =
            input_file(&prepared, chat_wire(ProviderKind::Openai, "gpt-4o-mini")).expect("built");
        let line: Value = serde_json::from_slice(&file[..file.len() - 1]).expect("one line");
        assert_eq!(line["url"], "/v1/chat/completions");
        assert_eq!(line["custom_id"], "a");
        assert_eq!(line["body"]["max_completion_tokens"], 9);
        assert_eq!(line["body"]["stream"], false);
        let body = multipart(&file, "f.jsonl");
        let text = String::from_utf8(body.bytes).expect("utf-8");
        let boundary = body
            .content_type
            .split("boundary=")
            .nth(1)
            .expect("boundary");
        assert!(text.contains("name=\"purpose\"\r\n\r\nbatch\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }

    #[test]
    fn reasoning_models_batch_on_the_responses_api() {
        let wire = chat_wire(ProviderKind::Openai, "o4-mini");
        assert_eq!(endpoint(wire), "/v1/responses");
        assert_eq!(
            endpoint(chat_wire(ProviderKind::OpenaiResponses, "gpt-4.1")),
            "/v1/responses"
        );
        let prepared = [Prepared {
            id: "r".into(),
            request: ChatRequest {
                model: "o4-mini".into(),
                messages: vec![Message::new(Role::User, "hi")],
                max_output_tokens: 900,
                ..ChatRequest::default()
            },
        }];
        let file = input_file(&prepared, wire).expect("built");
        let line: Value = serde_json::from_slice(&file[..file.len() - 1]).expect("one line");
        assert_eq!(line["url"], "/v1/responses");
        assert_eq!(line["body"]["max_output_tokens"], 900);
        let output = serde_json::json!({"custom_id": "r", "response": {"status_code": 200, "body": {
            "id": "resp_1", "object": "response", "model": "o4-mini", "status": "completed",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "yo"}]}],
            "usage": {"input_tokens": 3, "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 2}}}}});
        let results = parse_results(&output.to_string()).expect("parsed");
        let ItemResult::Reply(reply) = &results[0].1 else {
            panic!("{results:?}");
        };
        assert_eq!(reply.text, "yo");
        assert_eq!(reply.usage.map(|u| u.reasoning_tokens), Some(2));
    }

    #[test]
    fn reads_states_counts_and_per_line_errors() {
        let running = parse_batch(
            r#"{"id":"batch_1","status":"in_progress","request_counts":{"total":3,"completed":1,"failed":0}}"#,
        )
        .expect("valid");
        assert!(!running.ended);
        assert_eq!(running.counts.processing, 2);
        let done = parse_batch(
            r#"{"id":"batch_1","status":"completed","output_file_id":"file-o","error_file_id":"file-e","request_counts":{"total":3,"completed":2,"failed":1}}"#,
        )
        .expect("valid");
        assert!(done.ended);
        assert_eq!(done.results, ["file-o", "file-e"]);
        assert!(parse_batch(r#"{"id":"../x","status":"completed"}"#).is_err());
        let lines = parse_results(concat!(
            r#"{"id":"r1","custom_id":"b","response":{"status_code":400,"body":{"error":{"message":"bad","type":"invalid_request_error"}}},"error":null}"#,
            "\n",
            r#"{"id":"r2","custom_id":"c","response":null,"error":{"code":"batch_expired","message":"expired"}}"#,
        ))
        .expect("valid");
        assert!(
            matches!(&lines[0].1, ItemResult::Failed { kind, .. } if kind == "invalid_request_error")
        );
        assert!(matches!(&lines[1].1, ItemResult::Failed { kind, .. } if kind == "batch_expired"));
    }
}
