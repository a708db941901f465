//! Attachments (issue #16, part 2): `chat -a PATH` sends images and PDFs
//! as their own parts in both wire formats and text files as fenced,
//! labelled context; limits and types are checked before anything is
//! sent; the conversation file records attachments by hash and path while
//! the bytes are kept once in the attachment store, so `-c` resends them;
//! image tokens count against the window and in `count-tokens --cost`.

mod support;

use base64::Engine as _;
use serde_json::Value;
use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome, TINY_PNG as PNG};

/// A PNG header claiming `width` x `height` pixels (enough for the size
/// check and the token estimate).
fn png_of(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = PNG[..16].to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend(&PNG[24..]);
    bytes
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n%%EOF\n";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn claude(text: &str) -> Reply {
    Reply::anthropic_stream("claude-sonnet-4-5", &[text], (30, 4))
}

fn conversation_id(home: &TempHome) -> String {
    home.conversations()[0][0]["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

fn user_record(home: &TempHome) -> Value {
    home.conversations()[0]
        .iter()
        .find(|r| r["role"] == "user")
        .cloned()
        .expect("a user message")
}

#[test]
fn anthropic_gets_image_and_document_blocks_and_continuing_resends_them() {
    let home = TempHome::new();
    let shot = home.write("shot.png", PNG);
    let doc = home.write("doc.pdf", PDF);
    home.write("notes.txt", "a note with ``` inside\n");
    let fake = FakeProvider::start(vec![
        claude("a red dot"),
        claude("still a dot"),
        claude("it is gone"),
    ]);
    let output = home
        .confab_anthropic(&fake.base_url())
        .args(["chat", "-m", "claude-sonnet-4-5", "-a"])
        .arg(&shot)
        .args(["-a"])
        .arg(&doc)
        .args(["-a", "notes.txt", "what is this?"])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let first = fake.requests()[0].json();
    let blocks = first["messages"][0]["content"]
        .as_array()
        .expect("blocks")
        .clone();
    assert_eq!(blocks[0]["type"], "image");
    assert_eq!(blocks[0]["source"]["media_type"], "image/png");
    assert_eq!(blocks[0]["source"]["data"], b64(PNG));
    assert_eq!(blocks[1]["type"], "document");
    assert_eq!(blocks[1]["source"]["media_type"], "application/pdf");
    assert_eq!(blocks[1]["source"]["data"], b64(PDF));
    let text = blocks[2]["text"].as_str().expect("text");
    assert!(
        text.starts_with("what is this?\n\n[attached file: notes.txt]\n````\n"),
        "{text}"
    );

    // The file keeps references; the bytes are in the store, once.
    let user = user_record(&home);
    let attachments = user["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["media_type"], "image/png");
    assert_eq!(attachments[0]["bytes"], PNG.len());
    assert!(attachments[0].get("data").is_none());
    let sha = attachments[0]["sha256"].as_str().expect("sha").to_string();
    let stored = std::fs::read(home.path().join("data/attachments").join(&sha)).expect("stored");
    assert_eq!(stored, PNG);
    let dir = home.path().join("data/conversations");
    let file = std::fs::read_dir(&dir)
        .expect("conversations")
        .filter_map(Result::ok)
        .map(|entry| std::fs::read_to_string(entry.path()).expect("conversation"))
        .next()
        .expect("a conversation file");
    assert!(
        !file.contains(&b64(PDF)),
        "no bytes inlined in the conversation file"
    );

    let again = home
        .confab_anthropic(&fake.base_url())
        .args(["chat", "-c", "and now?"])
        .output()
        .expect("running confab");
    support::assert_success(&again);
    let second = fake.requests()[1].json();
    assert_eq!(
        second["messages"][0]["content"][0]["source"]["data"],
        b64(PNG)
    );
    assert_eq!(second["messages"][2]["content"], "and now?");

    let shown = home
        .confab()
        .args(["history", "show"])
        .arg(conversation_id(&home))
        .output()
        .expect("running confab");
    support::assert_success(&shown);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("shot.png (image/png, 67 bytes, sha256 "),
        "{shown}"
    );

    // A stored attachment that is gone is resent as a note saying so.
    std::fs::remove_file(home.path().join("data/attachments").join(&sha)).expect("remove");
    let third = home
        .confab_anthropic(&fake.base_url())
        .args(["chat", "-c", "and the image?"])
        .output()
        .expect("running confab");
    support::assert_success(&third);
    let resent = &fake.requests()[2].json()["messages"][0]["content"];
    assert_eq!(resent[0]["type"], "text");
    assert!(resent[0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("shot.png (image/png) is no longer available")));
    assert_eq!(resent[1]["type"], "document", "the PDF is still there");
}

#[test]
fn openai_gets_a_data_url_and_a_local_server_refuses_pdfs_before_sending() {
    let home = TempHome::new();
    home.write("shot.png", PNG);
    home.write("doc.pdf", PDF);
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["a dot"],
        Some((20, 2)),
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-a", "-", "what is it?"])
        .write_stdin(PNG)
        .output()
        .expect("running confab");
    support::assert_success(&output);
    let parts = fake.requests()[0].json()["messages"][0]["content"].clone();
    assert_eq!(parts[0]["type"], "text");
    assert_eq!(parts[0]["text"], "what is it?");
    assert_eq!(parts[1]["type"], "image_url");
    assert_eq!(
        parts[1]["image_url"]["url"],
        format!("data:image/png;base64,{}", b64(PNG))
    );

    let pdf = home
        .confab_openai(&fake.base_url())
        .args(["chat", "-a", "doc.pdf", "summarise"])
        .output()
        .expect("running confab");
    assert_eq!(pdf.status.code(), Some(2));
    assert!(stderr_of(&pdf).contains("pdftotext"), "{}", stderr_of(&pdf));
    assert_eq!(fake.requests().len(), 1, "nothing was sent");
}

#[test]
fn bad_attachments_are_usage_errors_before_any_call() {
    let home = TempHome::new();
    home.write("blob.bin", [0u8, 0xff, 0xfe, 0x00, 0x10]);
    home.write("huge.png", png_of(9000, 10));
    let fake = FakeProvider::start(vec![]);
    for (file, says) in [
        ("blob.bin", "neither UTF-8 text"),
        ("huge.png", "9000x10 pixels"),
        ("missing.png", "reading missing.png"),
    ] {
        let output = home
            .confab_anthropic(&fake.base_url())
            .args(["chat", "-m", "claude-sonnet-4-5", "-a", file, "look"])
            .output()
            .expect("running confab");
        assert_eq!(output.status.code(), Some(2), "{file}");
        assert!(
            stderr_of(&output).contains(says),
            "{file}: {}",
            stderr_of(&output)
        );
    }
    assert!(fake.requests().is_empty());
    assert!(
        home.conversations().is_empty(),
        "no conversation was started"
    );
}

#[test]
fn image_tokens_count_against_the_window() {
    let home = TempHome::new();
    home.write(
        "config.toml",
        "[models.\"claude-sonnet-4-5\"]\ncontext_window = 1200\nmax_output_tokens = 100\n",
    );
    // About 1600 tokens on Anthropic: more than the window holds.
    home.write("big.png", png_of(4000, 3000));
    home.write("small.png", png_of(200, 200));
    let fake = FakeProvider::start(vec![claude("ok")]);
    let look_at = |image: &str| {
        home.confab_anthropic(&fake.base_url())
            .args([
                "chat",
                "-m",
                "claude-sonnet-4-5",
                "--max-tokens",
                "100",
                "-a",
                image,
                "look",
            ])
            .output()
            .expect("running confab")
    };
    let over = look_at("big.png");
    assert_eq!(over.status.code(), Some(3), "{}", stderr_of(&over));
    assert!(fake.requests().is_empty());
    support::assert_success(&look_at("small.png"));
}

#[test]
fn count_tokens_cost_includes_each_providers_image_estimate() {
    let home = TempHome::new();
    home.write("tall.png", png_of(2048, 4096));
    let output = home
        .confab()
        .args([
            "count-tokens",
            "--cost",
            "-m",
            "gpt-4o,claude-sonnet-4-5",
            "-a",
            "tall.png",
            "--json",
            "--text",
            "",
        ])
        .output()
        .expect("running confab");
    let json = support::success_json(&output);
    let models = json["models"].as_array().expect("models");
    // OpenAI's published example: 2048x4096 is 1105 tokens.
    assert_eq!(models[0]["attachment_tokens"], 1105);
    let claude = models[1]["attachment_tokens"].as_u64().expect("tokens");
    assert!((1550..=1600).contains(&claude), "{claude}");
    assert!(models[1]["input_tokens"].as_u64() >= Some(claude));
}

#[test]
fn replay_shows_the_attachments_and_a_re_run_sends_them_again() {
    let home = TempHome::new();
    home.write("shot.png", PNG);
    let fake = FakeProvider::start(vec![
        claude("a dot"),
        Reply::openai_stream("gpt-4o-mini", &["a dot too"], Some((20, 3))),
    ]);
    let first = home
        .confab_anthropic(&fake.base_url())
        .args([
            "chat",
            "-m",
            "claude-sonnet-4-5",
            "-a",
            "shot.png",
            "what is it?",
        ])
        .output()
        .expect("running confab");
    support::assert_success(&first);
    let id = conversation_id(&home);
    let shown = home
        .confab()
        .args(["replay", &id])
        .output()
        .expect("running confab");
    support::assert_success(&shown);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("[attached shot.png (image/png, 67 bytes)]"),
        "{text}"
    );

    let rerun = home
        .confab_anthropic(&fake.base_url())
        .env("OPENAI_API_KEY", "test-openai-key")
        .env("OPENAI_BASE_URL", format!("{}/v1", fake.base_url()))
        .args(["replay", &id, "-m", "gpt-4o-mini", "--json"])
        .output()
        .expect("running confab");
    support::assert_success(&rerun);
    let parts = fake.requests()[1].json()["messages"][0]["content"].clone();
    assert_eq!(parts[1]["type"], "image_url", "{parts}");
    assert_eq!(
        parts[1]["image_url"]["url"],
        format!("data:image/png;base64,{}", b64(PNG))
    );
}
