//! Splitting documents into chunks measured in tokens, following their
//! structure: headings open sections (and give each chunk its heading
//! path), paragraphs and code blocks are kept whole when they fit, long
//! ones are split at sentences, then at words, never inside a word.
//! Consecutive chunks of a section overlap by a share of their tokens.

use crate::tokens::Encoding;

/// How to chunk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChunkOptions {
    /// Target size in tokens.
    pub max_tokens: usize,
    /// Share of a chunk repeated at the start of the next one (0.0 - 0.5).
    pub overlap: f32,
    /// Encoding used to count.
    pub encoding: Encoding,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            max_tokens: 250,
            overlap: 0.15,
            encoding: Encoding::O200kBase,
        }
    }
}

/// One chunk of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The text.
    pub text: String,
    /// First line (1-based).
    pub start_line: usize,
    /// Last line (inclusive).
    pub end_line: usize,
    /// The headings above it, outermost first, joined with " > ".
    pub heading: String,
    /// Its size in tokens.
    pub tokens: usize,
}

/// What kind of document, for its structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    /// Markdown: `#` headings and fenced code blocks.
    Markdown,
    /// reStructuredText: underlined headings.
    Rst,
    /// AsciiDoc: `=` headings.
    AsciiDoc,
    /// Plain text, HTML converted to text, source code: paragraphs only.
    Plain,
}

impl DocKind {
    /// The kind for a file name.
    pub fn for_path(path: &str) -> DocKind {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".md") || lower.ends_with(".markdown") || lower.ends_with(".mdx") {
            DocKind::Markdown
        } else if lower.ends_with(".rst") {
            DocKind::Rst
        } else if lower.ends_with(".adoc") || lower.ends_with(".asciidoc") {
            DocKind::AsciiDoc
        } else {
            DocKind::Plain
        }
    }
}

/// A structural block: lines `start..=end` of one section.
#[derive(Debug)]
struct Block {
    text: String,
    start_line: usize,
    end_line: usize,
    heading: String,
}

/// Splits a document into blocks (paragraphs, code blocks) under headings.
fn blocks(text: &str, kind: DocKind) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut in_fence: Option<&str> = None;
    let heading_path = |headings: &[(usize, String)]| {
        headings
            .iter()
            .map(|(_, h)| h.as_str())
            .collect::<Vec<_>>()
            .join(" > ")
    };
    let flush = |current: &mut Vec<&str>,
                 start: usize,
                 end: usize,
                 heading: String,
                 blocks: &mut Vec<Block>| {
        if current.iter().any(|l| !l.trim().is_empty()) {
            blocks.push(Block {
                text: current.join("\n"),
                start_line: start + 1,
                end_line: end,
                heading,
            });
        }
        current.clear();
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        // Fenced code blocks stay whole blocks.
        if kind == DocKind::Markdown {
            if let Some(fence) = in_fence {
                current.push(line);
                if trimmed.starts_with(fence) {
                    in_fence = None;
                    flush(
                        &mut current,
                        start,
                        i + 1,
                        heading_path(&headings),
                        &mut blocks,
                    );
                }
                i += 1;
                continue;
            }
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                flush(&mut current, start, i, heading_path(&headings), &mut blocks);
                in_fence = Some(if trimmed.starts_with("```") {
                    "```"
                } else {
                    "~~~"
                });
                start = i;
                current.push(line);
                i += 1;
                continue;
            }
        }
        if let Some((level, title)) = heading_of(&lines, i, kind) {
            flush(&mut current, start, i, heading_path(&headings), &mut blocks);
            headings.retain(|(l, _)| *l < level);
            headings.push((level, title));
            // An underlined (rst) heading consumes its underline too.
            i += if kind == DocKind::Rst { 2 } else { 1 };
            start = i;
            continue;
        }
        if trimmed.is_empty() {
            flush(&mut current, start, i, heading_path(&headings), &mut blocks);
            start = i + 1;
        } else {
            if current.is_empty() {
                start = i;
            }
            current.push(line);
        }
        i += 1;
    }
    flush(
        &mut current,
        start,
        lines.len(),
        heading_path(&headings),
        &mut blocks,
    );
    blocks
}

/// The heading at line `i`, with its level, if the line is one.
fn heading_of(lines: &[&str], i: usize, kind: DocKind) -> Option<(usize, String)> {
    let line = lines[i].trim_end();
    match kind {
        DocKind::Markdown | DocKind::AsciiDoc => {
            let mark = if kind == DocKind::Markdown { '#' } else { '=' };
            let level = line.chars().take_while(|c| *c == mark).count();
            let rest = &line[level..];
            (level > 0 && level <= 6 && rest.starts_with(' '))
                .then(|| (level, rest.trim().trim_end_matches(mark).trim().to_string()))
        }
        DocKind::Rst => {
            let next = lines.get(i + 1)?.trim_end();
            let underline = next.chars().next()?;
            let is_underline = !next.is_empty()
                && "=-~^\"'`#*+".contains(underline)
                && next.chars().all(|c| c == underline)
                && next.len() >= line.trim().len()
                && !line.trim().is_empty();
            is_underline.then(|| {
                let level = "=-~^\"'`#*+".find(underline).unwrap_or(0) + 1;
                (level, line.trim().to_string())
            })
        }
        DocKind::Plain => None,
    }
}

/// Splits `text` into sentence-like pieces (each keeps its trailing space).
fn sentences(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let ends = matches!(b, b'.' | b'!' | b'?' | b'\n')
            && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        if ends {
            let mut end = i + 1;
            while bytes.get(end).is_some_and(|n| *n == b' ') {
                end += 1;
            }
            pieces.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Splits `text` at whitespace into pieces (each keeps its trailing space).
fn words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space {
            pieces.push(&text[start..i]);
            start = i;
            in_space = false;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Chunks a document.
pub fn chunk_document(text: &str, kind: DocKind, options: &ChunkOptions) -> Vec<Chunk> {
    let count = |s: &str| options.encoding.count(s);
    let max = options.max_tokens.max(8);
    let overlap_tokens = ((max as f32) * options.overlap.clamp(0.0, 0.5)) as usize;
    // Units: pieces no larger than `max` tokens, each with its lines and heading.
    let mut units: Vec<(String, usize, usize, String, usize)> = Vec::new();
    for block in blocks(text, kind) {
        let tokens = count(&block.text);
        if tokens <= max {
            units.push((
                block.text,
                block.start_line,
                block.end_line,
                block.heading,
                tokens,
            ));
            continue;
        }
        // Too long: sentences, and words for sentences still too long.
        let mut line = block.start_line;
        for sentence in sentences(&block.text) {
            let pieces = if count(sentence) <= max {
                vec![sentence]
            } else {
                words(sentence)
            };
            for piece in pieces {
                let newlines = piece.matches('\n').count();
                let end = (line + newlines).min(block.end_line);
                units.push((
                    piece.to_string(),
                    line,
                    end,
                    block.heading.clone(),
                    count(piece),
                ));
                line = end;
            }
        }
    }
    // Pack units into chunks within a section; carry an overlap forward.
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut current: Vec<&(String, usize, usize, String, usize)> = Vec::new();
    let mut current_tokens = 0;
    let emit = |current: &[&(String, usize, usize, String, usize)], chunks: &mut Vec<Chunk>| {
        if current.is_empty() {
            return;
        }
        let joined = join_units(current.iter().map(|u| u.0.as_str()));
        let text = joined.trim().to_string();
        if text.is_empty() {
            return;
        }
        // The units were counted already; a separator between two units
        // is about one token more each.
        let tokens = current.iter().map(|u| u.4).sum::<usize>() + current.len() - 1;
        chunks.push(Chunk {
            tokens,
            text,
            start_line: current[0].1,
            end_line: current[current.len() - 1].2,
            heading: current[0].3.clone(),
        });
    };
    // `current_tokens` counts a separator token before every unit but the
    // first, as `emit` does, so that no chunk is reported over `max`.
    for unit in &units {
        let same_section = current.first().is_none_or(|first| first.3 == unit.3);
        if !current.is_empty() && (!same_section || current_tokens + 1 + unit.4 > max) {
            emit(&current, &mut chunks);
            // Overlap: keep trailing units of the same section, up to the share.
            let mut kept: Vec<&(String, usize, usize, String, usize)> = Vec::new();
            let mut kept_tokens = 0;
            if same_section && overlap_tokens > 0 {
                for previous in current.iter().rev() {
                    let with_previous = kept_tokens + previous.4 + usize::from(!kept.is_empty());
                    if with_previous > overlap_tokens || with_previous + 1 + unit.4 > max {
                        break;
                    }
                    kept_tokens = with_previous;
                    kept.insert(0, previous);
                }
            }
            current = kept;
            current_tokens = kept_tokens;
        }
        current_tokens += unit.4 + usize::from(!current.is_empty());
        current.push(unit);
    }
    emit(&current, &mut chunks);
    chunks
}

/// Joins units: blocks with a blank line, sentence and word pieces as they were.
fn join_units<'a>(units: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for unit in units {
        if !out.is_empty() && !out.ends_with(char::is_whitespace) {
            out.push_str("\n\n");
        }
        out.push_str(unit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Guide\n\nIntro paragraph.\n\n## Install\n\nRun the installer. Then restart.\n\n```sh\ncargo install confab\n```\n\n## Use\n\nUse it well.\n";

    #[test]
    fn follows_headings_and_keeps_code_blocks_whole() {
        let options = ChunkOptions {
            max_tokens: 12,
            overlap: 0.0,
            ..ChunkOptions::default()
        };
        let chunks = chunk_document(DOC, DocKind::Markdown, &options);
        let headings: Vec<&str> = chunks.iter().map(|c| c.heading.as_str()).collect();
        assert_eq!(
            headings,
            ["Guide", "Guide > Install", "Guide > Install", "Guide > Use"]
        );
        assert!(chunks[2].text.starts_with("```sh") && chunks[2].text.ends_with("```"));
        assert_eq!((chunks[1].start_line, chunks[1].end_line), (7, 7));
        assert_eq!((chunks[2].start_line, chunks[2].end_line), (9, 11));
        assert!(chunks.iter().all(|c| c.tokens <= 12));
    }

    #[test]
    fn long_text_splits_at_sentences_then_words_never_mid_word() {
        let sentence = "The quick brown fox jumps over the lazy dog. ";
        let text = sentence.repeat(200);
        let options = ChunkOptions {
            max_tokens: 50,
            overlap: 0.15,
            ..ChunkOptions::default()
        };
        let chunks = chunk_document(&text, DocKind::Plain, &options);
        assert!(chunks.len() > 10);
        for chunk in &chunks {
            assert!(chunk.tokens <= 50, "{}", chunk.tokens);
            assert!(
                chunk.text.starts_with("The") && chunk.text.ends_with("dog."),
                "{:?}",
                chunk.text
            );
        }
        // Overlap: consecutive chunks share a sentence.
        let last_of_first = chunks[0].text.rsplit(". ").next().unwrap_or("");
        assert!(chunks[1].text.contains(last_of_first));
        let one_word = "supercalifragilistic ".repeat(300);
        for chunk in chunk_document(&one_word, DocKind::Plain, &options) {
            assert!(chunk.text.split(' ').all(|w| w == "supercalifragilistic"));
        }
    }

    #[test]
    fn consecutive_chunks_share_their_boundary_sentences_only_with_overlap() {
        let text: String = (0..120)
            .map(|n| format!("Sentence number {n} ends here. "))
            .collect();
        let sentences = |chunk: &Chunk| -> Vec<String> {
            chunk
                .text
                .split_inclusive(". ")
                .map(|s| s.trim().trim_end_matches('.').to_string())
                .collect()
        };
        let chunk_with = |overlap| {
            let options = ChunkOptions {
                max_tokens: 60,
                overlap,
                ..ChunkOptions::default()
            };
            chunk_document(&text, DocKind::Plain, &options)
        };
        let overlapping = chunk_with(0.2);
        assert!(overlapping.len() > 5);
        for pair in overlapping.windows(2) {
            let (before, after) = (sentences(&pair[0]), sentences(&pair[1]));
            let last = before.last().expect("a sentence");
            assert_eq!(
                after.first(),
                before.iter().find(|s| after.first() == Some(*s)),
                "the next chunk starts inside the previous one"
            );
            assert!(after.contains(last), "{last:?} carried into {after:?}");
            assert!(pair[1].tokens <= 60);
        }
        let disjoint = chunk_with(0.0);
        for pair in disjoint.windows(2) {
            let (before, after) = (sentences(&pair[0]), sentences(&pair[1]));
            assert!(
                after.iter().all(|s| !before.contains(s)),
                "{before:?} / {after:?}"
            );
        }
        assert!(disjoint.len() < overlapping.len());
    }

    #[test]
    fn rst_and_asciidoc() {
        let rst = "Title\n=====\n\nText one.\n\nSection\n-------\n\nText two.\n";
        let chunks = chunk_document(rst, DocKind::Rst, &ChunkOptions::default());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[1].heading, "Title > Section");
        let adoc = "= Book\n\n== Chapter\n\nWords.\n";
        let chunks = chunk_document(adoc, DocKind::AsciiDoc, &ChunkOptions::default());
        assert_eq!(chunks[0].heading, "Book > Chapter");
    }
}
