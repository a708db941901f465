use super::*;

fn rendering() -> Rendering {
    Rendering::new(ColourDepth::Ansi256)
}

fn render(text: &str) -> String {
    rendering().render_all(text)
}

/// What the screen shows: the text without its SGR sequences.
fn visible(text: &str) -> String {
    without_sgr(text)
}

const SAMPLE: &str = "# Title\n\
Some **bold**, *em*, `code` and [a link](https://example.com/x).\n\
\n\
- one\n\
- two with `x`\n\
1. first\n\
> quoted *text*\n\
\n\
| name | n |\n\
|:-----|--:|\n\
| a | 1 |\n\
| bbb | 22 |\n\
\n\
```rust\n\
fn main() {\n\
    println!(\"héllo\");\n\
}\n\
```\n\
~~~\n\
plain ``` inside\n\
~~~\n\
---\n\
last line without newline é";

#[test]
fn a_heading_is_bold_and_coloured_without_its_hashes() {
    assert_eq!(render("# Title\n"), "\x1b[0;1;4;35mTitle\x1b[0m\n");
    assert_eq!(render("## Sub ##\n"), "\x1b[0;1;35mSub\x1b[0m\n");
    assert_eq!(visible(&render("#hashtag\n")), "#hashtag\n");
}

#[test]
fn emphasis_strong_and_code_are_styled() {
    assert_eq!(
        render("a **b** *c* `d`\n"),
        "a \x1b[0;1mb\x1b[0m \x1b[0;3mc\x1b[0m \x1b[0;36md\x1b[0m\n"
    );
    assert_eq!(visible(&render("~~gone~~ \\*lit\\*\n")), "gone *lit*\n");
}

#[test]
fn list_items_get_bullets_and_keep_numbers_and_indentation() {
    assert_eq!(render("- item\n"), "\x1b[0;36m•\x1b[0m item\n");
    assert_eq!(visible(&render("  * nested\n")), "  • nested\n");
    assert_eq!(
        visible(&render("1. one\n12) twelve\n")),
        "1. one\n12) twelve\n"
    );
}

#[test]
fn a_quote_is_dim_with_a_bar() {
    assert_eq!(
        render("> wise\n"),
        "\x1b[0;2m│\x1b[0m \x1b[0;2mwise\x1b[0m\n"
    );
    assert_eq!(visible(&render("> > deeper\n")), "│ │ deeper\n");
}

#[test]
fn a_rule_is_a_dim_line() {
    assert_eq!(
        render("***\n"),
        format!("\x1b[0;2m{}\x1b[0m\n", "─".repeat(40))
    );
}

#[test]
fn a_link_shows_its_text_then_the_url_dimmed() {
    let out = render("see [docs](https://x.example/a)\n");
    assert_eq!(visible(&out), "see docs (https://x.example/a)\n");
    assert!(out.contains("\x1b[0;4mdocs"), "{out:?}");
    assert!(out.contains("\x1b[0;2m (https://x.example/a)"), "{out:?}");
    // An autolink's text is its URL: shown once.
    assert_eq!(
        visible(&render("<https://x.example>\n")),
        "https://x.example\n"
    );
}

#[test]
fn what_the_parser_would_swallow_is_shown_as_written() {
    assert_eq!(
        render("[a]: https://x.example\n"),
        "[a]: https://x.example\n"
    );
}

#[test]
fn a_table_is_aligned_once_it_ends() {
    let mut renderer = rendering().renderer();
    assert_eq!(renderer.push("| a | bb |\n|---|--:|\n| ccc | d |\n"), "");
    let out = renderer.push("after\n");
    assert_eq!(visible(&out), "a   │ bb\n────┼───\nccc │  d\nafter\n");
    assert!(
        out.starts_with("\x1b[0;1ma\x1b[0m"),
        "the header is bold: {out:?}"
    );
}

#[test]
fn a_table_at_the_end_of_the_reply_is_shown_by_finish() {
    let mut renderer = rendering().renderer();
    assert_eq!(renderer.push("| x | y |\n| - | :-: |\n| 1 | 2 |\n"), "");
    assert_eq!(visible(&renderer.finish()), "x │ y\n──┼──\n1 │ 2\n");
}

#[test]
fn pipe_rows_without_a_delimiter_row_are_plain_lines() {
    assert_eq!(
        visible(&render("| not | a table |\n")),
        "| not | a table |\n"
    );
}

#[test]
fn escaped_pipes_and_pipes_in_code_stay_in_their_cell() {
    let out = visible(&render("| a \\| b | `c|d` |\n|---|---|\n"));
    assert_eq!(out, "a | b │ c|d\n──────┼────\n");
}

#[test]
fn a_code_block_is_highlighted_and_its_fences_dimmed() {
    let out = render("```rust\nfn main() {}\n```\n");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "\x1b[0;2m```rust\x1b[0m");
    assert!(lines[1].contains("\x1b[38;5;"), "{out:?}");
    assert_eq!(visible(lines[1]), "fn main() {}");
    assert!(lines[1].ends_with(RESET));
    assert_eq!(lines[2], "\x1b[0;2m```\x1b[0m");
    // No Markdown inside code.
    assert_eq!(
        visible(&render("```\n# not a heading **x**\n```\n")),
        "```\n# not a heading **x**\n```\n"
    );
}

#[test]
fn true_colour_terminals_get_24_bit_code_colours() {
    let out = Rendering::new(ColourDepth::TrueColour).render_all("```rust\nlet x = 1;\n```\n");
    assert!(out.contains("\x1b[38;2;"), "{out:?}");
}

#[test]
fn an_open_code_block_is_rendered_as_code_line_by_line() {
    let mut renderer = rendering().renderer();
    assert_eq!(visible(&renderer.push("```python\n")), "```python\n");
    let line = renderer.push("def f():\n");
    assert!(line.contains("\x1b[38;5;"), "{line:?}");
    assert_eq!(visible(&line), "def f():\n");
    assert_eq!(visible(&renderer.finish()), "");
}

#[test]
fn fences_close_only_with_their_own_marker() {
    let out = visible(&render("~~~~\n```\n~~~\n~~~~\nafter **x**\n"));
    assert_eq!(out, "~~~~\n```\n~~~\n~~~~\nafter x\n");
}

#[test]
fn the_partial_line_is_held_until_its_newline() {
    let mut renderer = rendering().renderer();
    assert_eq!(renderer.push("# Tit"), "");
    assert_eq!(renderer.push("le"), "");
    assert_eq!(renderer.push("\nnext"), "\x1b[0;1;4;35mTitle\x1b[0m\n");
}

#[test]
fn finish_renders_the_unfinished_line_without_adding_a_newline() {
    let mut renderer = rendering().renderer();
    assert_eq!(renderer.push("**bold**"), "");
    assert_eq!(renderer.finish(), "\x1b[0;1mbold\x1b[0m");
    // Ready for the next reply, outside any block.
    assert_eq!(renderer.finish(), "");
    assert_eq!(renderer.push("*x*\n"), "\x1b[0;3mx\x1b[0m\n");
}

#[test]
fn any_split_of_the_reply_renders_the_same() {
    let whole = render(SAMPLE);
    let rendering = rendering();
    for (i, _) in SAMPLE.char_indices() {
        let mut renderer = rendering.renderer();
        let mut out = renderer.push(&SAMPLE[..i]);
        out.push_str(&renderer.push(&SAMPLE[i..]));
        out.push_str(&renderer.finish());
        assert_eq!(out, whole, "split at byte {i}");
    }
    let mut renderer = rendering.renderer();
    let mut out = String::new();
    for c in SAMPLE.chars() {
        out.push_str(&renderer.push(c.encode_utf8(&mut [0; 4])));
    }
    out.push_str(&renderer.finish());
    assert_eq!(out, whole, "one character at a time");
}

#[test]
fn the_sample_shows_all_its_text() {
    let shown = visible(&render(SAMPLE));
    for text in [
        "Title",
        "a link (https://example.com/x)",
        "• two with x",
        "│ quoted text",
        "bbb  │ 22",
        "println!(\"héllo\");",
        "plain ``` inside",
        "last line without newline é",
    ] {
        assert!(shown.contains(text), "{text:?} missing from:\n{shown}");
    }
    assert!(!shown.ends_with('\n'));
}

#[test]
fn an_endless_line_is_not_held() {
    let mut renderer = rendering().renderer();
    let long = "x".repeat(MAX_PENDING_LINE + 1);
    assert_eq!(
        renderer.push(&long),
        long,
        "shown plain once past the bound"
    );
    assert_eq!(renderer.push("**y**"), "**y**", "the rest of the line too");
    assert_eq!(renderer.push("\n*z*\n"), "\n\x1b[0;3mz\x1b[0m\n");
}

#[test]
fn a_long_table_is_not_held_forever() {
    let mut renderer = rendering().renderer();
    assert_eq!(renderer.push("| h |\n|---|\n"), "");
    let mut shown = String::new();
    for i in 0..MAX_TABLE_ROWS {
        shown.push_str(&renderer.push(&format!("| {i} |\n")));
    }
    assert!(visible(&shown).starts_with("h\n"), "{shown:?}");
    assert_eq!(visible(&renderer.push("| more |\n")), "| more |\n");
}

#[test]
fn escape_sequences_from_the_model_are_made_visible() {
    for text in [
        "\x1b[31mred\n",
        "# \x1b]0;title\x07\n",
        "```\n\x1b[2Jcode\n```\n",
        "| \x1b[1m | x |\n|---|---|\n",
    ] {
        let out = render(text);
        let without_ours = out
            .replace("\x1b[0m", "")
            .replace("\x1b[0;", "")
            .replace("\x1b[38;5;", "");
        assert!(!without_ours.contains('\x1b'), "{text:?} -> {out:?}");
        assert!(out.contains("\\u{1b}"), "{text:?} -> {out:?}");
    }
}

#[test]
fn carriage_returns_before_newlines_are_dropped() {
    assert_eq!(render("*a*\r\nb\r\n"), "\x1b[0;3ma\x1b[0m\nb\n");
}

#[test]
fn colorterm_picks_the_colour_depth() {
    assert_eq!(
        ColourDepth::from_colorterm(Some("truecolor")),
        ColourDepth::TrueColour
    );
    assert_eq!(
        ColourDepth::from_colorterm(Some("24bit")),
        ColourDepth::TrueColour
    );
    assert_eq!(ColourDepth::from_colorterm(None), ColourDepth::Ansi256);
    assert_eq!(
        xterm_index(Color {
            r: 255,
            g: 0,
            b: 0,
            a: 255
        }),
        196
    );
}

#[test]
fn a_reply_without_code_loads_no_syntaxes() {
    let rendering = rendering();
    rendering.render_all("# just prose\n| a |\n|---|\n");
    assert!(rendering.code.loaded.get().is_none());
    rendering.render_all("```\nx\n```\n");
    assert!(rendering.code.loaded.get().is_some());
}
