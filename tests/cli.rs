//! The command line as a whole: help, version, the exit-code table, and the
//! commands that are declared but not built yet.

mod support;

use predicates::prelude::*;
use support::TempHome;

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let home = TempHome::new();
    let output = home
        .confab()
        .arg("--help")
        .output()
        .expect("running confab");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for sub in [
        "chat",
        "count-tokens",
        "rag",
        "replay",
        "cost-report",
        "completions",
    ] {
        assert!(help.contains(sub), "--help lists {sub}");
    }
    assert!(help.contains("3 budget or token limit exceeded"));
}

#[test]
fn bad_flags_are_usage_errors() {
    let home = TempHome::new();
    home.confab()
        .args(["count-tokens", "--no-such-flag"])
        .assert()
        .code(2);
    home.confab()
        .args(["count-tokens", "-e", "p50k_base", "--text", "x"])
        .assert()
        .code(2);
}

#[test]
fn completions_are_printed_for_each_shell() {
    let home = TempHome::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        home.confab()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("count-tokens"));
    }
}
