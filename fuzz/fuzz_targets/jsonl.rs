//! The JSON-lines reader on arbitrary bytes, as usage and conversation
//! records: no panic, no more results than lines.
#![no_main]

use confab::conversation::ConversationRecord;
use confab::usage::UsageRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.jsonl");
    let lines = data.split(|&b| b == b'\n').count();
    let usage = confab::jsonl::parse_all::<UsageRecord>(path, data);
    assert!(usage.records.len() + usage.warnings.len() <= lines);
    let conversation = confab::jsonl::parse_all::<ConversationRecord>(path, data);
    assert!(conversation.records.len() + conversation.warnings.len() <= lines);
});
