//! The price parsers on arbitrary text: no panic, and a table that loads
//! holds only finite, non-negative prices.
#![no_main]

use confab::usage::prices::PriceTable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = PriceTable::from_toml(text, "prices.toml");
    let _ = PriceTable::from_litellm_json(text, "litellm.json");
    let _ = toml::from_str::<confab::config::Config>(text);
});
