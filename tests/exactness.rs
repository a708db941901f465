//! confab's token counts against tiktoken-rs, the reference: the same token
//! ids for a generated corpus of code, prose, CJK, emoji, white-space runs
//! and random Unicode, for both encodings.

use confab::tokens::Encoding;

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pieces the generator strings together; chosen to hit every branch of
/// both pre-tokenizer patterns.
const ATOMS: &[&str] = &[
    "a",
    "Z",
    "hello",
    "World",
    "HTTPServer",
    "camelCase",
    "snake_case",
    "x1",
    "ǅ",
    "ʰ",
    "ª",
    "ſ",
    "K",
    "Å",
    "é",
    "e\u{301}",
    "\u{301}",
    "\u{20DD}",
    "ß",
    "İ",
    "Ω",
    "привет",
    "Привет",
    "日本語",
    "한국어",
    "中文",
    "ไทย",
    "हिन्दी",
    "العربية",
    "١٢٣",
    "²",
    "Ⅻ",
    "0",
    "12",
    "123",
    "1234567",
    "3.14",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    " \n",
    "\u{a0}",
    "\u{3000}",
    "\u{2028}",
    "\u{85}",
    "\u{b}",
    "\u{c}",
    "'",
    "'s",
    "'S",
    "'t",
    "'re",
    "'RE",
    "'ve",
    "'m",
    "'ll",
    "'Ll",
    "'d",
    "'ſ",
    "'x",
    "\"",
    "/",
    "//",
    "/*",
    "*/",
    "\n/",
    ".\n/",
    "{",
    "}",
    "();",
    "=>",
    "->",
    "::",
    "#",
    "@",
    "$",
    "%",
    "^",
    "&&",
    "||",
    "!=",
    "...",
    "—",
    "–",
    "…",
    "«",
    "»",
    "€",
    "©",
    "😀",
    "👍🏽",
    "👨\u{200d}👩\u{200d}👧",
    "🤖",
    "\u{200b}",
    "\u{feff}",
    "\u{e0041}",
    "\u{fe0f}",
    "\u{1F1FA}\u{1F1F8}",
    "\u{10FFFF}",
    "\u{E000}",
    "\u{FFFD}",
    "<|endoftext|>",
];

const CODE: &str = r#"
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    for (i, arg) in args.iter().enumerate() {
        println!("{i}: {arg:?}");   // print each argument
    }
    if args.len() > 2 && args[1] == "--help" { return Ok(()); }
    Ok(())
}
def parse(self, data: bytes) -> dict[str, int]:
    """Parse the header; return {'size': n}."""
    return {k.decode(): int(v) for k, v in (l.split(b"=") for l in data.splitlines())}
SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 10;
<div class="note"><a href="https://example.com/path?q=1&r=2">link</a></div>
$ git diff --stat HEAD~3 | tail -n 1
 12 files changed, 340 insertions(+), 71 deletions(-)
"#;

const PROSE: &str = "It was the best of times, it was the worst of times; it was the age of \
wisdom, it was the age of foolishness. We'd've gone, hadn't we? I'm sure they'll say it's \
fine.  Two  spaces.   Three.\n\nNew paragraph — with an em dash… and «quotes». \
東京は日本の首都です。서울은 한국의 수도입니다. Москва — столица России. 😀👍🏽\n";

fn random_text(rng: &mut Rng, atoms: usize) -> String {
    let mut text = String::new();
    for _ in 0..atoms {
        match rng.below(10) {
            0 => text.push_str(&CODE[rng.below(CODE.len() / 2)..][..40].replace('\u{0}', "")),
            1 => {
                let start = rng.below(PROSE.len() - 50);
                if let Some(slice) = PROSE.get(start..start + 30) {
                    text.push_str(slice);
                }
            }
            2 => {
                let run = rng.pick(&[" ", "\t", "\n", "\u{3000}"]);
                text.push_str(&run.repeat(1 + rng.below(12)));
            }
            3 => {
                // A random scalar value from anywhere in Unicode.
                let code = rng.below(0x11_0000) as u32;
                if let Some(c) = char::from_u32(code) {
                    text.push(c);
                }
            }
            _ => text.push_str(rng.pick(ATOMS)),
        }
    }
    text
}

fn references() -> [(Encoding, tiktoken_rs::CoreBPE); 2] {
    [
        (
            Encoding::O200kBase,
            tiktoken_rs::o200k_base().expect("reference o200k"),
        ),
        (
            Encoding::Cl100kBase,
            tiktoken_rs::cl100k_base().expect("reference cl100k"),
        ),
    ]
}

fn assert_same(encoding: Encoding, reference: &tiktoken_rs::CoreBPE, text: &str) {
    let expected = reference.encode_ordinary(text);
    let actual = encoding.encode(text);
    assert_eq!(actual, expected, "{encoding} differs on {text:?}");
    assert_eq!(
        encoding.count(text),
        expected.len(),
        "{encoding} count on {text:?}"
    );
}

#[test]
fn same_tokens_as_tiktoken_on_fixed_texts() {
    for (encoding, reference) in references() {
        for text in [
            CODE, PROSE, "", " ", "\n", "a", "   x", "x   ", " \n \n  ", "don't", "DON'T",
        ] {
            assert_same(encoding, &reference, text);
        }
        for atom in ATOMS {
            for context in ["", " ", "a", "A", "1", ".", "\n", "'", " a"] {
                assert_same(encoding, &reference, &format!("{context}{atom}"));
                assert_same(encoding, &reference, &format!("{atom}{context}"));
                assert_same(encoding, &reference, &format!("{atom}{context}{atom}"));
            }
        }
    }
}

#[test]
fn same_tokens_as_tiktoken_on_generated_corpus() {
    let mut rng = Rng(0x5EED);
    let references = references();
    for round in 0..4000 {
        let text = random_text(&mut rng, 1 + round % 40);
        for (encoding, reference) in &references {
            assert_same(*encoding, reference, &text);
        }
    }
}

#[test]
fn same_tokens_as_tiktoken_on_long_runs() {
    // As long as the reference's backtracking regex manages.
    for (encoding, reference) in references() {
        for unit in [" ", "a", "\n", " \n", "ab", "1", "!", "\t ", "日"] {
            for repeat in [1, 2, 3, 7, 64, 129, 500, 2000] {
                let run = unit.repeat(repeat);
                assert_same(encoding, &reference, &run);
                assert_same(encoding, &reference, &format!("x{run}y"));
            }
        }
    }
}

#[test]
fn parallel_split_counts_the_same() {
    let mut rng = Rng(42);
    let mut text = String::new();
    while text.len() < 3 << 20 {
        text.push_str(&random_text(&mut rng, 200));
        text.push('\n');
    }
    for encoding in Encoding::ALL {
        let bounds = confab::tokens::split_points(&text, 64 << 10);
        assert!(bounds.len() > 10, "the corpus has places to split");
        let parts: usize = bounds
            .windows(2)
            .map(|w| encoding.count(&text[w[0]..w[1]]))
            .sum();
        let whole = encoding.count(&text);
        assert_eq!(parts, whole);
        assert_eq!(encoding.count_parallel(&text), whole);
    }
}

/// tiktoken-rs's ranks, for calling its byte-pair merge directly.
fn reference_ranks(encoding: Encoding) -> rustc_hash::FxHashMap<Vec<u8>, u32> {
    use base64::Engine as _;
    let file = format!(
        "{}/assets/tokenizers/{}.tiktoken",
        env!("CARGO_MANIFEST_DIR"),
        encoding.name()
    );
    let text = std::fs::read_to_string(&file).expect("vocabulary file");
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(token, rank)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(token)
                .expect("base64 token");
            (bytes, rank.parse().expect("rank"))
        })
        .collect()
}

/// `len` characters drawn from `alphabet`.
fn random_run(rng: &mut Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rng.below(alphabet.len())] as char)
        .collect()
}

/// The inputs that tiktoken-rs cannot encode (its regex engine gives up
/// with "Max stack size exceeded for backtracking" on long runs): a
/// megabyte of spaces, of one letter, of newlines, of random letters (one
/// piece, as minified code is), of a Base64 blob. Checked three ways: the
/// pieces against the reference regex on the longest runs it manages; the
/// merge of long pieces against the reference's merge (quadratic, so on
/// 20 kB); and the megabyte texts encode to vocabulary tokens that decode
/// back to the exact input, with the count equal to the number of tokens.
#[test]
fn megabyte_runs_are_counted_exactly() {
    let inputs = [
        " ".repeat(1 << 20),
        "a".repeat(1 << 20),
        format!("x{}y", " ".repeat(1 << 20)),
        "\n".repeat(1 << 20),
        format!("{}\n", " \t".repeat(1 << 19)),
        random_run(&mut Rng(3), b"abcdefghijklmnopqrstuvwxyz", 1 << 20),
        random_run(
            &mut Rng(4),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            1 << 20,
        ),
    ];
    for (encoding, reference) in references() {
        let ranks = reference_ranks(encoding);
        for text in &inputs {
            let cut = |len: usize| {
                let mut cut = len.min(text.len());
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                &text[..cut]
            };
            assert_same(encoding, &reference, cut(50_000));
            let expected: usize = confab::tokens::pieces(encoding, cut(20_000))
                .iter()
                .map(|piece| match piece.len() {
                    1 => 1,
                    _ => tiktoken_rs::byte_pair_split(piece.as_bytes(), &ranks).len(),
                })
                .sum();
            assert_eq!(encoding.count(cut(20_000)), expected);
            let tokens = encoding.encode(text);
            assert_eq!(encoding.decode_bytes(&tokens), text.as_bytes());
            assert_eq!(encoding.count(text), tokens.len());
        }
    }
}

/// A megabyte of random Unicode has short pieces, which the reference manages.
#[test]
fn megabyte_of_random_unicode_counts_like_tiktoken() {
    let mut rng = Rng(7);
    let mut text = String::new();
    while text.len() < 1 << 20 {
        if let Some(c) = char::from_u32(rng.below(0x11_0000) as u32) {
            text.push(c);
        }
    }
    for (encoding, reference) in references() {
        assert_same(encoding, &reference, &text);
    }
}
