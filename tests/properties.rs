//! Property tests of the parsers that read bytes from outside the
//! process: the SSE decoder, the JSON-lines reader, the config and price
//! parsers and the chunker get arbitrary input, and must neither panic
//! nor produce more than the input can hold.

use confab::config::{Config, Paths};
use confab::env::ProcessEnvironment;
use confab::llm::sse::{SseDecoder, SseEvent};
use confab::rag::chunk::{chunk_document, ChunkOptions, DocKind};
use confab::usage::prices::PriceTable;
use confab::usage::UsageRecord;
use proptest::prelude::*;

/// Bytes that look a little like an event stream, so that the decoder's
/// paths are reached, mixed with anything at all.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"data: ".to_vec()),
        Just(b"event: x\n".to_vec()),
        Just(b"id: 7\n".to_vec()),
        Just(b"retry: 10\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b":comment\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..16),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn decode_in_chunks(bytes: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts {
        decoder.feed(&bytes[start..cut.max(start)], &mut events);
        start = cut.max(start);
    }
    decoder.feed(&bytes[start..], &mut events);
    decoder.finish(&mut events);
    events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sse_events_do_not_depend_on_how_the_bytes_were_cut(
        bytes in stream_bytes(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = decode_in_chunks(&bytes, &[]);
        let cut = decode_in_chunks(&bytes, &cuts);
        prop_assert_eq!(&whole, &cut);
        let data: usize = whole.iter().map(|e| e.data.len()).sum();
        prop_assert!(data <= bytes.len() * 3, "{} bytes of data from {} bytes", data, bytes.len());
    }

    #[test]
    fn jsonl_reading_never_panics_and_counts_each_line_once(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let outcome = confab::jsonl::parse_all::<UsageRecord>(std::path::Path::new("x.jsonl"), &bytes);
        let lines = bytes.split(|&b| b == b'\n').count();
        prop_assert!(outcome.records.len() + outcome.warnings.len() <= lines);
    }

    #[test]
    fn prices_from_any_text_are_finite_or_refused(text in ".{0,400}") {
        for table in [
            PriceTable::from_toml(&text, "prices.toml"),
            PriceTable::from_litellm_json(&text, "litellm.json"),
        ] {
            let _ = table;
        }
    }

    #[test]
    fn price_files_with_any_numbers_hold_only_real_prices(
        input in any::<f64>(),
        output in any::<f64>(),
    ) {
        let text = format!(
            "[[price]]\nmodel = \"m\"\nfrom = \"2026-01-01\"\ninput = {input:?}\noutput = {output:?}\n"
        );
        if let Ok(table) = PriceTable::from_toml(&text.replace("NaN", "nan"), "prices.toml") {
            let price = table.lookup("m", "2026-06-01").expect("the price");
            prop_assert!(price.input.is_finite() && price.input >= 0.0);
            prop_assert!(price.output.is_finite() && price.output >= 0.0);
        }
    }

    #[test]
    fn config_from_any_text_loads_or_says_why(text in "(?s).{0,300}") {
        let home = tempfile::tempdir().expect("temp dir");
        let paths = Paths::under(home.path().to_path_buf());
        std::fs::write(paths.config_file(), &text).expect("write");
        let _ = Config::load(&paths, &ProcessEnvironment);
    }

    #[test]
    fn chunks_of_any_text_stay_inside_it(
        text in "(?s).{0,600}",
        kind in prop_oneof![
            Just(DocKind::Markdown),
            Just(DocKind::Rst),
            Just(DocKind::AsciiDoc),
            Just(DocKind::Plain),
        ],
        max_tokens in 4usize..200,
        overlap in 0.0f32..0.5,
    ) {
        let options = ChunkOptions { max_tokens, overlap, ..ChunkOptions::default() };
        let lines = text.lines().count().max(1);
        for chunk in chunk_document(&text, kind, &options) {
            prop_assert!(chunk.start_line >= 1 && chunk.start_line <= chunk.end_line);
            prop_assert!(chunk.end_line <= lines + 1, "{} > {}", chunk.end_line, lines);
        }
    }
}
