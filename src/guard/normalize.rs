//! Undoing character-level disguises before the injection screen matches:
//! HTML character references and percent-encoding are decoded (twice, for
//! double encoding), invisible and formatting characters removed, fullwidth
//! and styled letters folded by compatibility decomposition (NFKD, accents
//! dropped), and Cyrillic and Greek look-alikes folded to Latin letters.
//!
//! A [`Decoded`] text keeps the way back: every offset in it maps to the
//! original, and every range says which disguises ([`Hidden`]) were undone
//! inside it. Each pass is one linear scan.

use std::ops::Range;

use crate::guard::injection::Hidden;

/// A set of [`Hidden`] ways, as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vias(u32);

impl Vias {
    /// The set holding only `via`.
    pub fn of(via: Hidden) -> Vias {
        Vias(1 << via as u32)
    }

    /// Whether no way is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Adds the ways of `other`.
    pub fn add(&mut self, other: Vias) {
        self.0 |= other.0;
    }

    /// The ways in the set, in the order of [`Hidden`].
    pub fn list(self) -> Vec<Hidden> {
        Hidden::ALL
            .iter()
            .copied()
            .filter(|&h| self.0 & (1 << h as u32) != 0)
            .collect()
    }
}

/// Where a run of the output came from: the same bytes (`end` is `None`)
/// or one replaced unit of the input (`from..end`).
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// Offset in the output.
    at: usize,
    /// Offset in the input.
    from: usize,
    /// End in the input of a replaced unit.
    end: Option<usize>,
    /// What was undone here.
    via: Vias,
}

/// One pass's output and its map back to the pass's input.
#[derive(Debug, Default)]
struct Layer {
    text: String,
    segments: Vec<Segment>,
    /// Ways of characters dropped just before the next output character.
    pending: Vias,
}

impl Layer {
    fn with_capacity(n: usize) -> Layer {
        Layer {
            text: String::with_capacity(n),
            ..Layer::default()
        }
    }

    /// `c`, found at `from` in the input, copied unchanged.
    fn keep(&mut self, from: usize, c: char) {
        let continues = self.pending.is_empty()
            && self
                .segments
                .last()
                .is_some_and(|s| s.end.is_none() && s.from + (self.text.len() - s.at) == from);
        if !continues {
            if !self.pending.is_empty() {
                let via = std::mem::take(&mut self.pending);
                self.replace(from..from + c.len_utf8(), c.encode_utf8(&mut [0; 4]), via);
                return;
            }
            self.segments.push(Segment {
                at: self.text.len(),
                from,
                end: None,
                via: Vias::default(),
            });
        }
        self.text.push(c);
    }

    /// `run`, found at `from` in the input, copied unchanged.
    fn keep_str(&mut self, from: usize, run: &str) {
        let mut chars = run.char_indices();
        if !self.pending.is_empty() {
            match chars.next() {
                Some((_, c)) => self.keep(from, c),
                None => return,
            }
        }
        let rest = chars.next().map_or("", |(i, _)| &run[i..]);
        if rest.is_empty() {
            return;
        }
        let from = from + (run.len() - rest.len());
        let continues = self
            .segments
            .last()
            .is_some_and(|s| s.end.is_none() && s.from + (self.text.len() - s.at) == from);
        if !continues {
            self.segments.push(Segment {
                at: self.text.len(),
                from,
                end: None,
                via: Vias::default(),
            });
        }
        self.text.push_str(rest);
    }

    /// The input `range` written as `with`, a disguise `via` undone.
    fn replace(&mut self, range: Range<usize>, with: &str, via: Vias) {
        let mut via = via;
        via.add(std::mem::take(&mut self.pending));
        if with.is_empty() {
            self.pending = via;
            return;
        }
        self.segments.push(Segment {
            at: self.text.len(),
            from: range.start,
            end: Some(range.end),
            via,
        });
        self.text.push_str(with);
    }

    /// A character dropped, the disguise `via` undone.
    fn drop_char(&mut self, via: Vias) {
        self.pending.add(via);
    }

    fn segment_at(&self, at: usize) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.at <= at);
        self.segments.get(i.checked_sub(1)?)
    }

    /// The input offset of output offset `at`.
    fn start(&self, at: usize) -> usize {
        match self.segment_at(at) {
            Some(s) if s.end.is_none() => s.from + (at - s.at),
            Some(s) => s.from,
            None => 0,
        }
    }

    /// The input offset where an output range ending at `end` ends.
    fn end(&self, end: usize) -> usize {
        if end == 0 {
            return self.start(0);
        }
        match self.segment_at(end - 1) {
            Some(s) => s.end.unwrap_or(s.from + (end - s.at)),
            None => 0,
        }
    }

    /// The ways undone inside the output `range`.
    fn vias(&self, range: &Range<usize>) -> Vias {
        let first = self
            .segments
            .partition_point(|s| s.at <= range.start)
            .saturating_sub(1);
        let mut vias = Vias::default();
        for s in self.segments[first..]
            .iter()
            .take_while(|s| s.at < range.end.max(range.start + 1))
        {
            vias.add(s.via);
        }
        vias
    }
}

/// A text with character-level disguises undone, and the way back.
#[derive(Debug)]
pub struct Decoded {
    /// The text to match.
    pub text: String,
    /// The passes that changed something, first pass first.
    layers: Vec<Layer>,
}

impl Decoded {
    /// `original` with references decoded (twice) and characters folded.
    pub fn new(original: &str) -> Decoded {
        let mut layers: Vec<Layer> = Vec::new();
        for _ in 0..2 {
            let input = layers.last().map_or(original, |l| l.text.as_str());
            match decode_references(input) {
                Some(layer) => layers.push(layer),
                None => break,
            }
        }
        let input = layers.last().map_or(original, |l| l.text.as_str());
        if let Some(layer) = fold_chars(input) {
            layers.push(layer);
        }
        let text = layers
            .last()
            .map_or_else(|| original.to_string(), |l| l.text.clone());
        Decoded { text, layers }
    }

    /// The original byte range of `range` in [`Decoded::text`].
    pub fn original(&self, range: Range<usize>) -> Range<usize> {
        let mut range = range;
        for layer in self.layers.iter().rev() {
            let start = layer.start(range.start);
            range = start..layer.end(range.end).max(start);
        }
        range
    }

    /// The disguises undone inside `range` of [`Decoded::text`].
    pub fn vias(&self, range: Range<usize>) -> Vias {
        let mut range = range;
        let mut vias = Vias::default();
        for layer in self.layers.iter().rev() {
            vias.add(layer.vias(&range));
            let start = layer.start(range.start);
            range = start..layer.end(range.end).max(start);
        }
        vias
    }
}

/// HTML character references (`&#105;`, `&#x69;`, `&lt;`) and runs of
/// percent-encoded bytes that form UTF-8 (`%69`), decoded; `None` when
/// the text has none.
fn decode_references(text: &str) -> Option<Layer> {
    let bytes = text.as_bytes();
    memchr::memchr2(b'&', b'%', bytes)?;
    let mut layer = Layer::with_capacity(text.len());
    let mut changed = false;
    let mut at = 0;
    while at < text.len() {
        let next = memchr::memchr2(b'&', b'%', &bytes[at..]).map_or(text.len(), |i| at + i);
        layer.keep_str(at, &text[at..next]);
        if next == text.len() {
            break;
        }
        let decoded = match bytes[next] {
            b'&' => html_reference(text, next).map(|d| (d, Hidden::HtmlEntities)),
            _ => percent_run(text, next).map(|d| (d, Hidden::PercentEncoding)),
        };
        match decoded {
            Some(((end, with), via)) => {
                layer.replace(next..end, &with, Vias::of(via));
                changed = true;
                at = end;
            }
            None => {
                layer.keep_str(next, &text[next..next + 1]);
                at = next + 1;
            }
        }
    }
    changed.then_some(layer)
}

/// The character reference starting at `at` (an `&`): its end and text.
fn html_reference(text: &str, at: usize) -> Option<(usize, String)> {
    let rest = &text.as_bytes()[at + 1..];
    let numeric = rest.first() == Some(&b'#');
    let hex = numeric && matches!(rest.get(1), Some(b'x' | b'X'));
    let skip = usize::from(numeric) + usize::from(hex);
    let name_len = rest[skip..]
        .iter()
        .take(32)
        .take_while(|b| match (numeric, hex) {
            (true, true) => b.is_ascii_hexdigit(),
            (true, false) => b.is_ascii_digit(),
            _ => b.is_ascii_alphanumeric(),
        })
        .count();
    if name_len == 0 || name_len == 32 {
        return None;
    }
    let end = at + 1 + skip + name_len;
    let semicolon = text.as_bytes().get(end) == Some(&b';');
    if !numeric && !semicolon {
        return None;
    }
    let reference = format!("{};", &text[at..end]);
    let decoded = html_escape::decode_html_entities(&reference);
    if decoded == reference {
        return None;
    }
    Some((end + usize::from(semicolon), decoded.into_owned()))
}

/// The run of `%XX` escapes starting at `at`, when it decodes to UTF-8.
fn percent_run(text: &str, at: usize) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    let mut end = at;
    while bytes.get(end) == Some(&b'%')
        && bytes.get(end + 1).is_some_and(u8::is_ascii_hexdigit)
        && bytes.get(end + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        end += 3;
    }
    if end == at {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(&text[at..end])
        .decode_utf8()
        .ok()?;
    Some((end, decoded.into_owned()))
}

/// Every character folded: invisible ones dropped, compatibility forms and
/// accents decomposed away, look-alikes mapped to Latin; `None` when the
/// text is ASCII (nothing to fold).
fn fold_chars(text: &str) -> Option<Layer> {
    if text.is_ascii() {
        return None;
    }
    let mut layer = Layer::with_capacity(text.len());
    let mut folded = String::new();
    let mut ascii_from = 0;
    for (at, c) in text.char_indices() {
        if c.is_ascii() {
            continue;
        }
        layer.keep_str(ascii_from, &text[ascii_from..at]);
        ascii_from = at + c.len_utf8();
        if is_invisible(c) {
            layer.drop_char(Vias::of(Hidden::InvisibleCharacters));
            continue;
        }
        folded.clear();
        let via = fold_char(c, &mut folded);
        if via.is_empty() && folded.len() == c.len_utf8() && folded.starts_with(c) {
            layer.keep(at, c);
        } else {
            layer.replace(at..at + c.len_utf8(), &folded, via);
        }
    }
    layer.keep_str(ascii_from, &text[ascii_from..]);
    Some(layer)
}

/// Whether `c` is invisible or only formats text: soft hyphen, zero-width
/// characters, bidi controls, tag characters, variation selectors, fillers.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{34F}'
            | '\u{61C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// `c` decomposed (NFKD), combining marks dropped, look-alikes folded,
/// pushed onto `out`; says which disguises that undid.
fn fold_char(c: char, out: &mut String) -> Vias {
    use unicode_normalization::char::{decompose_canonical, decompose_compatible};
    let mut canonical = String::new();
    decompose_canonical(c, |d| canonical.push(d));
    let mut compatible = String::new();
    decompose_compatible(c, |d| compatible.push(d));
    let mut vias = Vias::default();
    if compatible != canonical {
        vias.add(Vias::of(Hidden::StyledLetters));
    }
    for d in compatible.chars() {
        if unicode_normalization::char::is_combining_mark(d) || is_invisible(d) {
            continue;
        }
        match confusable(d) {
            Some(latin) => {
                vias.add(Vias::of(Hidden::Homoglyphs));
                out.push(latin);
            }
            None => out.push(d),
        }
    }
    vias
}

/// The Latin letter a Cyrillic, Greek or small-capital letter looks like.
pub fn confusable(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' | 'ɑ' | 'ᴀ' => 'a',
        'А' | 'Α' => 'A',
        'в' | 'ʙ' => 'b',
        'В' | 'Β' => 'B',
        'с' | 'ϲ' | 'ᴄ' => 'c',
        'С' | 'Ϲ' => 'C',
        'ԁ' | 'ᴅ' => 'd',
        'е' | 'ё' | 'є' | 'ε' | 'ᴇ' => 'e',
        'Е' | 'Ё' | 'Є' | 'Ε' => 'E',
        'ꜰ' => 'f',
        'ɡ' | 'ɢ' => 'g',
        'һ' | 'н' | 'ʜ' => 'h',
        'Н' | 'Η' => 'H',
        'і' | 'ї' | 'ι' | 'ı' | 'ɪ' => 'i',
        'І' | 'Ї' | 'Ι' | 'Ӏ' => 'I',
        'ј' | 'ᴊ' => 'j',
        'Ј' => 'J',
        'к' | 'κ' | 'ᴋ' => 'k',
        'К' | 'Κ' => 'K',
        'ӏ' | 'ʟ' => 'l',
        'м' | 'ᴍ' => 'm',
        'М' | 'Μ' => 'M',
        'ո' | 'ɴ' => 'n',
        'Ν' => 'N',
        'о' | 'ο' | 'օ' | 'ᴏ' => 'o',
        'О' | 'Ο' | 'Օ' => 'O',
        'р' | 'ρ' | 'ᴘ' => 'p',
        'Р' | 'Ρ' => 'P',
        'ԛ' => 'q',
        'ʀ' | 'г' => 'r',
        'ѕ' | 'ꜱ' => 's',
        'Ѕ' => 'S',
        'т' | 'τ' | 'ᴛ' => 't',
        'Т' | 'Τ' => 'T',
        'ս' | 'υ' | 'ᴜ' => 'u',
        'ν' | 'ᴠ' => 'v',
        'ԝ' | 'ᴡ' => 'w',
        'х' | 'χ' => 'x',
        'Х' | 'Χ' => 'X',
        'у' | 'ү' | 'γ' | 'ʏ' => 'y',
        'У' | 'Υ' | 'Ү' => 'Y',
        'ᴢ' => 'z',
        'Ζ' => 'Z',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> String {
        Decoded::new(text).text
    }

    #[test]
    fn html_references_are_decoded() {
        assert_eq!(decoded("&#105;gnore"), "ignore");
        assert_eq!(decoded("&#x49;&#X67;nore"), "Ignore");
        assert_eq!(decoded("&#105gnore"), "ignore");
        assert_eq!(
            decoded("&lt;system&gt; &amp; re&shy;veal"),
            "<system> & reveal"
        );
        // A named reference needs its semicolon, and unknown names stay.
        assert_eq!(decoded("?a=1&copy=2 &nosuch; &"), "?a=1&copy=2 &nosuch; &");
    }

    #[test]
    fn percent_runs_are_decoded_when_they_are_utf8() {
        assert_eq!(decoded("%69gnore%20all"), "ignore all");
        assert_eq!(decoded("/files/%E6%96%87.pdf"), "/files/文.pdf");
        assert_eq!(
            decoded("100% sure, %FF stays, %zz too"),
            "100% sure, %FF stays, %zz too"
        );
    }

    #[test]
    fn double_encoding_is_decoded_twice() {
        assert_eq!(decoded("%2569gnore"), "ignore");
        assert_eq!(decoded("&amp;#105;gnore"), "ignore");
    }

    #[test]
    fn invisible_characters_are_dropped() {
        assert_eq!(
            decoded("ig\u{AD}no\u{200B}re\u{FE0F} in\u{2060}st\u{E0041}"),
            "ignore inst"
        );
        assert_eq!(decoded("\u{202E}abc\u{202C}"), "abc");
    }

    #[test]
    fn fullwidth_and_styled_letters_are_folded() {
        assert_eq!(decoded("Ｉｇｎｏｒｅ\u{3000}ａｌｌ"), "Ignore all");
        assert_eq!(decoded("𝐢𝐠𝐧𝐨𝐫𝐞 ⓡⓔⓥⓔⓐⓛ ﬁle"), "ignore reveal file");
        assert_eq!(
            decoded("précédentes Einschränkungen"),
            "precedentes Einschrankungen"
        );
    }

    #[test]
    fn homoglyphs_are_folded_to_latin() {
        assert_eq!(decoded("Іgnоrе аll"), "Ignore all");
        assert_eq!(decoded("Yοu αre"), "You are");
        assert_eq!(decoded("ɪɢɴᴏʀᴇ"), "ignore");
        // Other scripts are left as they are.
        assert_eq!(decoded("日本語 שלום"), "日本語 שלום");
    }

    #[test]
    fn offsets_and_ways_map_back_to_the_original() {
        let text = "say &#105;gnore, Іgnore";
        let d = Decoded::new(text);
        let at = d.text.find("ignore").expect("decoded");
        let range = d.original(at..at + 6);
        assert_eq!(&text[range.clone()], "&#105;gnore");
        assert_eq!(d.vias(at..at + 6).list(), [Hidden::HtmlEntities]);
        let at = d.text.rfind("Ignore").expect("folded");
        assert_eq!(&text[d.original(at..at + 6)], "Іgnore");
        assert_eq!(d.vias(at..at + 6).list(), [Hidden::Homoglyphs]);
        assert!(d.vias(0..3).is_empty());
        let d = Decoded::new("%2569gnore x");
        assert_eq!(d.original(0..6), 0..10);
        assert_eq!(d.original(7..8), 11..12);
    }

    #[test]
    fn plain_ascii_is_left_alone() {
        let text = "fn main() { println!(\"100%\"); } // a & b";
        let d = Decoded::new(text);
        assert_eq!(d.text, text);
        assert_eq!(d.original(3..7), 3..7);
    }
}
