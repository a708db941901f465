//! Anthropic's Message Batches API: `POST /v1/messages/batches` with
//! `{requests: [{custom_id, params}]}` (each `params` the non-streaming
//! Messages body chat would send), `GET …/{id}` to poll, `POST
//! …/{id}/cancel`, and `GET …/{id}/results` (JSONL, out of order) once
//! the batch has ended and says so with a `results_url`. The results are
//! fetched from the configured API root, never from wherever
//! `results_url` points, so the key goes only to the configured host.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::batch::request::Prepared;
use crate::batch::{
    checked_id, parse_answer, parse_lines, BatchApi, BatchError, Counts, ItemResult, Remote,
    RemoteBatch, Reply, Submitted,
};
use crate::llm::provider::ProviderKind;
use crate::llm::wire::{self, WireFormat};

/// Anthropic's Message Batches API.
pub struct MessageBatches;

/// The chat wire format batches carry.
fn chat_wire() -> &'static dyn WireFormat {
    wire::for_kind(ProviderKind::Anthropic)
}

/// The batches endpoint, relative to the API version root.
fn batches_path() -> String {
    format!("{}/batches", chat_wire().chat_path())
}

/// The body that creates a batch of `requests`.
pub fn create_body(requests: &[Prepared]) -> Result<Value, BatchError> {
    let requests = requests
        .iter()
        .map(|prepared| {
            let params: Value = serde_json::from_slice(&chat_wire().chat_body(&prepared.request))
                .map_err(|e| {
                BatchError::Usage(format!("building request {}: {e}", prepared.id))
            })?;
            Ok(json!({"custom_id": prepared.id, "params": params}))
        })
        .collect::<Result<Vec<_>, BatchError>>()?;
    Ok(json!({ "requests": requests }))
}

#[derive(Deserialize)]
struct BatchObject {
    id: String,
    processing_status: String,
    #[serde(default)]
    request_counts: WireCounts,
    #[serde(default)]
    results_url: Option<String>,
}

#[derive(Default, Deserialize)]
struct WireCounts {
    #[serde(default)]
    processing: u64,
    #[serde(default)]
    succeeded: u64,
    #[serde(default)]
    errored: u64,
    #[serde(default)]
    canceled: u64,
    #[serde(default)]
    expired: u64,
}

/// The batch a `message_batch` object describes.
pub fn parse_batch(body: &str) -> Result<RemoteBatch, BatchError> {
    let object: BatchObject = parse_answer("message batch", body)?;
    let c = object.request_counts;
    let ended = object.processing_status == "ended";
    Ok(RemoteBatch {
        id: checked_id(object.id)?,
        counts: Counts {
            total: c.processing + c.succeeded + c.errored + c.canceled + c.expired,
            processing: c.processing,
            succeeded: c.succeeded,
            errored: c.errored,
            canceled: c.canceled + c.expired,
        },
        results: match (ended, object.results_url) {
            (true, Some(_)) => vec!["results".into()],
            _ => Vec::new(),
        },
        status: object.processing_status,
        ended,
        errors: Vec::new(),
    })
}

#[derive(Deserialize)]
struct ResultLine {
    custom_id: String,
    result: WireResult,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireResult {
    Succeeded { message: Value },
    Errored { error: ErrorEnvelope },
    Canceled,
    Expired,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: WireError,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The results of a results file, by `custom_id`.
pub fn parse_results(text: &str) -> Result<Vec<(String, ItemResult)>, BatchError> {
    let mut results = Vec::new();
    for parsed in parse_lines::<ResultLine>(text)? {
        let failed = |kind: &str, message: &str| ItemResult::Failed {
            kind: kind.into(),
            message: message.into(),
        };
        let result = match parsed.result {
            WireResult::Succeeded { message } => {
                match Reply::parse(chat_wire(), &message.to_string()) {
                    Ok(reply) => ItemResult::Reply(reply),
                    Err(why) => failed("malformed_reply", &why),
                }
            }
            WireResult::Errored { error } => failed(
                error.error.kind.as_deref().unwrap_or("error"),
                error.error.message.as_deref().unwrap_or(""),
            ),
            WireResult::Canceled => failed("canceled", "the batch was canceled before it ran"),
            WireResult::Expired => failed("expired", "the batch expired before it ran"),
        };
        results.push((parsed.custom_id, result));
    }
    Ok(results)
}

impl BatchApi for MessageBatches {
    fn submit(&self, remote: &Remote<'_>, requests: &[Prepared]) -> Result<Submitted, BatchError> {
        let created = remote.post_json(&batches_path(), &create_body(requests)?)?;
        Ok(Submitted {
            batch: parse_batch(&created)?,
            input_file_id: None,
        })
    }

    fn status(&self, remote: &Remote<'_>, id: &str) -> Result<RemoteBatch, BatchError> {
        let path = format!("{}/{id}", batches_path());
        parse_batch(&remote.get(&path, super::STATUS_LIMIT, false)?)
    }

    fn cancel(&self, remote: &Remote<'_>, id: &str) -> Result<RemoteBatch, BatchError> {
        parse_batch(&remote.post_json(&format!("{}/{id}/cancel", batches_path()), &json!({}))?)
    }

    fn results(
        &self,
        remote: &Remote<'_>,
        batch: &RemoteBatch,
        limit: usize,
    ) -> Result<Vec<(String, ItemResult)>, BatchError> {
        if batch.results.is_empty() {
            return Ok(Vec::new());
        }
        let path = format!("{}/{}/results", batches_path(), batch.id);
        parse_results(&remote.get(&path, limit, true)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_url_only_counts_once_ended() {
        let running = parse_batch(
            r#"{"id":"msgbatch_1","type":"message_batch","processing_status":"in_progress","request_counts":{"processing":2,"succeeded":0,"errored":0,"canceled":0,"expired":0},"results_url":null}"#,
        )
        .expect("valid");
        assert!(!running.ended && running.results.is_empty());
        assert_eq!(running.counts.total, 2);
        let ended = parse_batch(
            r#"{"id":"msgbatch_1","processing_status":"ended","request_counts":{"processing":0,"succeeded":1,"errored":1,"canceled":0,"expired":1},"results_url":"https://elsewhere.example/x"}"#,
        )
        .expect("valid");
        assert!(ended.ended);
        assert_eq!(ended.results, ["results"]);
        assert_eq!(ended.counts.canceled, 1);
    }

    #[test]
    fn reads_each_result_type() {
        let text = concat!(
            r#"{"custom_id":"a","result":{"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}}}"#,
            "\n",
            r#"{"custom_id":"b","result":{"type":"expired"}}"#,
        );
        let results = parse_results(text).expect("valid");
        assert!(
            matches!(&results[0].1, ItemResult::Failed { kind, message } if kind == "invalid_request_error" && message == "bad")
        );
        assert!(matches!(&results[1].1, ItemResult::Failed { kind, .. } if kind == "expired"));
        assert!(parse_results("{\"custom_id\":\"a\"}").is_err());
    }
}
