//! The built-in, offline text embedder: a static (lookup-table) model
//! distilled from `sentence-transformers/all-MiniLM-L6-v2`.
//!
//! Every WordPiece token of the model's vocabulary has one 256-dimensional
//! vector, stored as int8 with a per-row f32 scale (about 8 MB, compiled
//! into the binary). A text's embedding is the L2-normalised mean of the
//! vectors of its tokens: no neural network runs at query time, so
//! embedding is fast and needs no network, GPU or model download.
//!
//! The table was produced by `scripts/distill_embedder.py`: the full
//! transformer was run on `[CLS] t [SEP]` for every token `t`, mean-pooled,
//! reduced to 256 dimensions by PCA, SIF-weighted by a Zipf estimate of
//! token frequency, and quantised (model2vec's recipe).
//! `assets/embedder/NOTICE` and `meta.json` record the details; the model
//! is Apache-2.0 (`assets/embedder/LICENSE`).
//!
//! Tokenisation follows BERT's uncased tokenizer: control characters
//! removed, whitespace split, lowercased, accents stripped, punctuation
//! split off, CJK ideographs made words of their own, then greedy
//! longest-match-first WordPiece. `std` has no Unicode normalisation or
//! general-category tables, so this file carries the two category tables
//! BERT needs (Mn and P*, Unicode 14, generated with Python's
//! `unicodedata`) and approximates the rest:
//!
//! * Accent stripping (BERT: NFD, then drop category Mn) drops every
//!   nonspacing mark (U+0300–U+036F, and the Hebrew, Arabic and Indic
//!   vowel marks among others), decomposes Hangul syllables into jamo, and
//!   maps precomposed letters to their base letter with a table covering
//!   Latin-1 Supplement, Latin Extended-A/B, Greek, Cyrillic, Latin
//!   Extended Additional and the voiced kana. Precomposed letters outside
//!   those blocks (polytonic Greek, Indic nukta forms, compatibility
//!   ideographs) are kept as they are, where BERT would decompose them.
//! * Control and format characters are `char::is_control` plus a short
//!   list of format characters (zero-width spaces and joiners, direction
//!   marks, soft hyphen, BOM) and the private-use areas; BERT also drops
//!   unassigned code points, which are kept here.
//!
//! Checked against a Python reimplementation of `BertTokenizer`'s rules on
//! 27,000 lines of English documentation (and a few lines in other
//! scripts): the tokens match.

use std::collections::HashMap;
use std::sync::OnceLock;

static EMBEDDINGS: &[u8] = include_bytes!("../../assets/embedder/embeddings.i8");
static SCALES: &[u8] = include_bytes!("../../assets/embedder/scales.f32");
static VOCAB: &str = include_str!("../../assets/embedder/vocab.txt");
static META: &str = include_str!("../../assets/embedder/meta.json");

/// Words longer than this many characters become `[UNK]`, as in BERT.
const MAX_WORD_CHARS: usize = 100;

/// Precomposed lowercase letters whose Unicode canonical decomposition is a
/// base letter plus nonspacing marks; `BASES` holds the base letter at the
/// same position. Generated with Python's `unicodedata` (NFD, then drop
/// category Mn) over U+00C0–U+024F, U+0370–U+03FF, U+0400–U+04FF,
/// U+1E00–U+1EFF and U+3000–U+30FF.
const ACCENTED: &str = concat!(
    "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăą",
    "ćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏő",
    "ŕŗřśŝşšţťũūŭůűųŵŷźżžơưǎǐǒǔǖǘǚǜ",
    "ǟǡǣǧǩǫǭǯǰǵǹǻǽǿȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧ",
    "ȩȫȭȯȱȳʹ;΅·ΐάέήίΰϊϋόύώϓϔйѐёѓїќѝ",
    "ўѷӂӑӓӗӛӝӟӣӥӧӫӭӯӱӳӵӹḁḃḅḇḉḋḍḏḑḓḕ",
    "ḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑ",
    "ṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯṱṳṵṷṹṻṽṿẁẃẅẇẉẋẍ",
    "ẏẑẓẕẖẗẘẙẛạảấầẩẫậắằẳẵặẹẻẽếềểễệỉ",
    "ịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
    "がぎぐげござじずぜぞだぢづでどばぱびぴぶぷべぺぼぽゔゞ",
    "ガギグゲゴザジズゼゾダヂヅデドバパビピブプベペボポヴヷヸヹヺヾ",
);
/// The base letter of each character of [`ACCENTED`], position for
/// position.
const BASES: &str = concat!(
    "aaaaaaceeeeiiiinooooouuuuyyaaa",
    "ccccdeeeeegggghiiiijklllnnnooo",
    "rrrssssttuuuuuuwyzzzouaiouuuuu",
    "aaægkooʒjgnaæøaaeeiioorruustha",
    "eooooyʹ;¨·ιαεηιυιυουωϒϒиеегіки",
    "уѵжааеәжзииоөэууучыabbbcddddde",
    "eeeefghhhhhiikkkllllmmmnnnnooo",
    "opprrrrsssssttttuuuuuvvwwwwwxx",
    "yzzzhtwyſaaaaaaaaaaaaeeeeeeeei",
    "ioooooooooooouuuuuuuyyyy",
    "かきくけこさしすせそたちつてとははひひふふへへほほうゝ",
    "カキクケコサシスセソタチツテトハハヒヒフフヘヘホホウワヰヱヲヽ",
);

/// The code points of Unicode general category Mn (nonspacing marks),
/// Unicode 14, as sorted half-open ranges `[start, end)` flattened into one
/// array: a code point is a mark when an odd number of entries are `<=` it.
/// Generated with Python's `unicodedata`.
const NONSPACING_MARKS: [u32; 672] = [
    0x0300, 0x0370, 0x0483, 0x0488, 0x0591, 0x05BE, 0x05BF, 0x05C0, 0x05C1, 0x05C3, 0x05C4, 0x05C6,
    0x05C7, 0x05C8, 0x0610, 0x061B, 0x064B, 0x0660, 0x0670, 0x0671, 0x06D6, 0x06DD, 0x06DF, 0x06E5,
    0x06E7, 0x06E9, 0x06EA, 0x06EE, 0x0711, 0x0712, 0x0730, 0x074B, 0x07A6, 0x07B1, 0x07EB, 0x07F4,
    0x07FD, 0x07FE, 0x0816, 0x081A, 0x081B, 0x0824, 0x0825, 0x0828, 0x0829, 0x082E, 0x0859, 0x085C,
    0x0898, 0x08A0, 0x08CA, 0x08E2, 0x08E3, 0x0903, 0x093A, 0x093B, 0x093C, 0x093D, 0x0941, 0x0949,
    0x094D, 0x094E, 0x0951, 0x0958, 0x0962, 0x0964, 0x0981, 0x0982, 0x09BC, 0x09BD, 0x09C1, 0x09C5,
    0x09CD, 0x09CE, 0x09E2, 0x09E4, 0x09FE, 0x09FF, 0x0A01, 0x0A03, 0x0A3C, 0x0A3D, 0x0A41, 0x0A43,
    0x0A47, 0x0A49, 0x0A4B, 0x0A4E, 0x0A51, 0x0A52, 0x0A70, 0x0A72, 0x0A75, 0x0A76, 0x0A81, 0x0A83,
    0x0ABC, 0x0ABD, 0x0AC1, 0x0AC6, 0x0AC7, 0x0AC9, 0x0ACD, 0x0ACE, 0x0AE2, 0x0AE4, 0x0AFA, 0x0B00,
    0x0B01, 0x0B02, 0x0B3C, 0x0B3D, 0x0B3F, 0x0B40, 0x0B41, 0x0B45, 0x0B4D, 0x0B4E, 0x0B55, 0x0B57,
    0x0B62, 0x0B64, 0x0B82, 0x0B83, 0x0BC0, 0x0BC1, 0x0BCD, 0x0BCE, 0x0C00, 0x0C01, 0x0C04, 0x0C05,
    0x0C3C, 0x0C3D, 0x0C3E, 0x0C41, 0x0C46, 0x0C49, 0x0C4A, 0x0C4E, 0x0C55, 0x0C57, 0x0C62, 0x0C64,
    0x0C81, 0x0C82, 0x0CBC, 0x0CBD, 0x0CBF, 0x0CC0, 0x0CC6, 0x0CC7, 0x0CCC, 0x0CCE, 0x0CE2, 0x0CE4,
    0x0D00, 0x0D02, 0x0D3B, 0x0D3D, 0x0D41, 0x0D45, 0x0D4D, 0x0D4E, 0x0D62, 0x0D64, 0x0D81, 0x0D82,
    0x0DCA, 0x0DCB, 0x0DD2, 0x0DD5, 0x0DD6, 0x0DD7, 0x0E31, 0x0E32, 0x0E34, 0x0E3B, 0x0E47, 0x0E4F,
    0x0EB1, 0x0EB2, 0x0EB4, 0x0EBD, 0x0EC8, 0x0ECE, 0x0F18, 0x0F1A, 0x0F35, 0x0F36, 0x0F37, 0x0F38,
    0x0F39, 0x0F3A, 0x0F71, 0x0F7F, 0x0F80, 0x0F85, 0x0F86, 0x0F88, 0x0F8D, 0x0F98, 0x0F99, 0x0FBD,
    0x0FC6, 0x0FC7, 0x102D, 0x1031, 0x1032, 0x1038, 0x1039, 0x103B, 0x103D, 0x103F, 0x1058, 0x105A,
    0x105E, 0x1061, 0x1071, 0x1075, 0x1082, 0x1083, 0x1085, 0x1087, 0x108D, 0x108E, 0x109D, 0x109E,
    0x135D, 0x1360, 0x1712, 0x1715, 0x1732, 0x1734, 0x1752, 0x1754, 0x1772, 0x1774, 0x17B4, 0x17B6,
    0x17B7, 0x17BE, 0x17C6, 0x17C7, 0x17C9, 0x17D4, 0x17DD, 0x17DE, 0x180B, 0x180E, 0x180F, 0x1810,
    0x1885, 0x1887, 0x18A9, 0x18AA, 0x1920, 0x1923, 0x1927, 0x1929, 0x1932, 0x1933, 0x1939, 0x193C,
    0x1A17, 0x1A19, 0x1A1B, 0x1A1C, 0x1A56, 0x1A57, 0x1A58, 0x1A5F, 0x1A60, 0x1A61, 0x1A62, 0x1A63,
    0x1A65, 0x1A6D, 0x1A73, 0x1A7D, 0x1A7F, 0x1A80, 0x1AB0, 0x1ABE, 0x1ABF, 0x1ACF, 0x1B00, 0x1B04,
    0x1B34, 0x1B35, 0x1B36, 0x1B3B, 0x1B3C, 0x1B3D, 0x1B42, 0x1B43, 0x1B6B, 0x1B74, 0x1B80, 0x1B82,
    0x1BA2, 0x1BA6, 0x1BA8, 0x1BAA, 0x1BAB, 0x1BAE, 0x1BE6, 0x1BE7, 0x1BE8, 0x1BEA, 0x1BED, 0x1BEE,
    0x1BEF, 0x1BF2, 0x1C2C, 0x1C34, 0x1C36, 0x1C38, 0x1CD0, 0x1CD3, 0x1CD4, 0x1CE1, 0x1CE2, 0x1CE9,
    0x1CED, 0x1CEE, 0x1CF4, 0x1CF5, 0x1CF8, 0x1CFA, 0x1DC0, 0x1E00, 0x20D0, 0x20DD, 0x20E1, 0x20E2,
    0x20E5, 0x20F1, 0x2CEF, 0x2CF2, 0x2D7F, 0x2D80, 0x2DE0, 0x2E00, 0x302A, 0x302E, 0x3099, 0x309B,
    0xA66F, 0xA670, 0xA674, 0xA67E, 0xA69E, 0xA6A0, 0xA6F0, 0xA6F2, 0xA802, 0xA803, 0xA806, 0xA807,
    0xA80B, 0xA80C, 0xA825, 0xA827, 0xA82C, 0xA82D, 0xA8C4, 0xA8C6, 0xA8E0, 0xA8F2, 0xA8FF, 0xA900,
    0xA926, 0xA92E, 0xA947, 0xA952, 0xA980, 0xA983, 0xA9B3, 0xA9B4, 0xA9B6, 0xA9BA, 0xA9BC, 0xA9BE,
    0xA9E5, 0xA9E6, 0xAA29, 0xAA2F, 0xAA31, 0xAA33, 0xAA35, 0xAA37, 0xAA43, 0xAA44, 0xAA4C, 0xAA4D,
    0xAA7C, 0xAA7D, 0xAAB0, 0xAAB1, 0xAAB2, 0xAAB5, 0xAAB7, 0xAAB9, 0xAABE, 0xAAC0, 0xAAC1, 0xAAC2,
    0xAAEC, 0xAAEE, 0xAAF6, 0xAAF7, 0xABE5, 0xABE6, 0xABE8, 0xABE9, 0xABED, 0xABEE, 0xFB1E, 0xFB1F,
    0xFE00, 0xFE10, 0xFE20, 0xFE30, 0x101FD, 0x101FE, 0x102E0, 0x102E1, 0x10376, 0x1037B, 0x10A01,
    0x10A04, 0x10A05, 0x10A07, 0x10A0C, 0x10A10, 0x10A38, 0x10A3B, 0x10A3F, 0x10A40, 0x10AE5,
    0x10AE7, 0x10D24, 0x10D28, 0x10EAB, 0x10EAD, 0x10F46, 0x10F51, 0x10F82, 0x10F86, 0x11001,
    0x11002, 0x11038, 0x11047, 0x11070, 0x11071, 0x11073, 0x11075, 0x1107F, 0x11082, 0x110B3,
    0x110B7, 0x110B9, 0x110BB, 0x110C2, 0x110C3, 0x11100, 0x11103, 0x11127, 0x1112C, 0x1112D,
    0x11135, 0x11173, 0x11174, 0x11180, 0x11182, 0x111B6, 0x111BF, 0x111C9, 0x111CD, 0x111CF,
    0x111D0, 0x1122F, 0x11232, 0x11234, 0x11235, 0x11236, 0x11238, 0x1123E, 0x1123F, 0x112DF,
    0x112E0, 0x112E3, 0x112EB, 0x11300, 0x11302, 0x1133B, 0x1133D, 0x11340, 0x11341, 0x11366,
    0x1136D, 0x11370, 0x11375, 0x11438, 0x11440, 0x11442, 0x11445, 0x11446, 0x11447, 0x1145E,
    0x1145F, 0x114B3, 0x114B9, 0x114BA, 0x114BB, 0x114BF, 0x114C1, 0x114C2, 0x114C4, 0x115B2,
    0x115B6, 0x115BC, 0x115BE, 0x115BF, 0x115C1, 0x115DC, 0x115DE, 0x11633, 0x1163B, 0x1163D,
    0x1163E, 0x1163F, 0x11641, 0x116AB, 0x116AC, 0x116AD, 0x116AE, 0x116B0, 0x116B6, 0x116B7,
    0x116B8, 0x1171D, 0x11720, 0x11722, 0x11726, 0x11727, 0x1172C, 0x1182F, 0x11838, 0x11839,
    0x1183B, 0x1193B, 0x1193D, 0x1193E, 0x1193F, 0x11943, 0x11944, 0x119D4, 0x119D8, 0x119DA,
    0x119DC, 0x119E0, 0x119E1, 0x11A01, 0x11A0B, 0x11A33, 0x11A39, 0x11A3B, 0x11A3F, 0x11A47,
    0x11A48, 0x11A51, 0x11A57, 0x11A59, 0x11A5C, 0x11A8A, 0x11A97, 0x11A98, 0x11A9A, 0x11C30,
    0x11C37, 0x11C38, 0x11C3E, 0x11C3F, 0x11C40, 0x11C92, 0x11CA8, 0x11CAA, 0x11CB1, 0x11CB2,
    0x11CB4, 0x11CB5, 0x11CB7, 0x11D31, 0x11D37, 0x11D3A, 0x11D3B, 0x11D3C, 0x11D3E, 0x11D3F,
    0x11D46, 0x11D47, 0x11D48, 0x11D90, 0x11D92, 0x11D95, 0x11D96, 0x11D97, 0x11D98, 0x11EF3,
    0x11EF5, 0x16AF0, 0x16AF5, 0x16B30, 0x16B37, 0x16F4F, 0x16F50, 0x16F8F, 0x16F93, 0x16FE4,
    0x16FE5, 0x1BC9D, 0x1BC9F, 0x1CF00, 0x1CF2E, 0x1CF30, 0x1CF47, 0x1D167, 0x1D16A, 0x1D17B,
    0x1D183, 0x1D185, 0x1D18C, 0x1D1AA, 0x1D1AE, 0x1D242, 0x1D245, 0x1DA00, 0x1DA37, 0x1DA3B,
    0x1DA6D, 0x1DA75, 0x1DA76, 0x1DA84, 0x1DA85, 0x1DA9B, 0x1DAA0, 0x1DAA1, 0x1DAB0, 0x1E000,
    0x1E007, 0x1E008, 0x1E019, 0x1E01B, 0x1E022, 0x1E023, 0x1E025, 0x1E026, 0x1E02B, 0x1E130,
    0x1E137, 0x1E2AE, 0x1E2AF, 0x1E2EC, 0x1E2F0, 0x1E8D0, 0x1E8D7, 0x1E944, 0x1E94B, 0xE0100,
    0xE01F0,
];

/// The non-ASCII code points of Unicode general categories P* (all
/// punctuation), Unicode 14, in the same half-open range format as
/// [`NONSPACING_MARKS`]. Generated with Python's `unicodedata`.
const PUNCTUATION: [u32; 360] = [
    0x00A1, 0x00A2, 0x00A7, 0x00A8, 0x00AB, 0x00AC, 0x00B6, 0x00B8, 0x00BB, 0x00BC, 0x00BF, 0x00C0,
    0x037E, 0x037F, 0x0387, 0x0388, 0x055A, 0x0560, 0x0589, 0x058B, 0x05BE, 0x05BF, 0x05C0, 0x05C1,
    0x05C3, 0x05C4, 0x05C6, 0x05C7, 0x05F3, 0x05F5, 0x0609, 0x060B, 0x060C, 0x060E, 0x061B, 0x061C,
    0x061D, 0x0620, 0x066A, 0x066E, 0x06D4, 0x06D5, 0x0700, 0x070E, 0x07F7, 0x07FA, 0x0830, 0x083F,
    0x085E, 0x085F, 0x0964, 0x0966, 0x0970, 0x0971, 0x09FD, 0x09FE, 0x0A76, 0x0A77, 0x0AF0, 0x0AF1,
    0x0C77, 0x0C78, 0x0C84, 0x0C85, 0x0DF4, 0x0DF5, 0x0E4F, 0x0E50, 0x0E5A, 0x0E5C, 0x0F04, 0x0F13,
    0x0F14, 0x0F15, 0x0F3A, 0x0F3E, 0x0F85, 0x0F86, 0x0FD0, 0x0FD5, 0x0FD9, 0x0FDB, 0x104A, 0x1050,
    0x10FB, 0x10FC, 0x1360, 0x1369, 0x1400, 0x1401, 0x166E, 0x166F, 0x169B, 0x169D, 0x16EB, 0x16EE,
    0x1735, 0x1737, 0x17D4, 0x17D7, 0x17D8, 0x17DB, 0x1800, 0x180B, 0x1944, 0x1946, 0x1A1E, 0x1A20,
    0x1AA0, 0x1AA7, 0x1AA8, 0x1AAE, 0x1B5A, 0x1B61, 0x1B7D, 0x1B7F, 0x1BFC, 0x1C00, 0x1C3B, 0x1C40,
    0x1C7E, 0x1C80, 0x1CC0, 0x1CC8, 0x1CD3, 0x1CD4, 0x2010, 0x2028, 0x2030, 0x2044, 0x2045, 0x2052,
    0x2053, 0x205F, 0x207D, 0x207F, 0x208D, 0x208F, 0x2308, 0x230C, 0x2329, 0x232B, 0x2768, 0x2776,
    0x27C5, 0x27C7, 0x27E6, 0x27F0, 0x2983, 0x2999, 0x29D8, 0x29DC, 0x29FC, 0x29FE, 0x2CF9, 0x2CFD,
    0x2CFE, 0x2D00, 0x2D70, 0x2D71, 0x2E00, 0x2E2F, 0x2E30, 0x2E50, 0x2E52, 0x2E5E, 0x3001, 0x3004,
    0x3008, 0x3012, 0x3014, 0x3020, 0x3030, 0x3031, 0x303D, 0x303E, 0x30A0, 0x30A1, 0x30FB, 0x30FC,
    0xA4FE, 0xA500, 0xA60D, 0xA610, 0xA673, 0xA674, 0xA67E, 0xA67F, 0xA6F2, 0xA6F8, 0xA874, 0xA878,
    0xA8CE, 0xA8D0, 0xA8F8, 0xA8FB, 0xA8FC, 0xA8FD, 0xA92E, 0xA930, 0xA95F, 0xA960, 0xA9C1, 0xA9CE,
    0xA9DE, 0xA9E0, 0xAA5C, 0xAA60, 0xAADE, 0xAAE0, 0xAAF0, 0xAAF2, 0xABEB, 0xABEC, 0xFD3E, 0xFD40,
    0xFE10, 0xFE1A, 0xFE30, 0xFE53, 0xFE54, 0xFE62, 0xFE63, 0xFE64, 0xFE68, 0xFE69, 0xFE6A, 0xFE6C,
    0xFF01, 0xFF04, 0xFF05, 0xFF0B, 0xFF0C, 0xFF10, 0xFF1A, 0xFF1C, 0xFF1F, 0xFF21, 0xFF3B, 0xFF3E,
    0xFF3F, 0xFF40, 0xFF5B, 0xFF5C, 0xFF5D, 0xFF5E, 0xFF5F, 0xFF66, 0x10100, 0x10103, 0x1039F,
    0x103A0, 0x103D0, 0x103D1, 0x1056F, 0x10570, 0x10857, 0x10858, 0x1091F, 0x10920, 0x1093F,
    0x10940, 0x10A50, 0x10A59, 0x10A7F, 0x10A80, 0x10AF0, 0x10AF7, 0x10B39, 0x10B40, 0x10B99,
    0x10B9D, 0x10EAD, 0x10EAE, 0x10F55, 0x10F5A, 0x10F86, 0x10F8A, 0x11047, 0x1104E, 0x110BB,
    0x110BD, 0x110BE, 0x110C2, 0x11140, 0x11144, 0x11174, 0x11176, 0x111C5, 0x111C9, 0x111CD,
    0x111CE, 0x111DB, 0x111DC, 0x111DD, 0x111E0, 0x11238, 0x1123E, 0x112A9, 0x112AA, 0x1144B,
    0x11450, 0x1145A, 0x1145C, 0x1145D, 0x1145E, 0x114C6, 0x114C7, 0x115C1, 0x115D8, 0x11641,
    0x11644, 0x11660, 0x1166D, 0x116B9, 0x116BA, 0x1173C, 0x1173F, 0x1183B, 0x1183C, 0x11944,
    0x11947, 0x119E2, 0x119E3, 0x11A3F, 0x11A47, 0x11A9A, 0x11A9D, 0x11A9E, 0x11AA3, 0x11C41,
    0x11C46, 0x11C70, 0x11C72, 0x11EF7, 0x11EF9, 0x11FFF, 0x12000, 0x12470, 0x12475, 0x12FF1,
    0x12FF3, 0x16A6E, 0x16A70, 0x16AF5, 0x16AF6, 0x16B37, 0x16B3C, 0x16B44, 0x16B45, 0x16E97,
    0x16E9B, 0x16FE2, 0x16FE3, 0x1BC9F, 0x1BCA0, 0x1DA87, 0x1DA8C, 0x1E95E, 0x1E960,
];

/// A static embedding model: a WordPiece vocabulary and one quantised
/// vector per token. Obtain the built-in one with [`StaticEmbedder::builtin`].
pub struct StaticEmbedder {
    name: String,
    dim: usize,
    vocab: HashMap<&'static str, u32>,
    tokens: Vec<&'static str>,
    /// `vocab_size * dim` int8 values, row-major, stored as the raw bytes.
    rows: &'static [u8],
    scales: Vec<f32>,
    unk: Option<u32>,
    accents: HashMap<char, char>,
}

impl std::fmt::Debug for StaticEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticEmbedder")
            .field("name", &self.name)
            .field("dim", &self.dim)
            .field("vocab_size", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl StaticEmbedder {
    /// The embedder compiled into confab (`confab-minilm-l6-static-v1`,
    /// 256 dimensions). Parsed on first use, then shared.
    ///
    /// # Panics
    ///
    /// Only if the model files compiled into the binary are inconsistent,
    /// which the tests rule out.
    pub fn builtin() -> &'static StaticEmbedder {
        static BUILTIN: OnceLock<StaticEmbedder> = OnceLock::new();
        BUILTIN.get_or_init(|| match Self::load(META, VOCAB, EMBEDDINGS, SCALES) {
            Ok(embedder) => embedder,
            Err(msg) => panic!("built-in embedder assets are inconsistent: {msg}"),
        })
    }

    /// Builds an embedder from its four files, checking that they agree.
    fn load(
        meta: &str,
        vocab: &'static str,
        rows: &'static [u8],
        scales: &[u8],
    ) -> Result<StaticEmbedder, String> {
        let meta: serde_json::Value =
            serde_json::from_str(meta).map_err(|e| format!("meta.json: {e}"))?;
        let name = meta
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or("meta.json: no \"name\"")?
            .to_owned();
        let dim = meta
            .get("dim")
            .and_then(|v| v.as_u64())
            .and_then(|d| usize::try_from(d).ok())
            .filter(|&d| d > 0)
            .ok_or("meta.json: no positive \"dim\"")?;
        let vocab_size = meta
            .get("vocab_size")
            .and_then(|v| v.as_u64())
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("meta.json: no \"vocab_size\"")?;

        let tokens: Vec<&'static str> = vocab
            .strip_suffix('\n')
            .unwrap_or(vocab)
            .split('\n')
            .collect();
        if tokens.len() != vocab_size {
            return Err(format!(
                "vocab.txt has {} tokens, meta.json says {vocab_size}",
                tokens.len()
            ));
        }
        if u32::try_from(vocab_size).is_err() {
            return Err(format!("vocabulary of {vocab_size} tokens is too large"));
        }
        let mut map = HashMap::with_capacity(tokens.len());
        for (id, &token) in (0u32..).zip(&tokens) {
            if map.insert(token, id).is_some() {
                return Err(format!("vocab.txt: duplicate token {token:?}"));
            }
        }
        if Some(rows.len()) != vocab_size.checked_mul(dim) {
            return Err(format!(
                "embeddings.i8 has {} bytes, expected {vocab_size} x {dim}",
                rows.len()
            ));
        }
        if Some(scales.len()) != vocab_size.checked_mul(4) {
            return Err(format!(
                "scales.f32 has {} bytes, expected {vocab_size} x 4",
                scales.len()
            ));
        }
        let scales: Vec<f32> = scales
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(bad) = scales.iter().position(|s| !s.is_finite()) {
            return Err(format!("scales.f32: row {bad} has a non-finite scale"));
        }

        let accents: HashMap<char, char> = ACCENTED.chars().zip(BASES.chars()).collect();
        if ACCENTED.chars().count() != BASES.chars().count()
            || accents.len() != ACCENTED.chars().count()
        {
            return Err("accent table is malformed".to_owned());
        }

        Ok(StaticEmbedder {
            name,
            dim,
            unk: map.get("[UNK]").copied(),
            vocab: map,
            tokens,
            rows,
            scales,
            accents,
        })
    }

    /// The model's name from its metadata, e.g. `confab-minilm-l6-static-v1`.
    /// Record it with stored vectors, so that vectors of different models
    /// are never compared.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of dimensions of every vector [`embed`](Self::embed)
    /// returns.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Splits `text` into the model's WordPiece tokens (`[UNK]` for words
    /// that cannot be spelled with the vocabulary), without `[CLS]` and
    /// `[SEP]`.
    pub fn tokenize(&self, text: &str) -> Vec<&'static str> {
        self.token_ids(text)
            .into_iter()
            .filter_map(|id| self.tokens.get(id as usize).copied())
            .collect()
    }

    /// The token ids of `text`, `[UNK]` included.
    fn token_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut piece = String::new();
        for word in self.basic_tokenize(text) {
            self.wordpiece(&word, &mut piece, &mut ids);
        }
        ids
    }

    /// BERT's basic tokenizer: clean, split on whitespace, space out CJK
    /// ideographs, lowercase, strip accents, split off punctuation.
    fn basic_tokenize(&self, text: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut raw = String::new();
        for c in text.chars() {
            if c == '\0' || c == '\u{FFFD}' || is_control(c) {
                continue;
            }
            if c.is_whitespace() {
                self.finish_word(&mut raw, &mut words);
            } else if is_cjk(c) {
                self.finish_word(&mut raw, &mut words);
                words.push(c.to_string());
            } else {
                raw.push(c);
            }
        }
        self.finish_word(&mut raw, &mut words);
        words
    }

    /// Lowercases and strips the accents of the whitespace-delimited `raw`,
    /// splits it at punctuation into `words`, and clears `raw`.
    fn finish_word(&self, raw: &mut String, words: &mut Vec<String>) {
        if raw.is_empty() {
            return;
        }
        // Whole-word lowercasing, so that a final capital sigma becomes ς
        // as in Python's str.lower().
        let lower = raw.to_lowercase();
        raw.clear();
        let mut current = String::new();
        for c in lower.chars() {
            if is_nonspacing_mark(c) {
                continue;
            }
            if let Some(jamo) = decompose_hangul(c) {
                current.extend(jamo.into_iter().flatten());
                continue;
            }
            let c = if c.is_ascii() {
                c
            } else {
                self.accents.get(&c).copied().unwrap_or(c)
            };
            if is_punctuation(c) {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                words.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            words.push(current);
        }
    }

    /// Greedy longest-match-first WordPiece of one word, appended to `ids`;
    /// a word that cannot be covered becomes a single `[UNK]`.
    fn wordpiece(&self, word: &str, piece: &mut String, ids: &mut Vec<u32>) {
        let unk = |ids: &mut Vec<u32>| ids.extend(self.unk);
        if word.chars().count() > MAX_WORD_CHARS {
            unk(ids);
            return;
        }
        let before = ids.len();
        let mut start = 0;
        while start < word.len() {
            // Candidate ends, longest first, on character boundaries.
            let rest = &word[start..];
            let ends = std::iter::once(rest.len())
                .chain(rest.char_indices().rev().map(|(i, _)| i).filter(|&i| i > 0));
            let mut found = None;
            for end in ends {
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.push_str(&rest[..end]);
                if let Some(&id) = self.vocab.get(piece.as_str()) {
                    found = Some((id, start + end));
                    break;
                }
            }
            match found {
                Some((id, end)) => {
                    ids.push(id);
                    start = end;
                }
                None => {
                    ids.truncate(before);
                    unk(ids);
                    return;
                }
            }
        }
    }

    /// Embeds `text`: the mean of the vectors of its WordPiece tokens
    /// (`[UNK]` ignored), L2-normalised, so the cosine of two embeddings is
    /// their dot product. Text with no known token (empty, whitespace,
    /// unknown symbols only) gives a zero vector. Always returns
    /// [`dim`](Self::dim) values.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut sum = vec![0.0f32; self.dim];
        let mut count = 0usize;
        for id in self.token_ids(text) {
            if Some(id) == self.unk {
                continue;
            }
            let row = id as usize;
            let (Some(bytes), Some(&scale)) = (
                self.rows.get(row * self.dim..(row + 1) * self.dim),
                self.scales.get(row),
            ) else {
                continue;
            };
            for (acc, &b) in sum.iter_mut().zip(bytes) {
                *acc += f32::from(b as i8) * scale;
            }
            count += 1;
        }
        if count == 0 {
            return sum;
        }
        // Dividing by the count would not change the direction; normalising
        // the sum gives the normalised mean.
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut sum {
                *x /= norm;
            }
        }
        sum
    }

    /// Embeds each text with [`embed`](Self::embed), in order.
    pub fn embed_batch(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        texts.iter().map(|t| self.embed(t)).collect()
    }
}

/// Cosine similarity of two vectors, in `[-1, 1]`. Returns 0.0 when the
/// lengths differ or either vector is all zeros (as the embedding of a text
/// with no known token is).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0)
}

/// Characters BERT's cleaning removes: controls other than tab, newline and
/// carriage return, format characters (zero-width spaces and joiners,
/// direction marks, soft hyphen, BOM) and private-use characters.
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    c.is_control()
        || matches!(
            c,
            '\u{AD}'
                | '\u{600}'..='\u{605}'
                | '\u{61C}'
                | '\u{6DD}'
                | '\u{70F}'
                | '\u{8E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E000}'..='\u{F8FF}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
                | '\u{F0000}'..='\u{10FFFF}'
        )
}

/// Whether `c` is a nonspacing mark (general category Mn), which BERT's
/// accent stripping drops.
fn is_nonspacing_mark(c: char) -> bool {
    in_ranges(&NONSPACING_MARKS, c)
}

/// The canonical decomposition of a precomposed Hangul syllable into its
/// two or three conjoining jamo (Unicode's algorithm), or `None` for any
/// other character.
fn decompose_hangul(c: char) -> Option<[Option<char>; 3]> {
    const S_BASE: u32 = 0xAC00;
    const S_COUNT: u32 = 11172;
    const V_COUNT: u32 = 21;
    const T_COUNT: u32 = 28;
    let index = u32::from(c).checked_sub(S_BASE).filter(|&i| i < S_COUNT)?;
    let lead = char::from_u32(0x1100 + index / (V_COUNT * T_COUNT));
    let vowel = char::from_u32(0x1161 + (index % (V_COUNT * T_COUNT)) / T_COUNT);
    let tail = match index % T_COUNT {
        0 => None,
        t => char::from_u32(0x11A7 + t),
    };
    Some([lead, vowel, tail])
}

/// BERT's punctuation: every ASCII character that is not a letter, digit,
/// space or control (so `$`, `+`, `^` too), and every character of
/// Unicode's P* categories. Other symbols (`€`, `©`, emoji, box drawing)
/// stay inside their word, as in BERT.
fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_punctuation()
    } else {
        in_ranges(&PUNCTUATION, c)
    }
}

/// Whether `c` lies in one of the half-open ranges of `table` (sorted,
/// flattened `[start, end)` pairs).
fn in_ranges(table: &[u32], c: char) -> bool {
    let cp = u32::from(c);
    table.partition_point(|&b| b <= cp) % 2 == 1
}

/// CJK Unified Ideographs and their extensions and compatibility blocks:
/// the characters BERT treats as words of their own.
fn is_cjk(c: char) -> bool {
    matches!(
        c,
        '\u{4E00}'..='\u{9FFF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{20000}'..='\u{2A6DF}'
            | '\u{2A700}'..='\u{2B73F}'
            | '\u{2B740}'..='\u{2B81F}'
            | '\u{2B820}'..='\u{2CEAF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{2F800}'..='\u{2FA1F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<&'static str> {
        StaticEmbedder::builtin().tokenize(text)
    }

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    #[test]
    fn builtin_metadata() {
        let e = StaticEmbedder::builtin();
        assert_eq!(e.name(), "confab-minilm-l6-static-v1");
        assert_eq!(e.dim(), 256);
        assert_eq!(e.tokens.len(), 30522);
        assert_eq!(e.vocab.get("[UNK]"), Some(&100));
        assert_eq!(e.embed("hello").len(), 256);
    }

    #[test]
    fn splits_punctuation_and_lowercases() {
        assert_eq!(toks("Hello, World!"), ["hello", ",", "world", "!"]);
        assert_eq!(
            toks("don't stop-believing!!!"),
            ["don", "'", "t", "stop", "-", "believing", "!", "!", "!"]
        );
        // Unicode punctuation splits; other symbols stay in the word, as in
        // BERT (and a word with an unknown symbol becomes [UNK]).
        assert_eq!(toks("“smart” — ok…"), ["“", "smart", "”", "—", "ok", "…"]);
        assert_eq!(toks("¿Qué?"), ["¿", "que", "?"]);
        assert_eq!(toks("€5 and 50%"), ["€", "##5", "and", "50", "%"]);
        assert_eq!(toks("└── debug"), ["[UNK]", "de", "##bu", "##g"]);
        assert_eq!(toks("hello😀 world"), ["[UNK]", "world"]);
    }

    #[test]
    fn wordpiece_longest_match_first() {
        // The classic BERT example gives "un ##aff ##able", but this
        // vocabulary has no "##aff": greedy longest match takes "una" first.
        let e = StaticEmbedder::builtin();
        assert!(e.vocab.contains_key("una") && e.vocab.contains_key("##ffa"));
        assert!(!e.vocab.contains_key("##aff"));
        assert_eq!(toks("unaffable"), ["una", "##ffa", "##ble"]);
        assert_eq!(toks("playing"), ["playing"]);
        assert_eq!(toks("tokenization"), ["token", "##ization"]);
    }

    #[test]
    fn strips_accents() {
        assert_eq!(toks("Café"), ["cafe"]);
        assert_eq!(toks("naïve résumé"), ["naive", "resume"]);
        // Already decomposed: e + U+0301.
        assert_eq!(toks("cafe\u{301}"), ["cafe"]);
        assert_eq!(toks("ŁÓDŹ"), ["łodz"]);
    }

    #[test]
    fn decomposes_like_nfd() {
        // Hangul syllables become conjoining jamo, as under NFD.
        assert_eq!(
            toks("한국어"),
            ["ᄒ", "##ᅡ", "##ᆫ", "##ᄀ", "##ᅮ", "##ᆨ", "##ᄋ", "##ᅥ"]
        );
        // Voiced kana lose their dakuten; Greek and Cyrillic their accents.
        assert_eq!(toks("が"), ["か"]);
        assert_eq!(toks("Ελλάδα"), toks("ελλαδα"));
        assert_eq!(toks("ёлка"), toks("елка"));
        // Devanagari virama (Mn) is dropped, the vowel sign (Mc) kept.
        assert_eq!(toks("हिन्दी"), ["ह", "##ि", "##न", "##द", "##ी"]);
    }

    #[test]
    fn nonspacing_mark_table() {
        assert!(NONSPACING_MARKS.windows(2).all(|w| w[0] < w[1]));
        assert!(PUNCTUATION.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(NONSPACING_MARKS.len() % 2, 0);
        assert_eq!(PUNCTUATION.len() % 2, 0);
        for c in [
            '\u{300}',
            '\u{301}',
            '\u{36F}',
            '\u{94D}',
            '\u{3099}',
            '\u{E01EF}',
        ] {
            assert!(is_nonspacing_mark(c), "{:X}", u32::from(c));
        }
        for c in ['a', '\u{2FF}', '\u{370}', '\u{93F}', '\u{E01F0}', '中'] {
            assert!(!is_nonspacing_mark(c), "{:X}", u32::from(c));
        }
    }

    #[test]
    fn cjk_ideographs_are_words() {
        assert_eq!(toks("中国人"), ["中", "国", "人"]);
        assert_eq!(toks("hello中国world"), ["hello", "中", "国", "world"]);
        // Kana are not ideographs: they stay one word, split by WordPiece.
        assert_eq!(
            toks("日本語のテキスト、東京都。"),
            [
                "日", "本", "語", "の", "##テ", "##キ", "##ス", "##ト", "、", "東", "京", "都",
                "。"
            ]
        );
    }

    #[test]
    fn cleans_control_and_format_characters() {
        assert_eq!(toks("a\u{200B}b"), ["ab"]);
        assert_eq!(toks("one\ttwo\nthree\r\n"), ["one", "two", "three"]);
        assert_eq!(toks("\u{FEFF}hi\u{0}"), ["hi"]);
    }

    #[test]
    fn unknown_and_overlong_words() {
        assert_eq!(toks("😀"), ["[UNK]"]);
        let long = "a".repeat(MAX_WORD_CHARS + 1);
        assert_eq!(toks(&long), ["[UNK]"]);
        assert!(toks("").is_empty());
        assert!(toks("  \t\n ").is_empty());
    }

    #[test]
    fn embeddings_are_unit_norm_and_deterministic() {
        let e = StaticEmbedder::builtin();
        for text in [
            "Hello, World!",
            "a",
            "The quick brown fox jumps over the lazy dog.",
        ] {
            let v = e.embed(text);
            assert_eq!(v.len(), e.dim());
            assert!((norm(&v) - 1.0).abs() < 1e-5, "{text}: norm {}", norm(&v));
            assert_eq!(v, e.embed(text));
        }
        // Case and accents do not matter to an uncased model.
        assert_eq!(e.embed("CAFÉ au lait"), e.embed("cafe au lait"));
    }

    #[test]
    fn no_known_token_gives_zero_vector() {
        let e = StaticEmbedder::builtin();
        for text in ["", "   ", "😀 🙃"] {
            let v = e.embed(text);
            assert_eq!(v.len(), e.dim());
            assert!(v.iter().all(|&x| x == 0.0), "{text:?}");
        }
    }

    #[test]
    fn batch_matches_single() {
        let e = StaticEmbedder::builtin();
        let texts = ["first text", "", "second, different text"];
        let batch = e.embed_batch(&texts);
        assert_eq!(batch.len(), 3);
        for (t, v) in texts.iter().zip(&batch) {
            assert_eq!(*v, e.embed(t));
        }
    }

    #[test]
    fn similar_texts_are_closer() {
        let e = StaticEmbedder::builtin();
        let q = e.embed("How do I reset my password?");
        let para = e.embed("I forgot my password, how can I change it?");
        let unrelated = e.embed("The weather in Paris is sunny today");
        let (s_para, s_unrel) = (cosine(&q, &para), cosine(&q, &unrelated));
        assert!(
            s_para > s_unrel + 0.4,
            "paraphrase {s_para}, unrelated {s_unrel}"
        );
        // The distillation script printed 0.844 for this pair with the same
        // table and tokenizer (numpy, float32).
        assert!((s_para - 0.844).abs() < 0.005, "{s_para}");
    }

    #[test]
    fn cosine_helper() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 2.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[-2.0, -2.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn load_rejects_inconsistent_files() {
        let meta = r#"{"name": "t", "dim": 2, "vocab_size": 2}"#;
        let ok = StaticEmbedder::load(meta, "[UNK]\nhi\n", &[1, 2, 3, 4], &[0; 8]);
        assert!(ok.is_ok());
        let cases: [(&str, &'static str, &'static [u8], &[u8]); 5] = [
            ("not json", "[UNK]\nhi\n", &[1, 2, 3, 4], &[0; 8]),
            (meta, "[UNK]\n", &[1, 2, 3, 4], &[0; 8]),
            (meta, "[UNK]\n[UNK]\n", &[1, 2, 3, 4], &[0; 8]),
            (meta, "[UNK]\nhi\n", &[1, 2, 3], &[0; 8]),
            (meta, "[UNK]\nhi\n", &[1, 2, 3, 4], &[0; 7]),
        ];
        for (meta, vocab, rows, scales) in cases {
            assert!(StaticEmbedder::load(meta, vocab, rows, scales).is_err());
        }
    }
}
