//! Markdown rendered for the terminal as a reply streams in.
//!
//! The renderer is line-buffered: text arrives in chunks of any size, each
//! complete line is rendered and handed back at once, and the unfinished
//! last line waits for its newline (or for [`MarkdownRenderer::finish`] at
//! the end of the reply). Block state crosses lines: inside a fenced code
//! block (```` ``` ```` or `~~~`, the info string naming the language) each
//! line is highlighted as code as soon as it is complete, whether or not
//! the block is closed yet; consecutive `|` rows are held and shown as one
//! aligned table when the table ends. Everything else is a line of its
//! own: headings, block quotes, list items, rules and paragraph lines, with
//! their inline Markdown (emphasis, code, links) parsed by `pulldown-cmark`.
//!
//! Highlighting uses `syntect`'s bundled syntaxes and theme, loaded only
//! when the first code block appears ([`CodeHighlighter`]), since loading
//! them costs more than starting confab.
//!
//! Everything is bounded: a line longer than [`MAX_PENDING_LINE`] without a
//! newline is shown as plain text rather than held, and a table stops
//! being held after [`MAX_TABLE_ROWS`] rows. Terminal controls in the
//! model's text (escape sequences and the like) are shown as visible
//! `\u{..}` escapes, never passed on.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use syntect::highlighting::{
    Color, HighlightIterator, HighlightState, Highlighter, Theme, ThemeSet,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};
use unicode_width::UnicodeWidthStr;

use crate::safe_text::printable;

/// The longest unfinished line held for rendering; past it, the line is
/// shown as plain text as it arrives.
pub const MAX_PENDING_LINE: usize = 64 * 1024;

/// The most table rows held to align them; the rest of a longer table is
/// shown row by row.
pub const MAX_TABLE_ROWS: usize = 200;

/// The theme code blocks are highlighted with (one of syntect's bundled ones).
const THEME: &str = "base16-ocean.dark";

/// Resets every attribute.
const RESET: &str = "\x1b[0m";

/// How many colours the terminal shows, for highlighted code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColourDepth {
    /// 24-bit colour (`COLORTERM=truecolor` or `24bit`).
    TrueColour,
    /// The xterm 256-colour palette.
    Ansi256,
}

impl ColourDepth {
    /// The depth that a `COLORTERM` value announces.
    pub fn from_colorterm(value: Option<&str>) -> ColourDepth {
        match value {
            Some("truecolor" | "24bit") => ColourDepth::TrueColour,
            _ => ColourDepth::Ansi256,
        }
    }

    /// The SGR sequence that sets the foreground to `colour`.
    fn foreground(self, colour: Color) -> String {
        match self {
            ColourDepth::TrueColour => {
                format!("\x1b[38;2;{};{};{}m", colour.r, colour.g, colour.b)
            }
            ColourDepth::Ansi256 => format!("\x1b[38;5;{}m", xterm_index(colour)),
        }
    }
}

/// The nearest colour of the xterm 6x6x6 cube.
fn xterm_index(colour: Color) -> u8 {
    let level = |c: u8| ((u16::from(c) * 5 + 127) / 255) as u8;
    16 + 36 * level(colour.r) + 6 * level(colour.g) + level(colour.b)
}

/// syntect's syntaxes and theme, loaded on first use and then shared by
/// every renderer cloned from the same handle (the replies of one REPL
/// session, say). Never loaded by a reply without a code block.
#[derive(Clone, Default)]
pub struct CodeHighlighter {
    loaded: Arc<OnceLock<Syntaxes>>,
}

struct Syntaxes {
    set: SyntaxSet,
    theme: Theme,
}

impl CodeHighlighter {
    /// A handle that has loaded nothing yet.
    pub fn new() -> CodeHighlighter {
        CodeHighlighter::default()
    }

    /// Loads the syntaxes and theme now, if not yet loaded.
    pub fn preload(&self) {
        self.syntaxes();
    }

    fn syntaxes(&self) -> &Syntaxes {
        self.loaded.get_or_init(|| Syntaxes {
            set: SyntaxSet::load_defaults_newlines(),
            theme: ThemeSet::load_defaults()
                .themes
                .remove(THEME)
                .unwrap_or_default(),
        })
    }
}

/// What every renderer of a session shares: the colour depth and the
/// (lazily loaded) highlighter.
#[derive(Clone)]
pub struct Rendering {
    depth: ColourDepth,
    code: CodeHighlighter,
}

impl Rendering {
    /// Rendering at `depth`, with nothing loaded yet.
    pub fn new(depth: ColourDepth) -> Rendering {
        Rendering {
            depth,
            code: CodeHighlighter::new(),
        }
    }

    /// A renderer for one reply.
    pub fn renderer(&self) -> MarkdownRenderer {
        MarkdownRenderer::new(self.depth, self.code.clone())
    }

    /// `text`, a whole reply, rendered.
    pub fn render_all(&self, text: &str) -> String {
        let mut renderer = self.renderer();
        let mut out = renderer.push(text);
        out.push_str(&renderer.finish());
        out
    }
}

/// Renders one reply, chunk by chunk. See the module documentation.
pub struct MarkdownRenderer {
    depth: ColourDepth,
    code: CodeHighlighter,
    /// The unfinished last line.
    pending: String,
    /// The current line passed [`MAX_PENDING_LINE`] and goes out plain.
    overlong: bool,
    block: Block,
}

/// The block that the next line continues.
enum Block {
    Prose,
    Code(Box<CodeBlock>),
    /// Rows of a table, held until it ends.
    Table(Vec<String>),
    /// The rest of a table that was too long to hold.
    TableOverflow,
}

/// An open fenced code block.
struct CodeBlock {
    marker: char,
    fence_len: usize,
    indent: usize,
    language: String,
    /// syntect's state, made when the first line is highlighted.
    state: Option<(ParseState, HighlightState)>,
}

impl MarkdownRenderer {
    /// A renderer at `depth` that highlights code with `code`.
    pub fn new(depth: ColourDepth, code: CodeHighlighter) -> MarkdownRenderer {
        MarkdownRenderer {
            depth,
            code,
            pending: String::new(),
            overlong: false,
            block: Block::Prose,
        }
    }

    /// Takes the next chunk of the reply; returns what can be shown now:
    /// the lines it completed, rendered.
    pub fn push(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (head, tail) = match rest.find('\n') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            if self.overlong {
                out.push_str(&printable(head));
            } else {
                self.pending.push_str(head);
            }
            match tail {
                Some(tail) => {
                    self.end_line(&mut out);
                    rest = tail;
                }
                None => {
                    if self.pending.len() > MAX_PENDING_LINE {
                        self.give_up_on_line(&mut out);
                    }
                    rest = "";
                }
            }
        }
        out
    }

    /// Ends the reply: renders the unfinished line (without adding a
    /// newline) and a table still held. The renderer is then ready for
    /// another reply.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        let unterminated = !self.pending.is_empty();
        if unterminated {
            let line = std::mem::take(&mut self.pending);
            self.line(&line, &mut out);
        }
        self.end_table(&mut out);
        if unterminated && out.ends_with('\n') {
            out.pop();
        }
        self.block = Block::Prose;
        self.overlong = false;
        out
    }

    /// A newline arrived: the pending line is complete.
    fn end_line(&mut self, out: &mut String) {
        if self.overlong {
            self.overlong = false;
            out.push('\n');
            return;
        }
        let line = std::mem::take(&mut self.pending);
        self.line(&line, out);
    }

    /// The pending line is too long to hold: it goes out plain, and so
    /// does the rest of it.
    fn give_up_on_line(&mut self, out: &mut String) {
        self.end_table(out);
        out.push_str(&printable(&self.pending));
        self.pending.clear();
        self.overlong = true;
    }

    /// Renders one complete line (without its newline) into `out`.
    fn line(&mut self, raw: &str, out: &mut String) {
        let line = printable(raw.strip_suffix('\r').unwrap_or(raw));
        match &mut self.block {
            Block::Code(code) => {
                if closes_fence(&line, code.marker, code.fence_len) {
                    push_line(out, &dim(&line));
                    self.block = Block::Prose;
                } else {
                    let highlighted = highlight_line(&self.code, self.depth, code, &line);
                    push_line(out, &highlighted);
                }
            }
            Block::Table(rows) if is_table_row(&line) => {
                rows.push(line);
                if rows.len() >= MAX_TABLE_ROWS {
                    self.end_table(out);
                    self.block = Block::TableOverflow;
                }
            }
            Block::TableOverflow if is_table_row(&line) => {
                push_line(out, &block_line(&line, Style::default()));
            }
            Block::Table(_) | Block::TableOverflow => {
                self.end_table(out);
                self.block = Block::Prose;
                self.prose_line(line, out);
            }
            Block::Prose => self.prose_line(line, out),
        }
    }

    /// A line outside code blocks and tables: it may open one.
    fn prose_line(&mut self, line: String, out: &mut String) {
        if let Some(code) = opens_fence(&line) {
            push_line(out, &dim(&line));
            self.block = Block::Code(Box::new(code));
        } else if is_table_row(&line) {
            self.block = Block::Table(vec![line]);
        } else {
            push_line(out, &block_line(&line, Style::default()));
        }
    }

    /// Shows the table being held, if any.
    fn end_table(&mut self, out: &mut String) {
        if let Block::Table(rows) = &mut self.block {
            out.push_str(&render_table(rows));
            self.block = Block::Prose;
        }
    }
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

/// Text attributes, as SGR parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Style {
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    /// A basic ANSI foreground (30-37, 90-97).
    fg: Option<u8>,
}

/// Magenta, for headings.
const HEADING_FG: u8 = 35;
/// Cyan, for inline code and bullets.
const CODE_FG: u8 = 36;

impl Style {
    fn is_plain(self) -> bool {
        self == Style::default()
    }

    /// The SGR sequence that turns every attribute off, then these on.
    fn sgr(self) -> String {
        let mut sgr = String::from("\x1b[0");
        for (on, code) in [
            (self.bold, 1),
            (self.dim, 2),
            (self.italic, 3),
            (self.underline, 4),
            (self.strike, 9),
        ] {
            if on {
                let _ = write!(sgr, ";{code}");
            }
        }
        if let Some(fg) = self.fg {
            let _ = write!(sgr, ";{fg}");
        }
        sgr.push('m');
        sgr
    }

    /// `text` in this style, ending with every attribute off.
    fn paint(self, text: &str) -> String {
        if self.is_plain() || text.is_empty() {
            text.to_string()
        } else {
            format!("{}{text}{RESET}", self.sgr())
        }
    }
}

fn dim(text: &str) -> String {
    Style {
        dim: true,
        ..Style::default()
    }
    .paint(text)
}

/// A line outside code and tables, rendered by what it starts with.
fn block_line(line: &str, base: Style) -> String {
    if line.trim().is_empty() {
        return String::new();
    }
    if let Some((level, text)) = heading(line) {
        return inline(text, heading_style(base, level));
    }
    if is_rule(line) {
        return dim(&"─".repeat(40));
    }
    if let Some(rest) = quote(line) {
        let quoted = Style { dim: true, ..base };
        let inner = block_line(rest, quoted);
        return format!("{}│{RESET} {inner}", quoted.sgr());
    }
    if let Some((indent, marker, rest)) = list_item(line) {
        return format!(
            "{indent}{} {}",
            list_marker(marker, base),
            inline(rest, base)
        );
    }
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    format!("{indent}{}", inline(body, base))
}

fn heading_style(base: Style, level: usize) -> Style {
    Style {
        bold: true,
        underline: level == 1,
        fg: Some(HEADING_FG),
        ..base
    }
}

/// An ATX heading: its level and text.
fn heading(line: &str) -> Option<(usize, &str)> {
    let text = strip_indent(line, 3)?;
    let level = text.bytes().take_while(|b| *b == b'#').count();
    let rest = &text[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let rest = rest.trim();
    let without_closing = rest.trim_end_matches('#');
    if without_closing.is_empty() || without_closing.ends_with([' ', '\t']) {
        return Some((level, without_closing.trim_end()));
    }
    Some((level, rest))
}

/// `line` without up to `most` leading spaces; `None` if it has more.
fn strip_indent(line: &str, most: usize) -> Option<&str> {
    let body = line.trim_start_matches(' ');
    (line.len() - body.len() <= most).then_some(body)
}

/// A thematic break: three or more of one of `-`, `*`, `_`, spaces between.
fn is_rule(line: &str) -> bool {
    let Some(body) = strip_indent(line, 3) else {
        return false;
    };
    let marks: Vec<char> = body.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3 && matches!(marks[0], '-' | '*' | '_') && marks.iter().all(|c| *c == marks[0])
}

/// The text of a block quote line.
fn quote(line: &str) -> Option<&str> {
    let rest = strip_indent(line, 3)?.strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// A list item: its indentation, its marker and its text.
fn list_item(line: &str) -> Option<(&str, &str, &str)> {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    let marker_len = match body.as_bytes().get(digits) {
        Some(b'-' | b'*' | b'+') if digits == 0 => 1,
        Some(b'.' | b')') if (1..=9).contains(&digits) => digits + 1,
        _ => return None,
    };
    let rest = &body[marker_len..];
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((indent, &body[..marker_len], &rest[1..]))
}

/// A bullet shown as `•`, a number as it is.
fn list_marker(marker: &str, base: Style) -> String {
    let style = Style {
        fg: Some(CODE_FG),
        ..base
    };
    match marker {
        "-" | "*" | "+" => style.paint("•"),
        number => style.paint(number),
    }
}

/// The inline Markdown of one line's text, rendered in `base` style.
fn inline(text: &str, base: Style) -> String {
    let mut writer = InlineWriter::new(base);
    for event in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH) {
        writer.event(event);
    }
    match writer.finish() {
        // What the parser took for something it shows nothing of (a link
        // reference definition, say) is shown as written.
        (_, 0) => base.paint(text),
        (rendered, _) => rendered,
    }
}

/// Writes inline events with their styles.
struct InlineWriter {
    out: String,
    stack: Vec<Style>,
    /// The style the text written so far ends in.
    current: Style,
    /// Characters of text written.
    visible: usize,
    /// Open links: the URL and the text shown so far.
    links: Vec<(String, String)>,
}

impl InlineWriter {
    fn new(base: Style) -> InlineWriter {
        InlineWriter {
            out: String::new(),
            stack: vec![base],
            current: Style::default(),
            visible: 0,
            links: Vec::new(),
        }
    }

    fn top(&self) -> Style {
        self.stack.last().copied().unwrap_or_default()
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text)
            | Event::Html(text)
            | Event::InlineHtml(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text) => self.text(&text, self.top()),
            Event::Code(code) => {
                let style = Style {
                    fg: Some(CODE_FG),
                    ..self.top()
                };
                self.text(&code, style);
            }
            Event::SoftBreak | Event::HardBreak => self.text(" ", self.top()),
            Event::TaskListMarker(done) => {
                self.text(if done { "[x] " } else { "[ ] " }, self.top())
            }
            Event::FootnoteReference(name) => self.text(&format!("[^{name}]"), self.top()),
            Event::Rule => self.text("---", self.top()),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let mut style = self.top();
        match tag {
            Tag::Emphasis => style.italic = true,
            Tag::Strong => style.bold = true,
            Tag::Strikethrough => style.strike = true,
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                style.underline = true;
                self.links.push((dest_url.to_string(), String::new()));
            }
            _ => return,
        }
        self.stack.push(style);
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => self.pop(),
            TagEnd::Link | TagEnd::Image => {
                self.pop();
                let Some((url, shown)) = self.links.pop() else {
                    return;
                };
                if !url.is_empty() && url != shown {
                    let style = Style {
                        dim: true,
                        ..self.top()
                    };
                    self.text(&format!(" ({url})"), style);
                }
            }
            _ => {}
        }
    }

    /// Leaves the innermost style (never the base).
    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    fn text(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        if style != self.current {
            self.out.push_str(&style.sgr());
            self.current = style;
        }
        self.out.push_str(text);
        self.visible += text.chars().count();
        if let Some((_, shown)) = self.links.last_mut() {
            shown.push_str(text);
        }
    }

    /// The rendered text and how many characters of text it shows.
    fn finish(mut self) -> (String, usize) {
        if !self.current.is_plain() {
            self.out.push_str(RESET);
        }
        (self.out, self.visible)
    }
}

/// A code block's opening fence.
fn opens_fence(line: &str) -> Option<CodeBlock> {
    let body = line.trim_start_matches(' ');
    let marker = body.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let fence_len = body.chars().take_while(|c| *c == marker).count();
    let info = &body[fence_len..];
    if fence_len < 3 || (marker == '`' && info.contains('`')) {
        return None;
    }
    Some(CodeBlock {
        marker,
        fence_len,
        indent: line.len() - body.len(),
        language: info.split_whitespace().next().unwrap_or("").to_string(),
        state: None,
    })
}

/// Whether `line` closes a block opened by `fence_len` `marker`s.
fn closes_fence(line: &str, marker: char, fence_len: usize) -> bool {
    let body = line.trim();
    body.chars().count() >= fence_len && body.chars().all(|c| c == marker)
}

/// One line of code, highlighted as its block's language.
fn highlight_line(
    highlighter: &CodeHighlighter,
    depth: ColourDepth,
    code: &mut CodeBlock,
    line: &str,
) -> String {
    let syntaxes = highlighter.syntaxes();
    let theme = Highlighter::new(&syntaxes.theme);
    let (parse, highlight) = code.state.get_or_insert_with(|| {
        let syntax = syntaxes
            .set
            .find_syntax_by_token(&code.language)
            .unwrap_or_else(|| syntaxes.set.find_syntax_plain_text());
        (
            ParseState::new(syntax),
            HighlightState::new(&theme, ScopeStack::new()),
        )
    });
    let line = strip_up_to(line, code.indent);
    let with_newline = format!("{line}\n");
    let Ok(ops) = parse.parse_line(&with_newline, &syntaxes.set) else {
        return line.to_string();
    };
    let mut out = String::new();
    for (style, piece) in HighlightIterator::new(highlight, &ops, &with_newline, &theme) {
        let piece = piece.strip_suffix('\n').unwrap_or(piece);
        if !piece.is_empty() {
            out.push_str(&depth.foreground(style.foreground));
            out.push_str(piece);
        }
    }
    if !out.is_empty() {
        out.push_str(RESET);
    }
    out
}

/// `line` without up to `spaces` leading spaces.
fn strip_up_to(line: &str, spaces: usize) -> &str {
    let leading = line.bytes().take(spaces).take_while(|b| *b == b' ').count();
    &line[leading..]
}

fn is_table_row(line: &str) -> bool {
    line.trim_start().starts_with('|')
}

/// Column alignments, from a table's delimiter row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Align {
    Left,
    Centre,
    Right,
}

/// Held table rows, aligned; rows that are not a table (no delimiter row
/// under the first) are shown as lines.
fn render_table(rows: &[String]) -> String {
    let cells: Vec<Vec<&str>> = rows.iter().map(|row| split_row(row)).collect();
    let Some(aligns) = cells.get(1).and_then(|row| delimiter_row(row)) else {
        return rows
            .iter()
            .map(|row| format!("{}\n", block_line(row, Style::default())))
            .collect();
    };
    let bold = Style {
        bold: true,
        ..Style::default()
    };
    let rendered: Vec<Vec<String>> = cells
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(i, row)| {
            let style = if i == 0 { bold } else { Style::default() };
            row.iter().map(|cell| inline(cell.trim(), style)).collect()
        })
        .collect();
    let columns = rendered.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rendered
                .iter()
                .filter_map(|row| row.get(c))
                .map(|cell| visible_width(cell))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in rendered.iter().enumerate() {
        push_line(&mut out, &table_row(row, &widths, &aligns));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            push_line(&mut out, &dim(&rule.join("─┼─")));
        }
    }
    out
}

fn table_row(cells: &[String], widths: &[usize], aligns: &[Align]) -> String {
    let separator = dim(" │ ");
    let padded: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(c, width)| {
            let cell = cells.get(c).map_or("", String::as_str);
            let align = aligns.get(c).copied().unwrap_or(Align::Left);
            pad(cell, *width, align)
        })
        .collect();
    padded.join(&separator).trim_end().to_string()
}

fn pad(cell: &str, width: usize, align: Align) -> String {
    let gap = width.saturating_sub(visible_width(cell));
    let (left, right) = match align {
        Align::Left => (0, gap),
        Align::Right => (gap, 0),
        Align::Centre => (gap / 2, gap - gap / 2),
    };
    format!("{}{cell}{}", " ".repeat(left), " ".repeat(right))
}

/// The cells of a `|` row: split at pipes that are neither escaped nor
/// inside a code span, without the outer pipes.
fn split_row(row: &str) -> Vec<&str> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let mut cells = Vec::new();
    let (mut start, mut escaped, mut in_code) = (0, false, false);
    for (i, c) in row.char_indices() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            '`' if !escaped => in_code = !in_code,
            '|' if !escaped && !in_code => {
                cells.push(&row[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        escaped = false;
    }
    let last = &row[start..];
    if !last.trim().is_empty() {
        cells.push(last);
    }
    cells
}

/// The alignments of a delimiter row (`|---|:--:|--:|`), if it is one.
fn delimiter_row(cells: &[&str]) -> Option<Vec<Align>> {
    cells
        .iter()
        .map(|cell| {
            let cell = cell.trim();
            let left = cell.starts_with(':');
            let right = cell.ends_with(':');
            let dashes = cell.trim_matches(':');
            if dashes.is_empty() || !dashes.bytes().all(|b| b == b'-') {
                return None;
            }
            Some(match (left, right) {
                (true, true) => Align::Centre,
                (false, true) => Align::Right,
                _ => Align::Left,
            })
        })
        .collect::<Option<Vec<Align>>>()
        .filter(|aligns| !aligns.is_empty())
}

/// The width on screen of rendered text: its SGR sequences take none.
fn visible_width(text: &str) -> usize {
    without_sgr(text).width()
}

/// Rendered text without its SGR sequences (the only escapes it has).
fn without_sgr(text: &str) -> String {
    let mut shown = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('\x1b') {
        shown.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find('m').map_or(rest.len(), |i| i + 1);
        rest = &rest[end..];
    }
    shown.push_str(rest);
    shown
}

#[cfg(test)]
mod tests;
