//! MCP servers as tools, against the official servers from npm (pinned in
//! scripts/mcp-servers/, installed by scripts/install-test-servers.sh):
//! server-filesystem over stdio, server-everything over stdio and
//! Streamable HTTP, driven by the fake provider asking for tool calls.
//! A small fake server (tests/support/fake_mcp_server.mjs) stands in for
//! the failures real ones can't be made to show: dying mid-call, and a
//! poisoned tool description.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::fake_provider::{FakeProvider, Reply};
use support::real_server::{required_path, RealServer};
use support::{read_jsonl, stderr_of, TempHome};

const SCRIPT: &str = "scripts/test.sh";

fn node() -> PathBuf {
    required_path("CONFAB_NODE", SCRIPT)
}

/// `dist/index.js` of an official server.
fn server_script(name: &str) -> String {
    required_path("CONFAB_MCP_SERVERS", SCRIPT)
        .join(name)
        .join("dist/index.js")
        .display()
        .to_string()
}

fn fake_server() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/fake_mcp_server.mjs")
        .display()
        .to_string()
}

/// A TOML array of strings.
fn argv(parts: &[&str]) -> String {
    serde_json::to_string(parts).expect("json is toml here")
}

/// The docs directory of `home`, with `a.txt` in it, and a secret file
/// beside it that no tool may read.
fn docs(home: &TempHome) -> String {
    home.write("docs/a.txt", "hello from the docs");
    home.write("secret.txt", "the launch codes");
    home.path().join("docs").display().to_string()
}

/// server-filesystem on `docs`: two reading tools allowed, low risk,
/// paths confined to `docs`.
fn filesystem_server(docs: &str) -> String {
    let node = node();
    format!(
        r#"
[mcp_servers.fs]
command = {command}
allow = ["read_text_file", "list_directory"]
risk = "low"
timeout_secs = 20
constraints = {{ read_text_file = [{{ argument = "path", path_prefixes = ["{docs}"] }}] }}
"#,
        command = argv(&[
            &node.display().to_string(),
            &server_script("server-filesystem"),
            docs
        ]),
    )
}

/// server-everything over stdio with `extra` lines in its table.
fn everything_server(allow: &[&str], extra: &str) -> String {
    format!(
        "[mcp_servers.every]\ncommand = {}\nallow = {}\n{extra}\n",
        argv(&[
            &node().display().to_string(),
            &server_script("server-everything"),
            "stdio"
        ]),
        argv(allow)
    )
}

fn audit(home: &TempHome) -> Vec<Value> {
    read_jsonl(&home.path().join("data/audit.jsonl"))
}

/// The tool messages of an OpenAI request, in order.
fn openai_tool_results(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn declared_names(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .map(|t| {
                    t["function"]["name"]
                        .as_str()
                        .or(t["name"].as_str())
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn allowed_filesystem_tools_run_and_everything_else_is_refused_before_the_server_sees_it() {
    let home = TempHome::new();
    let docs = docs(&home);
    home.write("config.toml", filesystem_server(&docs));
    let written = format!("{docs}/new.txt");
    let calls = [
        (
            "fs__read_text_file",
            format!(r#"{{"path": "{docs}/a.txt"}}"#),
        ),
        (
            "fs__write_file",
            format!(r#"{{"path": "{written}", "content": "x"}}"#),
        ),
        (
            "fs__read_text_file",
            format!(r#"{{"path": "{docs}/../secret.txt"}}"#),
        ),
        ("fs__read_text_file", r#"{"path": 5}"#.to_string()),
        ("fs__list_directory", format!(r#"{{"path": "{docs}"}}"#)),
    ];
    let call_refs: Vec<(&str, &str)> = calls.iter().map(|(n, a)| (*n, a.as_str())).collect();
    let fake = FakeProvider::start(vec![
        Reply::openai_tool_calls_stream("gpt-4o-mini", &call_refs),
        Reply::openai_stream("gpt-4o-mini", &["the docs say hello"], Some((40, 5))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "what do the docs say?"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "the docs say hello\n"
    );

    let requests = fake.requests();
    // Only the allowed tools were offered, namespaced by server.
    assert_eq!(
        declared_names(&requests[0].json()),
        ["fs__list_directory", "fs__read_text_file"]
    );
    let schema = &requests[0].json()["tools"][1]["function"]["parameters"];
    assert_eq!(
        schema["properties"]["path"]["type"], "string",
        "the server's own schema: {schema}"
    );
    let results = openai_tool_results(&requests[1].json());
    assert_eq!(results.len(), 5);
    assert!(results[0].contains("hello from the docs"), "{}", results[0]);
    assert!(
        results[1].contains("no tool named `fs__write_file`"),
        "{}",
        results[1]
    );
    assert!(results[2].contains("`..`"), "{}", results[2]);
    assert!(results[3].contains("invalid arguments"), "{}", results[3]);
    assert!(results[4].contains("a.txt"), "{}", results[4]);
    let everything_sent = &requests[1].body;
    assert!(!everything_sent.contains("launch codes"));
    assert!(
        !std::path::Path::new(&written).exists(),
        "the tool outside `allow` never ran"
    );

    let trail = audit(&home);
    let decisions: Vec<&str> = trail
        .iter()
        .map(|r| r["decision"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        decisions,
        [
            "allowed",
            "refused_unknown_tool",
            "refused_constraint",
            "refused_invalid_arguments",
            "allowed"
        ]
    );
    assert_eq!(trail[0]["server"], "fs");
    assert_eq!(trail[0]["tool"], "fs__read_text_file");
    assert_eq!(trail[0]["result_sha256"].as_str().map(str::len), Some(64));
    assert!(
        trail[2]["result_sha256"].is_null(),
        "refused calls never ran"
    );
    let conversation = home.conversations()[0][0]["id"].clone();
    assert!(trail.iter().all(|r| r["conversation_id"] == conversation));
}

/// The reference server with only its image tool allowed, low risk.
fn image_server() -> String {
    everything_server(&["get-tiny-image"], "risk = \"low\"")
}

/// An Anthropic turn that calls the image tool, then answers "a logo".
fn anthropic_image_turn() -> Vec<Reply> {
    vec![
        Reply::anthropic_tool_use_stream(
            "claude-sonnet-4-5",
            "every__get-tiny-image",
            &["{}"],
            (30, 8),
        ),
        Reply::anthropic_stream("claude-sonnet-4-5", &["a logo"], (60, 4)),
    ]
}

#[test]
fn images_reach_anthropic_as_image_blocks_and_openai_as_a_note() {
    let home = TempHome::new();
    home.write("config.toml", image_server());
    let mut replies = anthropic_image_turn();
    replies.extend([
        Reply::openai_tool_call_stream("gpt-4o-mini", "every__get-tiny-image", &["{}"]),
        Reply::openai_stream("gpt-4o-mini", &["a logo"], Some((40, 5))),
    ]);
    let fake = FakeProvider::start(replies);
    let output = home
        .confab_anthropic(&fake.base_url())
        .args(["chat", "-m", "claude-sonnet-4-5", "show me the logo"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let second = fake.requests()[1].json();
    let result = second["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .find(|block| block["type"] == "tool_result")
        .expect("a tool_result block");
    let blocks = result["content"].as_array().expect("content blocks");
    let image = blocks
        .iter()
        .find(|b| b["type"] == "image")
        .expect("an image block");
    assert_eq!(image["source"]["type"], "base64");
    assert_eq!(image["source"]["media_type"], "image/png");
    assert!(image["source"]["data"]
        .as_str()
        .is_some_and(|d| d.len() > 100));
    assert!(blocks.iter().any(|b| b["type"] == "text"));

    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "show me the logo"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let results = openai_tool_results(&fake.requests()[3].json());
    assert!(
        results[0].contains("the tool returned an image (image/png"),
        "{}",
        results[0]
    );
}

/// `chat -c` after an MCP tool round resends the call and its result
/// (the conversation keeps a note in place of the image, not megabytes of
/// base64), with the server's tools still offered.
#[test]
fn continuing_after_an_mcp_round_resends_it_with_the_image_as_a_note() {
    let home = TempHome::new();
    home.write("config.toml", image_server());
    let mut replies = anthropic_image_turn();
    replies.push(Reply::anthropic_stream(
        "claude-sonnet-4-5",
        &["still a logo"],
        (80, 4),
    ));
    let fake = FakeProvider::start(replies);
    for args in [
        ["chat", "-m", "claude-sonnet-4-5", "show me the logo"].as_slice(),
        ["chat", "-c", "what was it?"].as_slice(),
    ] {
        let output = home
            .confab_anthropic(&fake.base_url())
            .args(args)
            .output()
            .expect("running confab");
        support::assert_success(&output);
    }
    let records = &home.conversations()[0];
    let kept = records
        .iter()
        .find(|r| r["type"] == "tool_result")
        .expect("a tool_result record");
    assert_eq!(kept["tool"], "every__get-tiny-image");
    assert!(kept["result"].get("images").is_none(), "{kept}");
    assert!(kept["result"]["content"]
        .as_str()
        .is_some_and(|c| c.contains("returned an image (image/png)")));

    let third = fake.requests()[2].json();
    assert_eq!(declared_names(&third), ["every__get-tiny-image"]);
    let messages = third["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 5, "{third}");
    assert_eq!(messages[1]["content"][0]["type"], "tool_use");
    assert_eq!(messages[1]["content"][0]["name"], "every__get-tiny-image");
    let call_id = &messages[1]["content"][0]["id"];
    let result = &messages[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(&result["tool_use_id"], call_id);
    assert!(
        !third.to_string().contains("\"type\":\"image\""),
        "the image went once: {third}"
    );
    assert_eq!(messages[3]["content"], "a logo");
    assert_eq!(messages[4]["content"], "what was it?");
}

#[test]
fn high_risk_server_tools_need_approval() {
    let home = TempHome::new();
    home.write("config.toml", everything_server(&["get-sum"], ""));
    let sum = || {
        Reply::openai_tool_call_stream("gpt-4o-mini", "every__get-sum", &[r#"{"a": 2, "b": 3}"#])
    };
    let fake = FakeProvider::start(vec![
        sum(),
        Reply::openai_stream("gpt-4o-mini", &["I may not"], Some((10, 2))),
        sum(),
        Reply::openai_stream("gpt-4o-mini", &["five"], Some((10, 2))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "add 2 and 3"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let refused = openai_tool_results(&fake.requests()[1].json());
    assert!(refused[0].contains("needs approval"), "{}", refused[0]);

    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "--approve-tools", "every__get-sum", "add 2 and 3"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let ran = openai_tool_results(&fake.requests()[3].json());
    assert!(ran[0].contains("The sum of 2 and 3 is 5"), "{}", ran[0]);
    let decisions: Vec<Value> = audit(&home).iter().map(|r| r["decision"].clone()).collect();
    assert_eq!(decisions, ["refused_no_terminal", "approved_by_flag"]);
}

#[test]
fn a_slow_call_times_out_and_the_chat_goes_on() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        everything_server(
            &["trigger-long-running-operation"],
            "risk = \"low\"\ntimeout_secs = 5",
        ),
    );
    let fake = FakeProvider::start(vec![
        Reply::openai_tool_call_stream(
            "gpt-4o-mini",
            "every__trigger-long-running-operation",
            &[r#"{"duration": 300, "steps": 300}"#],
        ),
        Reply::openai_stream("gpt-4o-mini", &["it took too long"], Some((10, 2))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "run the long job"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let results = openai_tool_results(&fake.requests()[1].json());
    assert!(
        results[0].contains("MCP server `every` did not answer within 5 s"),
        "{}",
        results[0]
    );
    let trail = audit(&home);
    assert_eq!(trail[0]["timed_out"], true);
    assert_eq!(trail[0]["server"], "every");
}

#[test]
fn a_server_that_dies_mid_call_is_an_error_naming_it() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        format!(
            "[mcp_servers.dying]\ncommand = {}\nallow = [\"crash\"]\nrisk = \"low\"\n",
            argv(&[&node().display().to_string(), &fake_server(), "dying"])
        ),
    );
    let fake = FakeProvider::start(vec![
        Reply::openai_tool_call_stream("gpt-4o-mini", "dying__crash", &["{}"]),
        Reply::openai_stream("gpt-4o-mini", &["the tool broke"], Some((10, 2))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "crash it"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let results = openai_tool_results(&fake.requests()[1].json());
    assert!(
        results[0].contains("MCP server `dying` stopped"),
        "{}",
        results[0]
    );
    assert!(
        results[0].contains("out of cheese"),
        "its stderr: {}",
        results[0]
    );
    assert!(stderr_of(&output).contains("MCP server `dying` stopped"));
}

#[test]
fn a_server_that_cannot_start_stops_the_chat_before_any_call() {
    let home = TempHome::new();
    let missing = home.path().join("no-such-dir").display().to_string();
    home.write("config.toml", filesystem_server(&missing));
    let fake = FakeProvider::start(vec![Reply::openai_stream("gpt-4o-mini", &["hi"], None)]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hello"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("MCP server `fs` could not be started"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no-such-dir"),
        "the server's own words: {stderr}"
    );
    assert!(fake.requests().is_empty(), "no API call was spent");

    // A program that never speaks MCP: its timeout, not a hang.
    home.write(
        "config.toml",
        "[mcp_servers.mute]\ncommand = [\"sleep\", \"600\"]\nallow = [\"x\"]\ntimeout_secs = 1\n",
    );
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hello"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("MCP server `mute` did not answer within 1 s"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn only_the_listed_environment_reaches_a_stdio_server() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        everything_server(&["get-env"], "risk = \"low\"\nenv = [\"DOCS_TOKEN\"]"),
    );
    let fake = FakeProvider::start(vec![
        Reply::openai_tool_call_stream("gpt-4o-mini", "every__get-env", &["{}"]),
        Reply::openai_stream("gpt-4o-mini", &["ok"], Some((10, 2))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .env("DOCS_TOKEN", "passed-on-value")
        .env("UNLISTED_VARIABLE", "kept-back-value")
        .args(["chat", "what is your environment?"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let results = openai_tool_results(&fake.requests()[1].json());
    assert!(results[0].contains("passed-on-value"), "{}", results[0]);
    assert!(!results[0].contains("kept-back-value"), "{}", results[0]);
    assert!(
        !results[0].contains("test-openai-key"),
        "confab's own key never reaches a server: {}",
        results[0]
    );
}

#[test]
fn streamable_http_servers_work_like_stdio_ones() {
    let server = RealServer::start_until(
        "server-everything (Streamable HTTP)",
        &node(),
        &[&server_script("server-everything"), "streamableHttp"],
        &[],
        &[("PORT", "{port}")],
        &|port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        Duration::from_secs(60),
    );
    let home = TempHome::new();
    home.write(
        "config.toml",
        format!(
            "[mcp_servers.every]\nurl = \"{}/mcp\"\nallow = [\"echo\"]\nrisk = \"low\"\nheaders = {{ X-Confab-Test = \"${{CONFAB_TEST_HEADER}}\" }}\n",
            server.root()
        ),
    );
    let fake = FakeProvider::start(vec![
        Reply::openai_tool_call_stream(
            "gpt-4o-mini",
            "every__echo",
            &[r#"{"message": "ping over http"}"#],
        ),
        Reply::openai_stream("gpt-4o-mini", &["pong"], Some((10, 2))),
    ]);
    let output = home
        .confab_openai(&fake.base_url())
        .env("CONFAB_TEST_HEADER", "from-the-environment")
        .args(["chat", "echo something"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(declared_names(&fake.requests()[0].json()), ["every__echo"]);
    let results = openai_tool_results(&fake.requests()[1].json());
    assert!(
        results[0].contains("Echo: ping over http"),
        "{}",
        results[0]
    );

    // A header naming an unset variable is an error that names it.
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "echo something"])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("${CONFAB_TEST_HEADER}"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn tools_list_marks_what_is_offered_and_tools_call_runs_one_through_the_checks() {
    let home = TempHome::new();
    let docs = docs(&home);
    home.write(
        "config.toml",
        format!(
            "{}\n[mcp_servers.poisoned]\ncommand = {}\nallow = [\"weather\", \"time\"]\nrisk = \"low\"\n",
            filesystem_server(&docs),
            argv(&[&node().display().to_string(), &fake_server(), "poisoned"])
        ),
    );
    let output = home
        .confab()
        .args(["tools", "list", "--json"])
        .output()
        .expect("running confab");
    let listing = support::success_json(&output);
    let servers = listing["mcp_servers"].as_array().expect("servers");
    let tool = |server: &str, name: &str| -> Value {
        servers
            .iter()
            .find(|s| s["server"] == server)
            .and_then(|s| s["tools"].as_array())
            .and_then(|tools| tools.iter().find(|t| t["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{server} lists {name}: {listing}"))
    };
    assert_eq!(tool("fs", "read_text_file")["offered"], true);
    assert_eq!(
        tool("fs", "read_text_file")["qualified_name"],
        "fs__read_text_file"
    );
    assert_eq!(tool("fs", "write_file")["offered"], false);
    assert_eq!(
        tool("fs", "write_file")["not_offered_because"],
        "not in `allow`"
    );
    let weather = tool("poisoned", "weather");
    assert_eq!(weather["offered"], false, "{weather}");
    assert!(weather["not_offered_because"]
        .as_str()
        .is_some_and(|why| why.contains("reads like instructions")));
    assert_eq!(tool("poisoned", "time")["offered"], true);

    let inside = format!(r#"{{"path": "{docs}/a.txt"}}"#);
    let output = home
        .confab()
        .args(["tools", "call", "fs__read_text_file", "--args", &inside])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello from the docs\n"
    );
    let outside = format!(r#"{{"path": "{docs}/../secret.txt"}}"#);
    let output = home
        .confab()
        .args(["tools", "call", "fs__read_text_file", "--args", &outside])
        .output()
        .expect("running confab");
    assert_eq!(output.status.code(), Some(5), "{}", stderr_of(&output));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("launch codes"));
    let decisions: Vec<Value> = audit(&home).iter().map(|r| r["decision"].clone()).collect();
    assert_eq!(decisions, ["allowed", "refused_constraint"]);
}

/// The processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|line| line.contains(needle))
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn servers_are_shut_down_when_confab_exits() {
    let home = TempHome::new();
    let docs = docs(&home);
    home.write("config.toml", filesystem_server(&docs));
    let fake = FakeProvider::start(vec![Reply::openai_stream("gpt-4o-mini", &["hi"], None)]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "hello"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(
        declared_names(&fake.requests()[0].json()).len(),
        2,
        "it ran"
    );
    assert_eq!(processes_mentioning(&docs), Vec::<String>::new());
}

#[test]
fn a_bad_server_table_is_a_usage_error_naming_the_key_and_headers_are_masked() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[mcp_servers.fs]\ncommand = [\"x\"]\nurl = \"http://127.0.0.1:1/mcp\"\nallow = [\"a\"]\n",
    );
    home.confab()
        .args(["chat", "hello"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "mcp_servers.fs: set `command` (stdio) or `url` (HTTP), not both",
        ));
    home.write(
        "config.toml",
        "[mcp_servers.remote]\nurl = \"http://127.0.0.1:1/mcp\"\nallow = [\"a\"]\nheaders = { Authorization = \"Bearer literal-token-123\", X-Other = \"${FROM_ENV}\" }\n",
    );
    let output = home
        .confab()
        .arg("config")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(!shown.contains("literal-token-123"), "{shown}");
    assert!(
        shown.contains("${FROM_ENV}"),
        "a variable's name is no secret: {shown}"
    );
}
