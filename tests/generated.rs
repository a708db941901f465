//! The shell completions in `completions/` and the man pages in `docs/man/` are
//! generated from the clap definitions; this test fails when they are out of
//! date. Regenerate them with `CONFAB_REGENERATE=1 cargo test --test generated`.

use std::path::Path;

fn check(path: &Path, expected: &str) {
    if std::env::var_os("CONFAB_REGENERATE").is_some() {
        std::fs::write(path, expected).expect("writing generated file");
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is out of date; run `CONFAB_REGENERATE=1 cargo test --test generated` and commit it",
        path.display()
    );
}

#[test]
fn completions_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in confab::cli::COMPLETION_FILES {
        check(&dir.join(file), &confab::cli::render_completions(shell));
    }
}

#[test]
fn man_page_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    if std::env::var_os("CONFAB_REGENERATE").is_some() {
        std::fs::create_dir_all(&dir).expect("creating docs/man");
    }
    let pages = confab::cli::render_man_pages().expect("rendering the man pages");
    assert!(pages.len() > 5, "one page per subcommand");
    for (file, page) in pages {
        check(&dir.join(file), &page);
    }
}
