//! The fake provider's reasoning side: OpenAI Responses streams and whole
//! responses (reasoning summaries, encrypted reasoning items, function
//! calls), Anthropic thinking blocks, and the checks the real APIs make of
//! requests that carry them:
//!
//! - Responses (`POST /v1/responses`): a body with `input` and
//!   `max_output_tokens` (Chat Completions fields are refused), every
//!   `function_call_output` answering a `function_call` of the same input,
//!   and reasoning items passed back with their `encrypted_content` when
//!   nothing is stored (`store: false`), unmodified.
//! - Anthropic thinking: `budget_tokens` at least 1024 and below
//!   `max_tokens`, no `temperature` other than 1, and the last assistant
//!   message of a tool round starting with its thinking blocks, each with
//!   the signature it was issued with.

use serde_json::{json, Value};

use super::{anthropic_message_end, anthropic_message_start, next_id, sse_event, Api, Reply};

/// The signature the fake gives a thinking text (and checks it against).
pub fn signature(thinking: &str) -> String {
    // FNV-1a: any change to the text changes it.
    let hash = thinking.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("fakesig{hash:016x}")
}

/// The encrypted content the fake gives a reasoning item's summary.
pub fn encrypted(summary: &[&str]) -> String {
    format!("fakeenc-{}", signature(&summary.join("\n")))
}

/// What a streamed Responses reply holds.
struct ResponsesScript<'a> {
    model: &'a str,
    summary: &'a [&'a str],
    text: &'a [&'a str],
    calls: &'a [(&'a str, &'a str)],
    /// (input, cached, output, reasoning)
    usage: (u64, u64, u64, u64),
}

impl Reply {
    /// A streamed Responses reply: a reasoning item whose summary parts
    /// are `summary` (encrypted content included, see [`encrypted`]), then
    /// a message streaming `text`, then `response.completed` with usage
    /// `(input, cached, output, reasoning)`; no `[DONE]` line, as OpenAI's
    /// own example ends.
    pub fn responses_stream(
        model: &str,
        summary: &[&str],
        text: &[&str],
        usage: (u64, u64, u64, u64),
    ) -> Reply {
        responses_events(&ResponsesScript {
            model,
            summary,
            text,
            calls: &[],
            usage,
        })
    }

    /// A streamed Responses reply that reasons (`summary`) and then calls
    /// each `(name, arguments)` as a `function_call` item.
    pub fn responses_tool_call_stream(
        model: &str,
        summary: &[&str],
        calls: &[(&str, &str)],
    ) -> Reply {
        responses_events(&ResponsesScript {
            model,
            summary,
            text: &[],
            calls,
            usage: (20, 0, 30, 10),
        })
    }

    /// A whole (non-streamed) Responses reply with a reasoning summary and
    /// a text message.
    pub fn responses_json(model: &str, summary: &str, text: &str, usage: (u64, u64)) -> Reply {
        let body = json!({
            "id": format!("resp_fake{:06}", next_id()),
            "object": "response",
            "model": model,
            "status": "completed",
            "error": null,
            "incomplete_details": null,
            "output": [
                reasoning_item(&format!("rs_fake{:06}", next_id()), &[summary]),
                {"type": "message", "id": format!("msg_fake{:06}", next_id()),
                 "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": text, "annotations": []}]},
            ],
            "usage": responses_usage((usage.0, 0, usage.1, 0)),
        });
        Reply::json_body(200, &body.to_string())
            .with_header("x-request-id", &format!("req_fake{:06}", next_id()))
            .for_api(Api::OpenAiResponses)
    }

    /// [`Reply::anthropic_stream`] whose usage says `written` input tokens
    /// were written to the cache for an hour (`cache_creation` split by TTL).
    pub fn anthropic_hour_cached_stream(
        model: &str,
        text_pieces: &[&str],
        usage: (u64, u64),
        written: u64,
    ) -> Reply {
        let mut reply = Reply::anthropic_stream(model, text_pieces, usage);
        for part in &mut reply.parts {
            let text = String::from_utf8_lossy(&part.data).replace(
                "\"cache_creation_input_tokens\":0,",
                &format!(
                    "\"cache_creation_input_tokens\":{written},\"cache_creation\":\
                     {{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":{written}}},"
                ),
            );
            part.data = text.into_bytes();
        }
        reply
    }

    /// An Anthropic stream that thinks (`thinking`, streamed in pieces,
    /// then its signature) and then writes `text`.
    pub fn anthropic_thinking_stream(
        model: &str,
        thinking: &[&str],
        text: &str,
        usage: (u64, u64),
    ) -> Reply {
        let mut events = vec![anthropic_message_start(model, usage.0)];
        events.extend(thinking_block(0, thinking));
        events.extend(content_block(
            1,
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": text}),
        ));
        events.extend(anthropic_message_end("end_turn", usage.1));
        Reply::sse(events)
            .with_header("request-id", &format!("req_fake{:06}", next_id()))
            .for_api(Api::Anthropic)
    }

    /// An Anthropic stream that thinks (`thinking`), then calls
    /// `tool_name` with `input_json` under `tool_id`.
    pub fn anthropic_thinking_tool_use_stream(
        model: &str,
        thinking: &[&str],
        tool_id: &str,
        tool_name: &str,
        input_json: &str,
    ) -> Reply {
        let mut events = vec![anthropic_message_start(model, 10)];
        events.extend(thinking_block(0, thinking));
        events.extend(content_block(
            1,
            json!({"type": "tool_use", "id": tool_id, "name": tool_name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input_json}),
        ));
        events.extend(anthropic_message_end("tool_use", 5));
        Reply::sse(events)
            .with_header("request-id", &format!("req_fake{:06}", next_id()))
            .for_api(Api::Anthropic)
    }
}

/// The events of one Anthropic content block: start, one delta, stop.
fn content_block(index: u32, block: Value, delta: Value) -> [String; 3] {
    [
        sse_event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ),
        sse_event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        ),
        sse_event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ),
    ]
}

/// A streamed thinking block: its pieces, then the signature delta.
fn thinking_block(index: u32, pieces: &[&str]) -> Vec<String> {
    let mut events = vec![sse_event(
        "content_block_start",
        json!({"type": "content_block_start", "index": index,
               "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
    )];
    for piece in pieces {
        events.push(sse_event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index,
                   "delta": {"type": "thinking_delta", "thinking": piece}}),
        ));
    }
    events.push(sse_event(
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index,
               "delta": {"type": "signature_delta", "signature": signature(&pieces.concat())}}),
    ));
    events.push(sse_event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    ));
    events
}

fn responses_usage(usage: (u64, u64, u64, u64)) -> Value {
    let (input, cached, output, reasoning) = usage;
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input + output,
    })
}

fn reasoning_item(id: &str, summary: &[&str]) -> Value {
    json!({
        "type": "reasoning", "id": id,
        "summary": summary.iter().map(|text| json!({"type": "summary_text", "text": text})).collect::<Vec<_>>(),
        "encrypted_content": encrypted(summary),
    })
}

/// Numbers the events of one Responses stream, as the API does.
struct Sequence {
    events: Vec<String>,
}

impl Sequence {
    fn push(&mut self, event_type: &str, mut data: Value) {
        data["type"] = json!(event_type);
        data["sequence_number"] = json!(self.events.len());
        self.events.push(sse_event(event_type, data));
    }
}

fn responses_events(script: &ResponsesScript<'_>) -> Reply {
    let id = format!("resp_fake{:06}", next_id());
    let response = |status: &str, output: Value, usage: Value| {
        json!({"id": id, "object": "response", "created_at": 1_700_000_000u64,
               "status": status, "model": script.model, "output": output,
               "error": null, "incomplete_details": null, "usage": usage})
    };
    let mut seq = Sequence { events: Vec::new() };
    seq.push(
        "response.created",
        json!({"response": response("in_progress", json!([]), Value::Null)}),
    );
    seq.push(
        "response.in_progress",
        json!({"response": response("in_progress", json!([]), Value::Null)}),
    );
    let mut output = Vec::new();
    let rs_id = format!("rs_fake{:06}", next_id());
    seq.push(
        "response.output_item.added",
        json!({"output_index": 0,
        "item": {"type": "reasoning", "id": rs_id, "summary": []}}),
    );
    for (index, part) in script.summary.iter().enumerate() {
        let at = json!({"item_id": rs_id, "output_index": 0, "summary_index": index});
        let mut added = at.clone();
        added["part"] = json!({"type": "summary_text", "text": ""});
        seq.push("response.reasoning_summary_part.added", added);
        let mut delta = at.clone();
        delta["delta"] = json!(part);
        seq.push("response.reasoning_summary_text.delta", delta);
        let mut done = at;
        done["text"] = json!(part);
        seq.push("response.reasoning_summary_text.done", done);
    }
    let item = reasoning_item(&rs_id, script.summary);
    seq.push(
        "response.output_item.done",
        json!({"output_index": 0, "item": item.clone()}),
    );
    output.push(item);
    if !script.text.is_empty() {
        let msg_id = format!("msg_fake{:06}", next_id());
        seq.push("response.output_item.added", json!({"output_index": 1,
            "item": {"type": "message", "id": msg_id, "role": "assistant", "status": "in_progress", "content": []}}));
        for piece in script.text {
            seq.push(
                "response.output_text.delta",
                json!({"item_id": msg_id, "output_index": 1,
                "content_index": 0, "delta": piece, "logprobs": []}),
            );
        }
        let text = script.text.concat();
        seq.push(
            "response.output_text.done",
            json!({"item_id": msg_id, "output_index": 1,
            "content_index": 0, "text": text}),
        );
        let item = json!({"type": "message", "id": msg_id, "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]});
        seq.push(
            "response.output_item.done",
            json!({"output_index": 1, "item": item.clone()}),
        );
        output.push(item);
    }
    for (name, arguments) in script.calls {
        let index = output.len();
        let fc_id = format!("fc_fake{:06}", next_id());
        let call_id = format!("call_fake{:06}", next_id());
        seq.push(
            "response.output_item.added",
            json!({"output_index": index,
            "item": {"type": "function_call", "id": fc_id, "call_id": call_id, "name": name,
                     "arguments": "", "status": "in_progress"}}),
        );
        seq.push(
            "response.function_call_arguments.delta",
            json!({"item_id": fc_id,
            "output_index": index, "delta": arguments}),
        );
        seq.push(
            "response.function_call_arguments.done",
            json!({"item_id": fc_id,
            "output_index": index, "arguments": arguments}),
        );
        let item = json!({"type": "function_call", "id": fc_id, "call_id": call_id, "name": name,
            "arguments": arguments, "status": "completed"});
        seq.push(
            "response.output_item.done",
            json!({"output_index": index, "item": item.clone()}),
        );
        output.push(item);
    }
    seq.push("response.completed", json!({"response": response("completed", Value::Array(output), responses_usage(script.usage))}));
    Reply::sse(seq.events)
        .with_header("x-request-id", &format!("req_fake{:06}", next_id()))
        .for_api(Api::OpenAiResponses)
}

/// The 400 the real API gives a request it refuses for what this module
/// knows of, if any.
pub fn refusal(api: Api, body: &Value) -> Option<Reply> {
    let problem = match api {
        Api::OpenAiResponses => responses_problem(body),
        Api::Anthropic => thinking_problem(body),
        Api::OpenAi => None,
    }?;
    Some(match api {
        Api::Anthropic => Reply::anthropic_error(400, "invalid_request_error", &problem),
        _ => Reply::openai_error(400, "invalid_request_error", &problem)
            .for_api(Api::OpenAiResponses),
    })
}

fn responses_problem(body: &Value) -> Option<String> {
    for field in [
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "response_format",
    ] {
        if body.get(field).is_some() {
            return Some(format!(
                "Unsupported parameter: '{field}'. In the Responses API, this parameter has moved."
            ));
        }
    }
    if body
        .get("max_output_tokens")
        .and_then(Value::as_u64)
        .is_none()
    {
        return Some("fake provider: confab always sends max_output_tokens".into());
    }
    let input = body.get("input")?.as_array()?;
    let stored = body.get("store").and_then(Value::as_bool).unwrap_or(true);
    let mut calls = Vec::new();
    for item in input {
        match item.get("type").and_then(Value::as_str) {
            Some("function_call") => calls.push(item["call_id"].as_str().unwrap_or_default()),
            Some("function_call_output") => {
                let id = item["call_id"].as_str().unwrap_or_default();
                if !calls.contains(&id) {
                    return Some(format!(
                        "No tool call found for function call output with call_id {id}."
                    ));
                }
            }
            Some("reasoning") => {
                let summary: Vec<&str> = item["summary"]
                    .as_array()
                    .map(|s| s.iter().filter_map(|p| p["text"].as_str()).collect())
                    .unwrap_or_default();
                let id = item["id"].as_str().unwrap_or_default();
                match item.get("encrypted_content").and_then(Value::as_str) {
                    None if !stored => {
                        return Some(format!("Item with id '{id}' not found. Items are not persisted when `store` is set to false."))
                    }
                    Some(content) if content != encrypted(&summary) => {
                        return Some(format!("The encrypted content for item {id} could not be verified."))
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    None
}

fn thinking_problem(body: &Value) -> Option<String> {
    let thinking = body.get("thinking")?;
    let budget = thinking["budget_tokens"].as_u64().unwrap_or(0);
    let max_tokens = body["max_tokens"].as_u64().unwrap_or(0);
    if budget < 1024 {
        return Some(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024".into(),
        );
    }
    if budget >= max_tokens {
        return Some("`max_tokens` must be greater than `thinking.budget_tokens`.".into());
    }
    if body
        .get("temperature")
        .and_then(Value::as_f64)
        .is_some_and(|t| t != 1.0)
    {
        return Some("`temperature` may only be set to 1 when thinking is enabled.".into());
    }
    let messages = body["messages"].as_array()?;
    for (index, message) in messages.iter().enumerate() {
        for block in message["content"].as_array().into_iter().flatten() {
            if block["type"] == "thinking"
                && block["signature"].as_str()
                    != Some(&signature(block["thinking"].as_str().unwrap_or_default()))
            {
                return Some(format!(
                    "messages.{index}.content: Invalid `signature` in `thinking` block"
                ));
            }
        }
    }
    // A tool round under way: the last assistant message must open with
    // its thinking.
    let last_assistant = messages.iter().rposition(|m| m["role"] == "assistant")?;
    let answered = messages[last_assistant + 1..].iter().any(|m| {
        m["content"]
            .as_array()
            .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"))
    });
    let first = messages[last_assistant]["content"]
        .as_array()
        .and_then(|b| b.first())?;
    (answered && first["type"] == "tool_use").then(|| {
        format!(
            "messages.{last_assistant}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. \
             When `thinking` is enabled, a final `assistant` message must start with a thinking block \
             (preceeding the lastmost set of `tool_use` and `tool_result` blocks)."
        )
    })
}
