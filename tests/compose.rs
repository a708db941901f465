//! Writing a message in the editor (issue #16, part 4): `chat -e` and the
//! REPL's `/edit` open `$EDITOR` on a private draft, send what was written
//! and remove the draft; an empty draft sends nothing. And `/copy` without
//! a terminal says why it cannot copy.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::fake_provider::{FakeProvider, Reply};
use support::{stderr_of, TempHome};

/// An "editor" that writes `text` into the file it is given.
fn editor_writing(home: &TempHome, text: &str) -> std::path::PathBuf {
    let script = home.write(
        "editor.sh",
        format!("#!/bin/sh\nprintf '%s' '{text}' > \"$1\"\n"),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

fn drafts_left(home: &TempHome) -> usize {
    std::fs::read_dir(home.path().join("data/drafts"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[test]
fn chat_e_sends_what_was_written_after_the_message_and_removes_the_draft() {
    let home = TempHome::new();
    let editor = editor_writing(&home, "a long\nmulti-line question");
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["ok"],
        Some((9, 1)),
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .env("EDITOR", &editor)
        .args(["chat", "-e", "Context first."])
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(
        fake.requests()[0].json()["messages"][0]["content"],
        "Context first.\n\na long\nmulti-line question"
    );
    assert_eq!(drafts_left(&home), 0);

    let empty = editor_writing(&home, "");
    let nothing = home
        .confab_openai(&fake.base_url())
        .env("EDITOR", &empty)
        .args(["chat", "-e"])
        .output()
        .expect("running confab");
    assert_eq!(nothing.status.code(), Some(2));
    assert!(stderr_of(&nothing).contains("nothing sent"));
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn the_repl_edit_command_sends_the_draft_and_copy_needs_a_terminal() {
    let home = TempHome::new();
    let editor = editor_writing(&home, "written in the editor");
    let fake = FakeProvider::start(vec![Reply::openai_stream(
        "gpt-4o-mini",
        &["a reply"],
        Some((9, 2)),
    )]);
    let output = home
        .confab_openai(&fake.base_url())
        .env("EDITOR", &editor)
        .args(["chat", "-i"])
        .write_stdin("/edit\n/copy\n/exit\n")
        .output()
        .expect("running confab");
    support::assert_success(&output);
    assert_eq!(
        fake.requests()[0].json()["messages"][0]["content"],
        "written in the editor"
    );
    let stderr = stderr_of(&output);
    assert!(stderr.contains("no terminal to copy through"), "{stderr}");
    assert_eq!(drafts_left(&home), 0);
}
