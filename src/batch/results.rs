//! A batch's results put back in input order, one output line per
//! request (`{"id", "ok": true, "text", "model", "usage"}` or `{"id",
//! "ok": false, "error": {"type", "message"}}`), checked against the
//! `--schema` the batch was sent with, and the usage records of its
//! requests at the batch tier.

use std::collections::HashMap;

use serde::Serialize;

use crate::batch::store::BatchRecord;
use crate::batch::{ItemResult, Reply};
use crate::schema::CompiledSchema;
use crate::usage::recorder::{BatchCall, CallRecorder};
use crate::usage::UsageRecord;

/// Results in input order, with what did not fit.
#[derive(Clone, Debug, PartialEq)]
pub struct Ordered {
    /// One result per input id, in input order.
    pub results: Vec<(String, ItemResult)>,
    /// Results for ids the batch did not have, or sent twice.
    pub warnings: Vec<String>,
}

/// Puts `results` (in the provider's order) in the order of `ids`; an id
/// without a result gets a `missing` failure.
pub fn in_input_order(ids: &[String], results: Vec<(String, ItemResult)>) -> Ordered {
    let mut by_id: HashMap<String, ItemResult> = HashMap::with_capacity(results.len());
    let mut warnings = Vec::new();
    let known: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    for (id, result) in results {
        let shown = crate::safe_text::printable(&id.chars().take(80).collect::<String>());
        if !known.contains(id.as_str()) {
            warnings.push(format!(
                "the server sent a result for `{shown}`, which is not in the batch"
            ));
            continue;
        }
        match by_id.entry(id) {
            std::collections::hash_map::Entry::Occupied(_) => warnings.push(format!(
                "the server sent `{shown}` twice; the first is kept"
            )),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(result);
            }
        }
    }
    let results = ids
        .iter()
        .map(|id| {
            let result = by_id.remove(id).unwrap_or_else(|| ItemResult::Failed {
                kind: "missing".into(),
                message: "the batch ended without a result for this request".into(),
            });
            (id.clone(), result)
        })
        .collect();
    Ordered { results, warnings }
}

/// Token usage as an output line shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineUsage {
    /// Prompt tokens, cached included.
    pub input_tokens: u64,
    /// Prompt tokens read from the cache.
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the cache.
    pub cache_write_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

/// Why a line failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// `invalid_request_error`, `expired`, `canceled`, `missing`, `schema`...
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

/// One line of `batch results`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputLine {
    /// The request's id.
    pub id: String,
    /// Whether it has a usable reply.
    pub ok: bool,
    /// The reply text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// With `--schema`: the reply parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// The model the API reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why the model stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// What the request used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<LineUsage>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<LineError>,
}

/// The output line of one result, checked against `schema` if given (a
/// reply that does not fit is `ok: false`, with its text kept).
pub fn output_line(id: &str, result: &ItemResult, schema: Option<&CompiledSchema>) -> OutputLine {
    let reply = match result {
        ItemResult::Reply(reply) => reply,
        ItemResult::Failed { kind, message } => {
            return OutputLine {
                id: id.to_string(),
                ok: false,
                text: None,
                json: None,
                model: None,
                finish_reason: None,
                usage: None,
                error: Some(LineError {
                    kind: kind.clone(),
                    message: message.clone(),
                }),
            }
        }
    };
    let checked = schema.map(|s| crate::guard::output::check_reply(&reply.text, s));
    let error = match &checked {
        Some(Err(errors)) => Some(LineError {
            kind: "schema".into(),
            message: format!("the reply does not fit the schema: {}", errors.join("; ")),
        }),
        _ => None,
    };
    OutputLine {
        id: id.to_string(),
        ok: error.is_none(),
        text: Some(reply.text.clone()),
        json: checked.and_then(Result::ok),
        model: reply.model.clone(),
        finish_reason: reply.finish_reason.clone(),
        usage: reply.usage.map(|u| LineUsage {
            input_tokens: u.input_tokens,
            cached_input_tokens: u.cached_input_tokens,
            cache_write_tokens: u.cache_write_tokens,
            output_tokens: u.output_tokens,
        }),
        error,
    }
}

/// The usage records of a batch's results, one per request.
pub fn usage_records(
    record: &BatchRecord,
    ordered: &Ordered,
    recorder: &CallRecorder,
) -> Vec<UsageRecord> {
    ordered
        .results
        .iter()
        .map(|(_, result)| {
            let (reply, error_kind) = match result {
                ItemResult::Reply(reply) => (Some(reply), None),
                ItemResult::Failed { kind, .. } => (None, Some(kind.as_str())),
            };
            recorder.batch_record(&BatchCall {
                ts: &record.created,
                batch_id: &record.id,
                model: &record.model,
                model_reported: reply.and_then(|r| r.model.as_deref()),
                response_id: reply.and_then(|r| r.response_id.as_deref()),
                usage: reply.and_then(|r: &Reply| r.usage),
                finish_reason: reply.and_then(|r| r.finish_reason.as_deref()),
                error_kind,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> ItemResult {
        ItemResult::Reply(Reply {
            text: text.into(),
            ..Reply::default()
        })
    }

    #[test]
    fn orders_by_input_and_marks_what_is_missing_or_unknown() {
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let ordered = in_input_order(
            &ids,
            vec![
                ("c".into(), reply("C")),
                ("zz".into(), reply("?")),
                ("a".into(), reply("A")),
                ("a".into(), reply("again")),
            ],
        );
        let order: Vec<_> = ordered.results.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(ordered.results[0].1, reply("A"));
        assert!(
            matches!(&ordered.results[1].1, ItemResult::Failed { kind, .. } if kind == "missing")
        );
        assert_eq!(ordered.warnings.len(), 2);
    }

    #[test]
    fn a_reply_that_does_not_fit_the_schema_is_not_ok() {
        let schema = CompiledSchema::compile(&serde_json::json!({
            "type": "object", "required": ["n"]
        }))
        .expect("valid");
        let good = output_line("a", &reply("{\"n\": 1}"), Some(&schema));
        assert!(good.ok);
        assert_eq!(good.json, Some(serde_json::json!({"n": 1})));
        let bad = output_line("b", &reply("{\"m\": 1}"), Some(&schema));
        assert!(!bad.ok);
        assert_eq!(bad.error.expect("error").kind, "schema");
        assert_eq!(bad.text.as_deref(), Some("{\"m\": 1}"));
    }
}
