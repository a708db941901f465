//! Self-tests for the fake model provider in `tests/support/fake_provider.rs`,
//! driven by a hand-written std HTTP client.

#[path = "support/fake_batches.rs"]
mod fake_batches;
#[path = "support/fake_provider.rs"]
mod fake_provider;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use fake_provider::{FakeProvider, Reply, NO_REPLY_MESSAGE};
use serde_json::Value;

/// A response as read off the wire, up to the server closing the connection.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// The `(event name, data)` pairs of an SSE body.
    fn events(&self) -> Vec<(Option<String>, String)> {
        self.body
            .split("\n\n")
            .filter(|block| !block.is_empty())
            .map(|block| {
                let mut event = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event = Some(name.to_string());
                    } else if let Some(value) = line.strip_prefix("data: ") {
                        data.push_str(value);
                    }
                }
                (event, data)
            })
            .collect()
    }
}

/// Sends one HTTP/1.1 request with the headers its API wants (a bearer key
/// for OpenAI routes; `x-api-key` and `anthropic-version` for `/v1/messages`)
/// and reads everything until the server closes.
fn send(provider: &FakeProvider, method: &str, path: &str, body: &str) -> Response {
    let auth = if path == "/v1/messages" {
        "x-api-key: sk-ant-test\r\nanthropic-version: 2023-06-01"
    } else {
        "Authorization: Bearer sk-test"
    };
    send_with(provider, method, path, auth, body)
}

/// Sends one request with `headers` (CRLF-separated lines) and a JSON body.
fn send_with(
    provider: &FakeProvider,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Response {
    let mut stream = TcpStream::connect(provider.addr()).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let headers = if headers.is_empty() {
        String::new()
    } else {
        format!("{headers}\r\n")
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        provider.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reading the response");
    let raw = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

fn post(provider: &FakeProvider, body: &str) -> Response {
    send(provider, "POST", "/v1/chat/completions", body)
}

#[test]
fn base_url_has_no_trailing_slash() {
    let provider = FakeProvider::start(vec![]);
    let url = provider.base_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with('/'));
}

#[test]
fn openai_stream_arrives_complete_with_usage_and_done() {
    let provider = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-test",
        &["Hel", "lo"],
        Some((12, 3)),
    )
    .with_stall_between_parts(Duration::from_millis(5))]);
    let response = post(&provider, r#"{"model":"gpt-test","stream":true}"#);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("content-length"), None);
    assert!(response.header("x-request-id").is_some());

    let events = response.events();
    assert!(events.iter().all(|(name, _)| name.is_none()));
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|(_, data)| serde_json::from_str(data).unwrap())
        .collect();
    assert_eq!(chunks.len(), 5);
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"]));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello");
    assert_eq!(chunks[3]["choices"][0]["finish_reason"], "stop");
    assert!(chunks[3]["usage"].is_null());
    let usage = &chunks[4];
    assert_eq!(usage["choices"], serde_json::json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 12);
    assert_eq!(usage["usage"]["completion_tokens"], 3);
    assert_eq!(usage["usage"]["total_tokens"], 15);
    assert_eq!(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(
        usage["usage"]["completion_tokens_details"]["reasoning_tokens"],
        0
    );
}

#[test]
fn openai_tool_call_stream_accumulates_by_index() {
    let provider = FakeProvider::start(vec![Reply::openai_tool_call_stream(
        "gpt-test",
        "get_weather",
        &["{\"city\":", "\"Oslo\"}"],
    )]);
    let events = post(&provider, "{}").events();
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|(_, data)| serde_json::from_str(data).unwrap())
        .collect();
    let mut name = String::new();
    let mut arguments = String::new();
    for chunk in &chunks {
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(call["index"], 0);
            name.push_str(call["function"]["name"].as_str().unwrap_or(""));
            arguments.push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(name, "get_weather");
    assert_eq!(arguments, r#"{"city":"Oslo"}"#);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[test]
fn json_replies_have_the_real_shapes() {
    let provider = FakeProvider::start(vec![
        Reply::openai_json("gpt-test", "Hi there", Some((7, 2))),
        Reply::anthropic_json("claude-test", "Bonjour", (9, 4)),
    ]);
    let openai = post(&provider, "{}");
    assert_eq!(openai.status, 200);
    assert_eq!(
        openai.header("content-length").unwrap(),
        openai.body.len().to_string()
    );
    let body = openai.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "Hi there");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["total_tokens"], 9);

    let anthropic = send(&provider, "POST", "/v1/messages", "{}");
    let body = anthropic.json();
    assert!(anthropic.header("request-id").is_some());
    assert_eq!(body["type"], "message");
    assert_eq!(body["content"][0]["text"], "Bonjour");
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["usage"]["input_tokens"], 9);
    assert_eq!(body["usage"]["output_tokens"], 4);
}

#[test]
fn anthropic_stream_has_the_event_sequence_in_order() {
    let provider = FakeProvider::start(vec![Reply::anthropic_stream(
        "claude-test",
        &["a", "b"],
        (20, 5),
    )]);
    let response = send(&provider, "POST", "/v1/messages", "{}");
    assert_eq!(response.status, 200);
    assert!(response.header("request-id").is_some());
    let events = response.events();
    let names: Vec<&str> = events
        .iter()
        .map(|(name, _)| name.as_deref().expect("an event: line"))
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let data: Vec<Value> = events
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    for ((name, _), value) in events.iter().zip(&data) {
        assert_eq!(value["type"], name.as_deref().unwrap());
    }
    assert_eq!(data[0]["message"]["usage"]["input_tokens"], 20);
    assert_eq!(data[0]["message"]["usage"]["output_tokens"], 1);
    assert_eq!(data[3]["delta"]["type"], "text_delta");
    assert_eq!(data[4]["delta"]["text"], "b");
    assert_eq!(data[6]["delta"]["stop_reason"], "end_turn");
    assert_eq!(data[6]["usage"]["output_tokens"], 5);
}

#[test]
fn error_replies_carry_status_headers_and_body() {
    let provider = FakeProvider::start(vec![
        Reply::openai_error(429, "rate_limit_exceeded", "slow down")
            .with_header("retry-after", "2")
            .with_header("retry-after-ms", "1500"),
        Reply::anthropic_error(529, "overloaded_error", "Overloaded"),
        Reply::error(400, r#"{"error":"plain string"}"#),
    ]);
    let openai = post(&provider, "{}");
    assert_eq!(openai.status, 429);
    assert_eq!(openai.header("retry-after"), Some("2"));
    assert_eq!(openai.header("retry-after-ms"), Some("1500"));
    let body = openai.json();
    assert_eq!(body["error"]["type"], "rate_limit_exceeded");
    assert_eq!(body["error"]["message"], "slow down");
    assert!(body["error"]["code"].is_null());

    let anthropic = send(&provider, "POST", "/v1/messages", "{}");
    assert_eq!(anthropic.status, 529);
    let body = anthropic.json();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "overloaded_error");
    assert_eq!(
        anthropic.header("request-id"),
        body["request_id"].as_str(),
        "the header matches the body"
    );

    let plain = post(&provider, "{}");
    assert_eq!(plain.status, 400);
    assert_eq!(plain.json()["error"], "plain string");
}

#[test]
fn errors_inside_streams_and_malformed_streams() {
    let provider = FakeProvider::start(vec![
        Reply::openai_error_in_stream("gpt-test", &["partial"], "boom"),
        Reply::malformed_stream(),
        Reply::anthropic_error_in_stream("claude-test", &["x"], "overloaded_error", "Overloaded"),
    ]);
    let response = post(&provider, "{}");
    assert_eq!(response.status, 200);
    let events = response.events();
    let last: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert_eq!(last["error"]["message"], "boom");
    assert_eq!(last["error"]["type"], "server_error");
    assert!(response.body.contains("partial"));
    assert!(!response.body.contains("[DONE]"));

    let response = post(&provider, "{}");
    assert_eq!(response.status, 200);
    let events = response.events();
    assert!(serde_json::from_str::<Value>(&events[0].1).is_err());
    assert_eq!(events.last().unwrap().1, "[DONE]");

    let response = send(&provider, "POST", "/v1/messages", "{}");
    let events = response.events();
    let (name, data) = events.last().unwrap();
    assert_eq!(name.as_deref(), Some("error"));
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(data["error"]["type"], "overloaded_error");
}

#[test]
fn drop_after_parts_closes_mid_body() {
    let provider = FakeProvider::start(vec![
        Reply::openai_stream("gpt-test", &["one", "two", "three"], Some((1, 1)))
            .drop_after_parts(2),
        Reply::openai_json("gpt-test", "cut short", None).drop_after_parts(0),
        Reply::hang_up(),
    ]);
    let stream = post(&provider, "{}");
    assert_eq!(stream.status, 200);
    let events = stream.events();
    assert_eq!(events.len(), 2);
    assert!(stream.body.contains("one"));
    assert!(!stream.body.contains("two"));
    assert!(!stream.body.contains("[DONE]"));

    let json = post(&provider, "{}");
    let promised: usize = json.header("content-length").unwrap().parse().unwrap();
    assert!(promised > 0);
    assert_eq!(json.body.len(), 0);

    // A hang-up sends nothing at all.
    let mut conn = TcpStream::connect(provider.addr()).unwrap();
    conn.write_all(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\
          Content-Type: application/json\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw);
    assert!(raw.is_empty());
    assert_eq!(provider.requests().len(), 3);
}

#[test]
fn requests_are_recorded() {
    let provider = FakeProvider::start(vec![Reply::openai_json("m", "ok", None)]);
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hé"}]}"#;
    post(&provider, body);
    let requests = provider.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.header("Authorization"), Some("Bearer sk-test"));
    assert!(request.headers.iter().any(|(n, _)| n == "content-type"));
    assert_eq!(request.body, body);
    assert_eq!(request.json()["messages"][0]["content"], "hé");
    assert_eq!(provider.remaining_replies(), 0);
}

#[test]
fn unscripted_requests_get_500_and_replies_are_fifo() {
    let provider = FakeProvider::start(vec![Reply::openai_json("m", "first", None)]);
    provider.push(Reply::openai_json("m", "second", None));
    assert_eq!(
        post(&provider, "{}").json()["choices"][0]["message"]["content"],
        "first"
    );
    assert_eq!(
        post(&provider, "{}").json()["choices"][0]["message"]["content"],
        "second"
    );
    let response = post(&provider, "{}");
    assert_eq!(response.status, 500);
    assert_eq!(response.json()["error"]["message"], NO_REPLY_MESSAGE);
    assert_eq!(provider.requests().len(), 3);
}

#[test]
fn refuses_what_the_real_apis_refuse_without_taking_a_reply() {
    let provider = FakeProvider::start(vec![
        Reply::openai_json("m", "for openai", None),
        Reply::anthropic_json("c", "for anthropic", (1, 1)),
    ]);
    // An unknown route: a 404 in the API's shape.
    let response = send(&provider, "POST", "/chat/completions", "{}");
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["error"]["type"], "invalid_request_error");
    let response = send_with(
        &provider,
        "POST",
        "/v1/v1/messages",
        "x-api-key: k\r\nanthropic-version: 2023-06-01",
        "{}",
    );
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["error"]["type"], "not_found_error");
    // No key, the wrong kind of key, no anthropic-version.
    let response = send_with(&provider, "POST", "/v1/chat/completions", "", "{}");
    assert_eq!(response.status, 401);
    let response = send_with(
        &provider,
        "POST",
        "/v1/messages",
        "anthropic-version: 2023-06-01",
        "{}",
    );
    assert_eq!(response.status, 401);
    assert_eq!(response.json()["error"]["type"], "authentication_error");
    let response = send_with(&provider, "POST", "/v1/messages", "x-api-key: k", "{}");
    assert_eq!(response.status, 400);
    // A wrong key, once the fake is told the right one.
    provider.expect_api_key("sk-test");
    let response = send_with(
        &provider,
        "POST",
        "/v1/chat/completions",
        "Authorization: Bearer sk-other",
        "{}",
    );
    assert_eq!(response.status, 401);
    // None of these took a reply: the two scripted ones are still there.
    assert_eq!(provider.remaining_replies(), 2);
    assert_eq!(
        post(&provider, "{}").json()["choices"][0]["message"]["content"],
        "for openai"
    );
    // An Anthropic reply asked for at the OpenAI route is a 404.
    let response = post(&provider, "{}");
    assert_eq!(response.status, 404);
    assert!(response.body.contains("scripted reply is for Anthropic"));
}

#[test]
fn side_routes_answer_outside_the_queue() {
    let provider = FakeProvider::start(vec![Reply::openai_json("m", "hi", None)]);
    let listed = send(&provider, "GET", "/v1/models", "");
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json()["object"], "list");
    assert_eq!(send(&provider, "GET", "/props", "").status, 404);
    provider.route(
        "GET",
        "/props",
        Reply::raw(
            200,
            &[("content-type", "application/json")],
            &[r#"{"default_generation_settings":{"n_ctx":4096}}"#],
        ),
    );
    let props = send(&provider, "GET", "/props", "");
    assert_eq!(props.json()["default_generation_settings"]["n_ctx"], 4096);
    assert_eq!(provider.side_requests().len(), 3);
    assert!(provider.requests().is_empty());
    assert_eq!(provider.remaining_replies(), 1);
}

#[test]
fn raw_replies_and_delays() {
    let provider = FakeProvider::start(vec![Reply::raw(
        200,
        &[("content-type", "text/plain")],
        &["ab", "cd"],
    )
    .with_delay_before_first_byte(Duration::from_millis(10))
    .with_delay_before_part(1, Duration::from_millis(10))]);
    let response = post(&provider, "");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("4"));
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.body, "abcd");
}

/// The batch routes refuse what the real APIs refuse (see `fake_batches`).
#[test]
fn batch_routes_are_as_strict_as_the_real_apis() {
    let provider = FakeProvider::start(vec![]);
    let bearer = "Authorization: Bearer sk-test";
    let anthropic = "x-api-key: sk-ant-test\r\nanthropic-version: 2023-06-01";
    let no_key = send_with(&provider, "POST", "/v1/files", "", "{}");
    assert_eq!(no_key.status, 401);
    let not_multipart = send_with(&provider, "POST", "/v1/files", bearer, "{}");
    assert_eq!(not_multipart.status, 400);
    assert!(
        not_multipart.body.contains("multipart"),
        "{}",
        not_multipart.body
    );
    let no_file = send_with(
        &provider,
        "POST",
        "/v1/batches",
        bearer,
        r#"{"input_file_id": "file-nope", "endpoint": "/v1/chat/completions", "completion_window": "24h"}"#,
    );
    assert_eq!(no_file.status, 404);
    let no_version = send_with(
        &provider,
        "POST",
        "/v1/messages/batches",
        "x-api-key: sk-ant-test",
        "{}",
    );
    assert_eq!(no_version.status, 400);
    let request = |id: &str, stream: bool| {
        format!(
            r#"{{"custom_id": "{id}", "params": {{"model": "m", "max_tokens": 5, "stream": {stream}, "messages": [{{"role": "user", "content": "x"}}]}}}}"#
        )
    };
    for body in [
        format!(r#"{{"requests": [{}]}}"#, request("a", true)),
        format!(
            r#"{{"requests": [{}, {}]}}"#,
            request("a", false),
            request("a", false)
        ),
        format!(r#"{{"requests": [{}]}}"#, request("no spaces", false)),
    ] {
        let refused = send_with(&provider, "POST", "/v1/messages/batches", anthropic, &body);
        assert_eq!(refused.status, 400, "{body}");
    }
    let body = format!(r#"{{"requests": [{}]}}"#, request("a", false));
    let created = send_with(&provider, "POST", "/v1/messages/batches", anthropic, &body);
    assert_eq!(created.status, 200, "{}", created.body);
    let id = provider.batches().ids()[0].clone();
    let early = send_with(
        &provider,
        "GET",
        &format!("/v1/messages/batches/{id}/results"),
        anthropic,
        "",
    );
    assert_eq!(early.status, 400, "no results before the batch has ended");
    assert!(
        created.body.contains("\"results_url\":null"),
        "{}",
        created.body
    );
}
