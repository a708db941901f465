//! The SSE decoder on arbitrary bytes, fed whole and cut in two at a
//! point the input chooses: no panic, and the same events either way.
#![no_main]

use confab::llm::sse::SseDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else {
        return;
    };
    let decode = |parts: &[&[u8]]| {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for part in parts {
            decoder.feed(part, &mut events);
        }
        decoder.finish(&mut events);
        events
    };
    let at = usize::from(cut) * bytes.len() / 255;
    let whole = decode(&[bytes]);
    let split = decode(&[&bytes[..at], &bytes[at..]]);
    assert_eq!(whole, split);
});
