use super::*;
use crate::llm::{JsonSchemaFormat, ReasoningEffort, ToolCallRequest, ToolDeclaration, ToolResult};

fn body(request: &ChatRequest) -> serde_json::Value {
    serde_json::to_value(request_body(request)).expect("json")
}

fn run(events: &[(&str, serde_json::Value)]) -> Result<Vec<ChatEvent>, StreamError> {
    let mut state = StreamState::default();
    let mut out = Vec::new();
    for (name, data) in events {
        out.extend(parse_event(name, &data.to_string(), &mut state)?);
    }
    Ok(out)
}

#[test]
fn a_reasoning_request_is_stateless_capped_and_asks_for_summaries() {
    let request = ChatRequest {
        model: "o4-mini".into(),
        system: Some("be brief".into()),
        messages: vec![Message::new(Role::User, "hi")],
        max_output_tokens: 2000,
        stream: true,
        reasoning_effort: Some(ReasoningEffort::Low),
        ..ChatRequest::default()
    };
    let body = body(&request);
    assert_eq!(body["instructions"], "be brief");
    assert_eq!(body["input"][0]["type"], "message");
    assert_eq!(body["input"][0]["role"], "user");
    assert_eq!(body["input"][0]["content"], "hi");
    assert_eq!(body["max_output_tokens"], 2000);
    assert_eq!(body["reasoning"]["effort"], "low");
    assert_eq!(body["reasoning"]["summary"], "auto");
    assert_eq!(body["include"][0], "reasoning.encrypted_content");
    assert_eq!(body["store"], false);
    assert_eq!(body["stream"], true);
    assert!(body.get("max_tokens").is_none());
    assert!(body.get("messages").is_none());
}

#[test]
fn a_plain_model_gets_no_reasoning_fields() {
    let request = ChatRequest {
        model: "gpt-4.1".into(),
        messages: vec![Message::new(Role::User, "hi")],
        max_output_tokens: 10,
        ..ChatRequest::default()
    };
    let body = body(&request);
    assert!(body.get("reasoning").is_none());
    assert!(body.get("include").is_none());
    assert!(body.get("instructions").is_none());
}

#[test]
fn tool_rounds_go_as_reasoning_call_and_output_items_and_schemas_flat() {
    let parameters = serde_json::json!({"type": "object", "properties": {}});
    let calls = Message {
        reasoning: vec![
            ReasoningBlock::OpenaiReasoning {
                id: "rs_1".into(),
                encrypted_content: Some("gAAA".into()),
                summary: vec!["Looking.".into()],
            },
            // No encrypted content: cannot go back statelessly.
            ReasoningBlock::OpenaiReasoning {
                id: "rs_2".into(),
                encrypted_content: None,
                summary: Vec::new(),
            },
        ],
        ..Message::assistant_tool_calls(
            "",
            vec![ToolCallRequest {
                id: Some("call_a".into()),
                name: "read".into(),
                arguments: "{\"p\":1}".into(),
            }],
        )
    };
    let request = ChatRequest {
        model: "o3".into(),
        messages: vec![
            Message::new(Role::System, "note"),
            Message::new(Role::User, "go"),
            calls,
            Message::tool_result(ToolResult::text("call_a", "out", false)),
        ],
        max_output_tokens: 100,
        tools: vec![ToolDeclaration {
            name: "read".into(),
            description: "reads".into(),
            parameters: parameters.clone(),
        }],
        response_format: Some(JsonSchemaFormat {
            name: "answer".into(),
            schema: serde_json::json!({"type": "object"}),
        }),
        ..ChatRequest::default()
    };
    let body = body(&request);
    let input = body["input"].as_array().expect("input");
    let types: Vec<&str> = input.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "message",
            "message",
            "reasoning",
            "function_call",
            "function_call_output"
        ]
    );
    assert_eq!(input[0]["role"], "developer");
    assert_eq!(input[2]["id"], "rs_1");
    assert_eq!(input[2]["encrypted_content"], "gAAA");
    assert_eq!(input[2]["summary"][0]["type"], "summary_text");
    assert_eq!(input[3]["call_id"], "call_a");
    assert_eq!(input[3]["arguments"], "{\"p\":1}");
    assert!(input[3].get("id").is_none(), "no item id: stateless");
    assert_eq!(input[4]["call_id"], "call_a");
    assert_eq!(input[4]["output"], "out");
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["name"], "read");
    assert_eq!(body["tools"][0]["parameters"], parameters);
    assert!(body["tools"][0].get("function").is_none());
    assert_eq!(body["text"]["format"]["type"], "json_schema");
    assert_eq!(body["text"]["format"]["name"], "answer");
    assert_eq!(body["text"]["format"]["strict"], true);
}

fn response(status: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut response = serde_json::json!({
        "id": "resp_1", "object": "response", "model": "o4-mini-2025-04-16",
        "status": status, "output": [],
    });
    if let (Some(r), Some(e)) = (response.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    serde_json::json!({"type": format!("response.{status}"), "response": response})
}

#[test]
fn a_stream_gives_summary_text_usage_and_the_encrypted_reasoning() {
    let usage = serde_json::json!({"usage": {
        "input_tokens": 40, "input_tokens_details": {"cached_tokens": 16},
        "output_tokens": 300, "output_tokens_details": {"reasoning_tokens": 256},
        "total_tokens": 340}});
    let events = run(&[
        (
            "response.created",
            response("in_progress", serde_json::json!({})),
        ),
        (
            "response.output_item.added",
            serde_json::json!({"output_index": 0,
            "item": {"type": "reasoning", "id": "rs_1", "summary": []}}),
        ),
        (
            "response.reasoning_summary_text.delta",
            serde_json::json!({"output_index": 0, "summary_index": 0, "delta": "Think"}),
        ),
        (
            "response.reasoning_summary_text.delta",
            serde_json::json!({"output_index": 0, "summary_index": 1, "delta": "More"}),
        ),
        (
            "response.output_item.done",
            serde_json::json!({"output_index": 0,
            "item": {"type": "reasoning", "id": "rs_1", "encrypted_content": "enc",
                     "summary": [{"type": "summary_text", "text": "Think"},
                                 {"type": "summary_text", "text": "More"}]}}),
        ),
        (
            "response.output_text.delta",
            serde_json::json!({"output_index": 1, "content_index": 0, "delta": "Hi"}),
        ),
        (
            "response.output_text.done",
            serde_json::json!({"text": "Hi"}),
        ),
        ("response.completed", response("completed", usage)),
    ])
    .expect("events");
    assert_eq!(
        events,
        vec![
            ChatEvent::Model("o4-mini-2025-04-16".into()),
            ChatEvent::ResponseId("resp_1".into()),
            ChatEvent::ReasoningDelta("Think".into()),
            ChatEvent::ReasoningDelta("\n\n".into()),
            ChatEvent::ReasoningDelta("More".into()),
            ChatEvent::Reasoning(ReasoningBlock::OpenaiReasoning {
                id: "rs_1".into(),
                encrypted_content: Some("enc".into()),
                summary: vec!["Think".into(), "More".into()],
            }),
            ChatEvent::TextDelta("Hi".into()),
            ChatEvent::Model("o4-mini-2025-04-16".into()),
            ChatEvent::ResponseId("resp_1".into()),
            ChatEvent::Finish(FinishReason::Stop),
            ChatEvent::Usage(Usage {
                input_tokens: 40,
                cached_input_tokens: 16,
                output_tokens: 300,
                reasoning_tokens: 256,
                ..Usage::default()
            }),
            ChatEvent::Done,
        ]
    );
}

#[test]
fn function_calls_stream_by_output_index_and_end_as_tool_calls() {
    let events = run(&[
        (
            "response.created",
            response("in_progress", serde_json::json!({})),
        ),
        (
            "response.output_item.added",
            serde_json::json!({"output_index": 1,
            "item": {"type": "function_call", "id": "fc_1", "call_id": "call_a",
                     "name": "read", "arguments": ""}}),
        ),
        (
            "response.function_call_arguments.delta",
            serde_json::json!({"output_index": 1, "item_id": "fc_1", "delta": "{\"p\":"}),
        ),
        (
            "response.function_call_arguments.delta",
            serde_json::json!({"output_index": 1, "item_id": "fc_1", "delta": "1}"}),
        ),
        (
            "response.function_call_arguments.done",
            serde_json::json!({"output_index": 1, "item_id": "fc_1", "arguments": "{\"p\":1}"}),
        ),
        // A server that sends only the whole arguments.
        (
            "response.output_item.added",
            serde_json::json!({"output_index": 2,
            "item": {"type": "function_call", "call_id": "call_b", "name": "look"}}),
        ),
        (
            "response.function_call_arguments.done",
            serde_json::json!({"output_index": 2, "arguments": "{}"}),
        ),
        (
            "response.completed",
            response("completed", serde_json::json!({})),
        ),
    ])
    .expect("events");
    let arguments: String = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::ToolCallDelta {
                index: 1,
                arguments,
                ..
            } => Some(arguments.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        arguments, "{\"p\":1}",
        "deltas only, not the done copy again"
    );
    assert!(events.contains(&ChatEvent::ToolCallDelta {
        index: 2,
        id: None,
        name: None,
        arguments: "{}".into()
    }));
    assert!(events.contains(&ChatEvent::Finish(FinishReason::ToolCalls)));
}

#[test]
fn incomplete_failed_and_error_events_mean_what_they_say() {
    let cut = run(&[(
        "response.incomplete",
        response(
            "incomplete",
            serde_json::json!({"incomplete_details": {"reason": "max_output_tokens"}}),
        ),
    )])
    .expect("events");
    assert!(cut.contains(&ChatEvent::Finish(FinishReason::Length)));
    let failed = run(&[(
        "response.failed",
        response(
            "failed",
            serde_json::json!({"error": {"code": "server_error", "message": "boom"}}),
        ),
    )])
    .unwrap_err();
    assert!(
        matches!(&failed, StreamError::Api(e) if e.code.as_deref() == Some("server_error") && e.message == "boom"),
        "{failed:?}"
    );
    let error = run(&[(
        "error",
        serde_json::json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": null}),
    )])
    .unwrap_err();
    assert!(matches!(&error, StreamError::Api(e) if e.message == "slow down"));
    assert!(run(&[("response.output_text.delta", serde_json::json!("x"))]).is_err());
    assert!(matches!(
        parse_event("response.created", "{not json", &mut StreamState::default()),
        Err(StreamError::Malformed(_))
    ));
    // LiteLLM's proxy reports a failed stream as a plain data line.
    let proxied = run(&[(
        "",
        serde_json::json!({"error": {"message": "Error processing stream start", "type": "internal_server_error", "code": "500"}}),
    )])
    .unwrap_err();
    assert!(
        matches!(&proxied, StreamError::Api(e) if e.message == "Error processing stream start"),
        "{proxied:?}"
    );
    let ignored = run(&[(
        "response.web_search_call.searching",
        serde_json::json!({"x": 1}),
    )])
    .expect("unknown events are ignored");
    assert!(ignored.is_empty());
}

#[test]
fn a_whole_response_reads_every_output_item_in_order() {
    let body = serde_json::json!({
        "id": "resp_2", "object": "response", "model": "gpt-5", "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_9", "summary": [{"type": "summary_text", "text": "Plan"}]},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Hello", "annotations": []}]},
            {"type": "function_call", "call_id": "call_z", "name": "f", "arguments": "{}"},
            {"type": "web_search_call", "id": "ws_1"}
        ],
        "usage": {"input_tokens": 5, "output_tokens": 7,
                  "output_tokens_details": {"reasoning_tokens": 3}}
    });
    let events = parse_response(&body.to_string()).expect("events");
    assert_eq!(events[0], ChatEvent::Model("gpt-5".into()));
    assert_eq!(events[2], ChatEvent::ReasoningDelta("Plan".into()));
    assert!(
        matches!(&events[3], ChatEvent::Reasoning(ReasoningBlock::OpenaiReasoning { id, encrypted_content: None, .. }) if id == "rs_9")
    );
    assert_eq!(events[4], ChatEvent::TextDelta("Hello".into()));
    assert!(
        matches!(&events[5], ChatEvent::ToolCallDelta { index: 2, id: Some(id), .. } if id == "call_z")
    );
    assert_eq!(events[6], ChatEvent::Finish(FinishReason::ToolCalls));
    assert!(matches!(
        events[7],
        ChatEvent::Usage(Usage {
            reasoning_tokens: 3,
            output_tokens: 7,
            ..
        })
    ));
    assert_eq!(events[8], ChatEvent::Done);
    let refused = serde_json::json!({"id": "r", "model": "m", "status": "completed", "output": [
        {"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}]});
    let events = parse_response(&refused.to_string()).expect("events");
    assert!(events.contains(&ChatEvent::Finish(FinishReason::ContentFilter)));
}
