//! HTML pages as text for indexing: tags dropped, block structure kept as
//! line breaks, headings turned into Markdown ones (so the chunker follows
//! them), entities decoded, and what is not content left out: scripts,
//! styles, inline SVG, `<noscript>`, `<template>` and navigation (`<nav>`:
//! the table of contents that a generated site repeats on every page).
//!
//! The page's `<title>` becomes the outermost heading and the page's own
//! headings nest under it, so every chunk's heading path names its page.

/// Elements whose content is never indexed.
const SKIPPED: &[&str] = &[
    "script", "style", "svg", "noscript", "template", "nav", "iframe", "object",
];

/// Elements that end a line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "tr",
    "pre",
    "section",
    "article",
    "table",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "hr",
    "header",
    "footer",
    "main",
    "aside",
    "figure",
];

/// Deepest Markdown heading level.
const MAX_LEVEL: usize = 6;

/// A tag as found in the page.
struct Tag {
    /// Lowercased element name.
    name: String,
    /// `</name>`.
    closing: bool,
    /// The byte just after the tag's `>`.
    end: usize,
}

/// Reads the tag that starts at `at` (a `<`), if it is one.
fn tag_at(html: &str, at: usize) -> Option<Tag> {
    let rest = &html[at + 1..];
    let close = rest.find('>')?;
    let raw = &rest[..close];
    let closing = raw.starts_with('/');
    let name: String = raw
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    (!name.is_empty()).then_some(Tag {
        name,
        closing,
        end: at + 1 + close + 1,
    })
}

/// Where the element opened by a tag ending at `from` is closed: the byte
/// after its `</name>` (or the end of the page).
fn after_close(html: &str, lower: &str, from: usize, name: &str) -> (usize, usize) {
    let needle = format!("</{name}");
    match lower[from..].find(&needle) {
        Some(offset) => {
            let start = from + offset;
            let end = html[start..]
                .find('>')
                .map_or(html.len(), |p| start + p + 1);
            (start, end)
        }
        None => (html.len(), html.len()),
    }
}

/// Text with tags removed, entities decoded and whitespace collapsed to
/// single spaces (for titles and headings).
fn inline_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        rest = rest[open..]
            .find('>')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    out.push_str(rest);
    let decoded = html_escape::decode_html_entities(&out);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Turns an HTML page into text for indexing (see the module's doc).
pub fn html_to_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len() / 2);
    let title = title_of(html, &lower);
    let shift = usize::from(title.is_some());
    if let Some(title) = &title {
        out.push_str(&format!("# {title}\n\n"));
    }
    let mut i = 0;
    while i < html.len() {
        let Some(offset) = html[i..].find('<') else {
            push_text(&mut out, &html[i..]);
            break;
        };
        push_text(&mut out, &html[i..i + offset]);
        i += offset;
        if lower[i..].starts_with("<!--") {
            i = lower[i..].find("-->").map_or(html.len(), |p| i + p + 3);
            continue;
        }
        if lower[i..].starts_with("<!") || lower[i..].starts_with("<?") {
            // A doctype, CDATA marker or processing instruction.
            i = html[i..].find('>').map_or(html.len(), |p| i + p + 1);
            continue;
        }
        let Some(tag) = tag_at(html, i) else {
            // A lone `<` is text.
            out.push('<');
            i += 1;
            continue;
        };
        i = tag.end;
        if tag.closing {
            if BLOCKS.contains(&tag.name.as_str()) {
                out.push('\n');
            }
            continue;
        }
        if SKIPPED.contains(&tag.name.as_str()) || tag.name == "title" {
            i = after_close(html, &lower, i, &tag.name).1;
        } else if let Some(level) = heading_level(&tag.name) {
            let (inner_end, end) = after_close(html, &lower, i, &tag.name);
            let text = inline_text(&html[i..inner_end]);
            if !text.is_empty() {
                let marks = "#".repeat((level + shift).min(MAX_LEVEL));
                out.push_str(&format!("\n\n{marks} {text}\n\n"));
            }
            i = end;
        } else if BLOCKS.contains(&tag.name.as_str()) {
            out.push('\n');
        }
    }
    out
}

/// `h1`..`h6` as 1..6.
fn heading_level(name: &str) -> Option<usize> {
    let level: usize = name.strip_prefix('h')?.parse().ok()?;
    (1..=MAX_LEVEL).contains(&level).then_some(level)
}

/// The page's `<title>`, as one line.
fn title_of(html: &str, lower: &str) -> Option<String> {
    let open = lower.find("<title")?;
    let start = open + html[open..].find('>')? + 1;
    let (end, _) = after_close(html, lower, start, "title");
    let title = inline_text(&html[start..end]);
    (!title.is_empty()).then_some(title)
}

/// Appends page text with its entities decoded.
fn push_text(out: &mut String, text: &str) {
    if !text.is_empty() {
        out.push_str(&html_escape::decode_html_entities(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_content_and_structure_and_drops_the_rest() {
        let html = "<?xml version=\"1.0\"?><!DOCTYPE html><html><head><title>The\n Guide</title><style>p{}</style></head><body>\
            <nav><a>Chapter 1</a><a>Chapter 2</a></nav><style>b{}</style>\n<script>x()</script>\
            <h1>\n  Setting &amp; up\n</h1><p>Fish &amp; chips &#8212; &lt;b&gt;</p><!-- <h2>not</h2> -->\
            <svg><text>CREATE</text></svg><h2 id=\"a\"><span>1.</span> Part</h2>a < b</body></html>";
        let text = html_to_text(html);
        assert!(text.starts_with("# The Guide\n"), "{text:?}");
        assert!(text.contains("\n## Setting & up\n"), "{text:?}");
        assert!(text.contains("\n### 1. Part\n"), "{text:?}");
        assert!(text.contains("Fish & chips \u{2014} <b>"), "{text:?}");
        assert!(text.contains("a < b"), "{text:?}");
        for gone in ["x()", "p{}", "b{}", "Chapter", "CREATE", "not"] {
            assert!(!text.contains(gone), "{gone} in {text:?}");
        }
    }

    #[test]
    fn a_page_without_a_title_keeps_its_heading_levels() {
        let text = html_to_text("<h2>Title</h2><p>Text</p><h3>Sub</h3>");
        assert!(
            text.contains("## Title") && text.contains("### Sub"),
            "{text:?}"
        );
    }

    #[test]
    fn unclosed_elements_end_the_page_without_panicking() {
        for html in [
            "<script>never closed",
            "<h1>open",
            "<title>t",
            "<",
            "a <b",
            "<!-- x",
        ] {
            let _ = html_to_text(html);
        }
        assert_eq!(html_to_text("<p>caf\u{e9}</p><script>").trim(), "caf\u{e9}");
    }
}
