//! The price table: USD per million tokens for each model, with the date
//! each price took effect, so that a call is priced at the price of its
//! day. confab ships one (`assets/prices.toml`, embedded); users add or
//! override prices in `prices.toml` in their config directory, and can
//! import LiteLLM's `model_prices_and_context_window.json`.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

/// The price table shipped with confab.
const BUILTIN_PRICES: &str = include_str!("../../assets/prices.toml");

/// The `from` date given to imported prices that carry no date.
pub const UNDATED: &str = "1970-01-01";

/// One model's prices from one date on, in USD per million tokens.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Price {
    /// The API model id.
    pub model: String,
    /// The vendor, for people reading the table.
    #[serde(default)]
    pub provider: Option<String>,
    /// The UTC date (YYYY-MM-DD) the price took effect.
    pub from: String,
    /// Uncached input tokens.
    pub input: f64,
    /// Cached input tokens (cache reads); the input price when absent.
    #[serde(default)]
    pub cached_input: Option<f64>,
    /// Cache-write tokens; the input price when absent.
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// One-hour cache-write tokens; twice the input price when absent.
    #[serde(default)]
    pub cache_write_hour: Option<f64>,
    /// Output tokens, reasoning included.
    pub output: f64,
    /// Where the price comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// Caveats.
    #[serde(default)]
    pub note: Option<String>,
}

/// A batch price rule: from `from` on, a call made through a provider's
/// batch API costs `multiplier` times its standard price (cache prices
/// included: the discounts stack). A rule names a `model` (an override)
/// or a `provider` (the vendor, as the price entries name it).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRate {
    /// The vendor whose models the rule covers (`openai`, `anthropic`).
    #[serde(default)]
    pub provider: Option<String>,
    /// One model the rule covers, overriding its vendor's rule.
    #[serde(default)]
    pub model: Option<String>,
    /// The UTC date (YYYY-MM-DD) the rule took effect.
    pub from: String,
    /// The batch price as a fraction of the standard price (0.5: half).
    pub multiplier: f64,
    /// Where the rule comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// Caveats.
    #[serde(default)]
    pub note: Option<String>,
}

impl BatchRate {
    /// What is wrong with this rule: it must name exactly one of
    /// `provider` and `model`, a YYYY-MM-DD date and a multiplier from 0 to 1.
    pub fn problem(&self) -> Option<String> {
        let name = self
            .model
            .as_deref()
            .or(self.provider.as_deref())
            .unwrap_or("?");
        if self.provider.is_some() == self.model.is_some() {
            return Some(format!(
                "a [[batch]] rule (for {name}, from {}) names exactly one of `provider` and `model`",
                self.from
            ));
        }
        if jiff::civil::Date::strptime("%Y-%m-%d", &self.from).is_err() {
            return Some(format!(
                "`from = \"{}\"` of the [[batch]] rule for {name} is not a YYYY-MM-DD date",
                self.from
            ));
        }
        (!self.multiplier.is_finite() || !(0.0..=1.0).contains(&self.multiplier)).then(|| {
            format!(
                "`multiplier = {}` of the [[batch]] rule for {name} is not a fraction from 0 to 1",
                self.multiplier
            )
        })
    }
}

/// The price of one call: the model's price, times the batch multiplier
/// for batch calls (1 for the others).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate<'a> {
    /// The model's standard price.
    pub price: &'a Price,
    /// What the call pays of it.
    pub multiplier: f64,
}

impl Rate<'_> {
    /// The cost in USD of `tokens` at this rate.
    pub fn cost(&self, tokens: TokenCounts) -> f64 {
        self.price.cost(tokens) * self.multiplier
    }
}

/// Token counts to price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// All input tokens, cached and cache-write ones included.
    pub input: u64,
    /// Input tokens read from the cache.
    pub cached_input: u64,
    /// Input tokens written to the cache.
    pub cache_write: u64,
    /// Of those, the ones written for an hour (Anthropic's `1h` TTL).
    pub cache_write_hour: u64,
    /// Output tokens.
    pub output: u64,
}

/// The highest price accepted, in USD per million tokens: far above any
/// model's, low enough that no count can overflow into infinity.
pub const MAX_PRICE: f64 = 1_000_000.0;

impl Price {
    /// What is wrong with this price's numbers, naming the key: each must
    /// be a finite number from 0 to [`MAX_PRICE`].
    pub fn problem(&self) -> Option<String> {
        let keys = [
            ("input", Some(self.input)),
            ("cached_input", self.cached_input),
            ("cache_write", self.cache_write),
            ("cache_write_hour", self.cache_write_hour),
            ("output", Some(self.output)),
        ];
        keys.into_iter().find_map(|(key, value)| {
            let value = value?;
            (!value.is_finite() || !(0.0..=MAX_PRICE).contains(&value)).then(|| {
                format!(
                    "`{key} = {value}` of {} (from {}) is not a price: use a number from 0 to {MAX_PRICE} (USD per million tokens)",
                    self.model, self.from
                )
            })
        })
    }

    /// The cost in USD of `tokens` at this price.
    pub fn cost(&self, tokens: TokenCounts) -> f64 {
        let uncached = tokens
            .input
            .saturating_sub(tokens.cached_input)
            .saturating_sub(tokens.cache_write);
        let hour = tokens.cache_write_hour.min(tokens.cache_write);
        (uncached as f64 * self.input
            + tokens.cached_input as f64 * self.cached_input.unwrap_or(self.input)
            + (tokens.cache_write - hour) as f64 * self.cache_write.unwrap_or(self.input)
            + hour as f64 * self.cache_write_hour_price()
            + tokens.output as f64 * self.output)
            / 1_000_000.0
    }

    /// The price of a one-hour cache write: `cache_write_hour` where the
    /// table gives it, else twice the input price (Anthropic's multiplier
    /// for every model, against 1.25 for five-minute writes).
    pub fn cache_write_hour_price(&self) -> f64 {
        self.cache_write_hour.unwrap_or(2.0 * self.input)
    }
}

/// Errors of reading price files.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// A price file is not valid.
    #[error("{source_name} is not a valid price table: {message}")]
    Invalid {
        /// The file (or "the built-in table").
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A price file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
struct PriceFile {
    #[serde(default)]
    price: Vec<Price>,
    #[serde(default)]
    batch: Vec<BatchRate>,
}

/// Prices by model, each model's list sorted by date; batch rules by
/// model and by vendor, sorted by date too.
#[derive(Clone, Debug, Default)]
pub struct PriceTable {
    by_model: HashMap<String, Vec<Price>>,
    batch_by_model: HashMap<String, Vec<BatchRate>>,
    batch_by_provider: HashMap<String, Vec<BatchRate>>,
}

impl PriceTable {
    /// The table shipped with confab.
    pub fn builtin() -> Result<PriceTable, PriceError> {
        PriceTable::from_toml(BUILTIN_PRICES, "the built-in price table")
    }

    /// The built-in table, then `prices.toml` and `litellm_prices.json`
    /// from `config_dir` if present (later entries for the same model and
    /// date replace earlier ones).
    pub fn load(config_dir: &Path) -> Result<PriceTable, PriceError> {
        let mut table = PriceTable::builtin()?;
        for name in ["litellm_prices.json", "prices.toml"] {
            let path = config_dir.join(name);
            if path.exists() {
                table.merge(PriceTable::from_file(&path)?);
            }
        }
        Ok(table)
    }

    /// Reads a price file: confab's TOML, or LiteLLM's JSON (by extension).
    pub fn from_file(path: &Path) -> Result<PriceTable, PriceError> {
        let text = std::fs::read_to_string(path).map_err(|source| PriceError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let name = path.display().to_string();
        if path.extension().is_some_and(|e| e == "json") {
            PriceTable::from_litellm_json(&text, &name)
        } else {
            PriceTable::from_toml(&text, &name)
        }
    }

    /// Parses confab's TOML format.
    pub fn from_toml(text: &str, source_name: &str) -> Result<PriceTable, PriceError> {
        let file: PriceFile = toml::from_str(text).map_err(|err| PriceError::Invalid {
            source_name: source_name.to_string(),
            message: err.to_string(),
        })?;
        let mut table = PriceTable::default();
        for price in file.price {
            if jiff::civil::Date::strptime("%Y-%m-%d", &price.from).is_err() {
                return Err(PriceError::Invalid {
                    source_name: source_name.to_string(),
                    message: format!(
                        "`from = \"{}\"` of {} is not a YYYY-MM-DD date",
                        price.from, price.model
                    ),
                });
            }
            if let Some(message) = price.problem() {
                return Err(PriceError::Invalid {
                    source_name: source_name.to_string(),
                    message,
                });
            }
            table.insert(price);
        }
        for rate in file.batch {
            if let Some(message) = rate.problem() {
                return Err(PriceError::Invalid {
                    source_name: source_name.to_string(),
                    message,
                });
            }
            table.insert_batch(rate);
        }
        Ok(table)
    }

    /// Imports LiteLLM's `model_prices_and_context_window.json` (USD per
    /// token); its prices carry no dates and apply from [`UNDATED`].
    pub fn from_litellm_json(text: &str, source_name: &str) -> Result<PriceTable, PriceError> {
        #[derive(Deserialize)]
        struct LiteLlmModel {
            #[serde(default)]
            input_cost_per_token: Option<f64>,
            #[serde(default)]
            output_cost_per_token: Option<f64>,
            #[serde(default)]
            cache_read_input_token_cost: Option<f64>,
            #[serde(default)]
            cache_creation_input_token_cost: Option<f64>,
            #[serde(default)]
            litellm_provider: Option<String>,
        }
        let models: HashMap<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|err| PriceError::Invalid {
                source_name: source_name.to_string(),
                message: err.to_string(),
            })?;
        let mut table = PriceTable::default();
        for (model, value) in models {
            // Entries that are not models (LiteLLM's "sample_spec") or have
            // no token prices are skipped.
            let Ok(entry) = serde_json::from_value::<LiteLlmModel>(value) else {
                continue;
            };
            let (Some(input), Some(output)) =
                (entry.input_cost_per_token, entry.output_cost_per_token)
            else {
                continue;
            };
            let price = Price {
                model,
                provider: entry.litellm_provider,
                from: UNDATED.to_string(),
                input: input * 1e6,
                cached_input: entry.cache_read_input_token_cost.map(|c| c * 1e6),
                cache_write: entry.cache_creation_input_token_cost.map(|c| c * 1e6),
                cache_write_hour: None,
                output: output * 1e6,
                source: Some(source_name.to_string()),
                note: None,
            };
            if let Some(message) = price.problem() {
                return Err(PriceError::Invalid {
                    source_name: source_name.to_string(),
                    message,
                });
            }
            table.insert(price);
        }
        Ok(table)
    }

    fn insert(&mut self, price: Price) {
        let prices = self.by_model.entry(price.model.clone()).or_default();
        prices.retain(|p| p.from != price.from);
        prices.push(price);
        prices.sort_by(|a, b| a.from.cmp(&b.from));
    }

    fn insert_batch(&mut self, rate: BatchRate) {
        let (map, key) = match (&rate.model, &rate.provider) {
            (Some(model), _) => (&mut self.batch_by_model, model.clone()),
            (None, Some(provider)) => (&mut self.batch_by_provider, provider.clone()),
            (None, None) => return,
        };
        let rates = map.entry(key).or_default();
        rates.retain(|r| r.from != rate.from);
        rates.push(rate);
        rates.sort_by(|a, b| a.from.cmp(&b.from));
    }

    /// Adds `other`'s prices and batch rules, replacing those for the same
    /// model (or vendor) and date.
    pub fn merge(&mut self, other: PriceTable) {
        for prices in other.by_model.into_values() {
            for price in prices {
                self.insert(price);
            }
        }
        let rates = other.batch_by_model.into_values();
        for rate in rates.chain(other.batch_by_provider.into_values()).flatten() {
            self.insert_batch(rate);
        }
    }

    /// The batch multiplier of `model` on `date`: its own rule in effect
    /// that day, else the rule of the vendor its price names (else of
    /// `provider`, the configured provider's name) in effect that day, else
    /// the earliest rule (for days before every rule). `None`: no rule.
    pub fn batch_multiplier(
        &self,
        model: &str,
        price: &Price,
        provider: &str,
        date: &str,
    ) -> Option<f64> {
        let in_effect = |rates: &'_ Vec<BatchRate>| -> Option<f64> {
            let rate = rates.iter().rev().find(|r| r.from.as_str() <= date)?;
            Some(rate.multiplier)
        };
        let own = candidate_ids(model).find_map(|id| self.batch_by_model.get(&id));
        let vendor = [price.provider.as_deref(), Some(provider)]
            .into_iter()
            .flatten()
            .find_map(|v| self.batch_by_provider.get(v));
        own.and_then(in_effect)
            .or_else(|| vendor.and_then(in_effect))
            .or_else(|| Some(vendor.or(own)?.first()?.multiplier))
    }

    /// The price of `model` on `date` (YYYY-MM-DD): the latest price that
    /// took effect on or before it (the earliest known one for calls
    /// before that). Matches the id as given, then without a
    /// `provider/` prefix, then without a date suffix (`-2024-08-06`,
    /// `-20250929`) or `-latest`.
    pub fn lookup(&self, model: &str, date: &str) -> Option<&Price> {
        let prices = candidate_ids(model).find_map(|id| self.by_model.get(&id))?;
        prices
            .iter()
            .rev()
            .find(|p| p.from.as_str() <= date)
            .or_else(|| prices.first())
    }

    /// How many models have prices.
    pub fn model_count(&self) -> usize {
        self.by_model.len()
    }
}

/// The ids to try for `model`, most specific first.
fn candidate_ids(model: &str) -> impl Iterator<Item = String> {
    let mut ids = vec![model.to_string()];
    let bare = model.rsplit('/').next().unwrap_or(model);
    if bare != model {
        ids.push(bare.to_string());
    }
    if let Some(stem) = strip_version_suffix(bare) {
        ids.push(stem.to_string());
    }
    ids.into_iter()
}

/// `gpt-4o-2024-08-06` -> `gpt-4o`, `claude-sonnet-4-5-20250929` ->
/// `claude-sonnet-4-5`, `o3-latest` -> `o3`.
fn strip_version_suffix(model: &str) -> Option<&str> {
    if let Some(stem) = model.strip_suffix("-latest") {
        return Some(stem);
    }
    let bytes = model.as_bytes();
    let is_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    // -YYYY-MM-DD
    if bytes.len() > 11 {
        let tail = &bytes[bytes.len() - 11..];
        if tail[0] == b'-'
            && is_digits(&tail[1..5])
            && tail[5] == b'-'
            && is_digits(&tail[6..8])
            && tail[8] == b'-'
            && is_digits(&tail[9..11])
        {
            return Some(&model[..model.len() - 11]);
        }
    }
    // -YYYYMMDD
    if bytes.len() > 9 {
        let tail = &bytes[bytes.len() - 9..];
        if tail[0] == b'-' && is_digits(&tail[1..]) {
            return Some(&model[..model.len() - 9]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = r#"
[[price]]
model = "gpt-4o"
from = "2024-05-13"
input = 5.0
output = 15.0

[[price]]
model = "gpt-4o"
from = "2024-10-01"
input = 2.5
cached_input = 1.25
output = 10.0

[[price]]
model = "claude-sonnet-4-5"
from = "2025-09-29"
input = 3.0
cached_input = 0.3
cache_write = 3.75
output = 15.0
"#;

    #[test]
    fn prices_calls_at_the_price_of_their_day() {
        let table = PriceTable::from_toml(TABLE, "test").expect("valid");
        let tokens = TokenCounts {
            input: 1_000_000,
            cached_input: 0,
            cache_write: 0,
            cache_write_hour: 0,
            output: 1_000_000,
        };
        let old = table
            .lookup("gpt-4o-2024-05-13", "2024-06-01")
            .expect("priced");
        assert_eq!(old.cost(tokens), 20.0);
        let new = table.lookup("gpt-4o", "2024-10-01").expect("priced");
        assert_eq!(new.cost(tokens), 12.5);
        assert_eq!(
            table
                .lookup("openai/gpt-4o-2024-08-06", "2025-01-01")
                .map(|p| p.input),
            Some(2.5)
        );
        assert!(table.lookup("gpt-4o-mini", "2025-01-01").is_none());
        assert!(table.lookup("gpt-4o-audio-preview", "2025-01-01").is_none());
    }

    #[test]
    fn cached_and_cache_write_tokens_have_their_own_prices() {
        let table = PriceTable::from_toml(TABLE, "test").expect("valid");
        let price = table
            .lookup("claude-sonnet-4-5-20250929", "2025-10-01")
            .expect("priced");
        let cost = price.cost(TokenCounts {
            input: 1_000_000 + 2_000_000 + 4_000_000,
            cached_input: 2_000_000,
            cache_write: 4_000_000,
            cache_write_hour: 0,
            output: 100_000,
        });
        // 1M x 3.00 + 2M x 0.30 + 4M x 3.75 + 0.1M x 15.00
        assert!((cost - (3.0 + 0.6 + 15.0 + 1.5)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn imports_litellm_prices() {
        let json = r#"{
          "sample_spec": {"max_tokens": "set to max"},
          "mistral/mistral-large-latest": {"input_cost_per_token": 2e-06, "output_cost_per_token": 6e-06, "litellm_provider": "mistral", "mode": "chat"},
          "embed-only": {"input_cost_per_token": 1e-07}
        }"#;
        let table = PriceTable::from_litellm_json(json, "litellm").expect("valid");
        assert_eq!(table.model_count(), 1);
        let price = table
            .lookup("mistral/mistral-large-latest", "2026-01-01")
            .expect("priced");
        assert!((price.input - 2.0).abs() < 1e-9);
        assert!((price.output - 6.0).abs() < 1e-9);
    }

    #[test]
    fn the_builtin_table_is_valid_and_dated() {
        let table = PriceTable::builtin().expect("the shipped table parses");
        assert!(table.model_count() >= 20);
        for model in [
            "gpt-4o-mini",
            "gpt-4.1",
            "claude-sonnet-4-5",
            "text-embedding-3-small",
        ] {
            assert!(
                table.lookup(model, "2026-01-01").is_some(),
                "{model} is priced"
            );
        }
    }

    #[test]
    fn batch_rules_follow_the_model_then_the_vendor_by_date() {
        let text = format!(
            "{}\n[[batch]]\nprovider = \"anthropic\"\nfrom = \"2024-10-08\"\nmultiplier = 0.5\n\
             [[batch]]\nmodel = \"claude-sonnet-4-5\"\nfrom = \"2026-06-01\"\nmultiplier = 0.25\n",
            TABLE.replace(
                "model = \"claude-sonnet-4-5\"",
                "model = \"claude-sonnet-4-5\"\nprovider = \"anthropic\"",
            )
        );
        let table = PriceTable::from_toml(&text, "test").expect("valid");

        let price = table
            .lookup("claude-sonnet-4-5", "2026-01-01")
            .expect("priced");
        let at = |date| table.batch_multiplier("claude-sonnet-4-5-20250929", price, "x", date);
        assert_eq!(
            at("2026-01-01"),
            Some(0.5),
            "the vendor's rule before the override"
        );
        assert_eq!(
            at("2026-07-01"),
            Some(0.25),
            "the model's own rule from its date"
        );
        let gpt = table.lookup("gpt-4o", "2026-01-01").expect("priced");
        assert_eq!(
            table.batch_multiplier("gpt-4o", gpt, "openai", "2026-01-01"),
            None
        );
        for bad in [
            "[[batch]]\nfrom = \"2026-01-01\"\nmultiplier = 0.5\n",
            "[[batch]]\nprovider = \"p\"\nmodel = \"m\"\nfrom = \"2026-01-01\"\nmultiplier = 0.5\n",
            "[[batch]]\nprovider = \"p\"\nfrom = \"soon\"\nmultiplier = 0.5\n",
            "[[batch]]\nprovider = \"p\"\nfrom = \"2026-01-01\"\nmultiplier = 1.5\n",
        ] {
            assert!(PriceTable::from_toml(bad, "t").is_err(), "{bad}");
        }
        let builtin = PriceTable::builtin().expect("valid");
        for model in ["gpt-4o-mini", "claude-sonnet-4-5"] {
            let price = builtin.lookup(model, "2026-01-01").expect("priced");
            assert_eq!(
                builtin.batch_multiplier(model, price, "whatever", "2026-01-01"),
                Some(0.5),
                "{model} has the vendor's batch discount"
            );
        }
    }

    #[test]
    fn rejects_bad_dates() {
        let bad = "[[price]]\nmodel = \"m\"\nfrom = \"yesterday\"\ninput = 1.0\noutput = 1.0\n";
        assert!(PriceTable::from_toml(bad, "test").is_err());
    }

    #[test]
    fn rejects_prices_that_are_not_finite_non_negative_numbers() {
        for (key, value) in [
            ("input", "nan"),
            ("output", "inf"),
            ("input", "-1.0"),
            ("cached_input", "-0.5"),
            ("cache_write", "1e300"),
        ] {
            let mut fields = vec![("input", "1.0"), ("output", "2.0")];
            fields.retain(|(k, _)| *k != key);
            fields.push((key, value));
            let body: String = fields.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            let text = format!("[[price]]\nmodel = \"m\"\nfrom = \"2026-01-01\"\n{body}");
            let err = PriceTable::from_toml(&text, "prices.toml")
                .expect_err(&text)
                .to_string();
            assert!(err.contains(&format!("`{key} = ")), "{err}");
        }
        let fine = "[[price]]\nmodel = \"m\"\nfrom = \"2026-01-01\"\ninput = 0\noutput = 15\n";
        assert!(PriceTable::from_toml(fine, "prices.toml").is_ok());
        let json = r#"{"m": {"input_cost_per_token": -1e-6, "output_cost_per_token": 1e-6}}"#;
        assert!(PriceTable::from_litellm_json(json, "litellm.json").is_err());
    }
}
