//! Cost reports over usage records: filters, grouping (by model, provider,
//! day, week, month, conversation, command, tag; combinable), and per group
//! calls, errors, tokens, cost at the price of each call's day, and
//! latency percentiles. Calls without a price are counted as unpriced,
//! never as $0; calls whose tokens were counted locally are marked estimated.

use std::collections::{BTreeSet, HashSet};

use rustc_hash::FxHashMap as HashMap;

use serde::Serialize;

use crate::usage::prices::{PriceTable, Rate, TokenCounts};
use crate::usage::{CallOutcome, UsageSource, UsageView};

/// A grouping dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupKey {
    /// The model (as reported by the API, else as requested).
    Model,
    /// The configured provider.
    Provider,
    /// The UTC day.
    Day,
    /// The ISO week.
    Week,
    /// The month.
    Month,
    /// The conversation id.
    Conversation,
    /// The command that made the call.
    Command,
    /// Each `--tag` (a call with several tags counts in each).
    Tag,
    /// The preset (`chat -p`) the prompt came from.
    Preset,
    /// The pricing tier: `standard`, or `batch` for requests of a batch.
    Tier,
}

impl GroupKey {
    /// The column title.
    pub fn title(self) -> &'static str {
        match self {
            GroupKey::Model => "model",
            GroupKey::Provider => "provider",
            GroupKey::Day => "day",
            GroupKey::Week => "week",
            GroupKey::Month => "month",
            GroupKey::Conversation => "conversation",
            GroupKey::Command => "command",
            GroupKey::Tag => "tag",
            GroupKey::Preset => "preset",
            GroupKey::Tier => "tier",
        }
    }
}

/// Which records a report covers; `None` means no filter. Times are
/// compared as UTC `YYYY-MM-DDTHH:MM:SS` strings.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Calls at or after this time.
    pub since: Option<String>,
    /// Calls before this time.
    pub until: Option<String>,
    /// Calls of this model (requested or reported).
    pub model: Option<String>,
    /// Calls to this provider.
    pub provider: Option<String>,
    /// Calls with this tag.
    pub tag: Option<String>,
    /// Calls of this conversation.
    pub conversation: Option<String>,
    /// Calls made by this command.
    pub command: Option<String>,
}

impl Filters {
    /// Whether `record` passes every filter.
    pub fn accepts(&self, record: &UsageView<'_>) -> bool {
        let ts = seconds_prefix(&record.ts);
        self.since.as_deref().is_none_or(|s| ts >= s)
            && self.until.as_deref().is_none_or(|u| ts < u)
            && self.model.as_deref().is_none_or(|m| {
                record.model_requested == m || record.model_reported.as_deref() == Some(m)
            })
            && self
                .provider
                .as_deref()
                .is_none_or(|p| record.provider == p)
            && self
                .tag
                .as_deref()
                .is_none_or(|t| record.tags.iter().any(|x| x == t))
            && self
                .conversation
                .as_deref()
                .is_none_or(|c| record.conversation_id.as_deref() == Some(c))
            && self.command.as_deref().is_none_or(|c| record.command == c)
    }
}

/// `2026-11-27T10:38:34.123Z` -> `2026-11-27T10:38:34`.
fn seconds_prefix(ts: &str) -> &str {
    ts.get(..19).unwrap_or(ts)
}

/// One row of a report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReportRow {
    /// The group's values, one per grouping key (empty for the total).
    pub group: Vec<String>,
    /// API calls.
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Input tokens, cached included.
    pub input_tokens: u64,
    /// Cached input tokens.
    pub cached_input_tokens: u64,
    /// Cache-write tokens.
    pub cache_write_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost of the priced calls, USD.
    pub cost_usd: f64,
    /// Calls with no price (their cost is not in `cost_usd`).
    pub unpriced_calls: u64,
    /// Calls whose tokens were counted locally, not reported by the API.
    pub estimated_calls: u64,
    /// Median latency, ms.
    pub latency_p50_ms: Option<u64>,
    /// 95th percentile latency, ms.
    pub latency_p95_ms: Option<u64>,
    /// Median time to first token, ms.
    pub ttft_p50_ms: Option<u64>,
    /// 95th percentile time to first token, ms.
    pub ttft_p95_ms: Option<u64>,
    /// Replies served from confab's response cache (not in `calls`).
    pub cache_hits: u64,
    /// What the cache hits would have cost as API calls, USD.
    pub saved_usd: f64,
    /// Calls that were requests of a batch, priced at the batch price.
    pub batch_calls: u64,
    /// What the provider's prompt cache saved, USD: the priced calls at
    /// the full input price for their cached and cache-write tokens, less
    /// their cost (negative while writes have not yet paid for themselves).
    pub prompt_cache_saved_usd: f64,
}

/// A finished report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// The grouping keys, in order.
    pub group_by: Vec<String>,
    /// One row per group, sorted by the group values.
    pub rows: Vec<ReportRow>,
    /// Everything the filters let through, each call counted once.
    pub total: ReportRow,
    /// Models that had calls but no price.
    pub unpriced_models: Vec<String>,
}

/// Sums and samples for one group while the report is built.
#[derive(Default)]
struct Accumulator {
    row: ReportRow,
    latencies: Vec<u64>,
    ttfts: Vec<u64>,
}

impl Accumulator {
    fn add(&mut self, record: &UsageView<'_>, cost: Option<f64>, cache_saved: f64) {
        if self.add_calls(record, 1, cost, cache_saved) {
            self.latencies.push(record.latency_ms);
            if let Some(ttft) = record.ttft_ms {
                self.ttfts.push(ttft);
            }
        }
    }

    /// Adds `calls` calls whose tokens and cost `record` and `cost` sum
    /// (one outcome, source and tier); false for cache hits, which made
    /// no API call (their tokens and price are savings).
    fn add_calls(
        &mut self,
        record: &UsageView<'_>,
        calls: u64,
        cost: Option<f64>,
        cache_saved: f64,
    ) -> bool {
        let row = &mut self.row;
        if record.outcome == CallOutcome::CacheHit {
            row.cache_hits += calls;
            row.saved_usd += cost.unwrap_or(0.0);
            return false;
        }
        row.calls += calls;
        if record.outcome == CallOutcome::Error {
            row.errors += calls;
        }
        row.input_tokens += record.input_tokens;
        row.cached_input_tokens += record.cached_input_tokens;
        row.cache_write_tokens += record.cache_write_tokens;
        row.output_tokens += record.output_tokens;
        match cost {
            Some(cost) => row.cost_usd += cost,
            None => row.unpriced_calls += calls,
        }
        row.prompt_cache_saved_usd += cache_saved;
        if record.usage_source == UsageSource::Local {
            row.estimated_calls += calls;
        }
        if record.is_batch() {
            row.batch_calls += calls;
        }
        true
    }

    fn merge(&mut self, other: Accumulator) {
        let (a, b) = (&mut self.row, other.row);
        a.calls += b.calls;
        a.errors += b.errors;
        a.input_tokens += b.input_tokens;
        a.cached_input_tokens += b.cached_input_tokens;
        a.cache_write_tokens += b.cache_write_tokens;
        a.output_tokens += b.output_tokens;
        a.cost_usd += b.cost_usd;
        a.unpriced_calls += b.unpriced_calls;
        a.estimated_calls += b.estimated_calls;
        a.cache_hits += b.cache_hits;
        a.saved_usd += b.saved_usd;
        a.batch_calls += b.batch_calls;
        a.prompt_cache_saved_usd += b.prompt_cache_saved_usd;
        self.latencies.extend(other.latencies);
        self.ttfts.extend(other.ttfts);
    }

    fn finish(mut self, group: Vec<String>) -> ReportRow {
        self.row.group = group;
        (self.row.latency_p50_ms, self.row.latency_p95_ms) = percentiles(&mut self.latencies);
        (self.row.ttft_p50_ms, self.row.ttft_p95_ms) = percentiles(&mut self.ttfts);
        self.row
    }
}

/// Nearest-rank 50th and 95th percentiles.
fn percentiles(values: &mut [u64]) -> (Option<u64>, Option<u64>) {
    if values.is_empty() {
        return (None, None);
    }
    values.sort_unstable();
    let rank = |p: f64| {
        let index = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
        values[index]
    };
    (Some(rank(0.50)), Some(rank(0.95)))
}

/// How a call is priced.
pub struct Pricing<'a> {
    /// The price table.
    pub table: &'a PriceTable,
    /// Providers configured as free (local models): priced at zero.
    pub free_providers: HashSet<String>,
}

impl<'a> Pricing<'a> {
    /// The rate of a call on its day: its model's price, at the batch
    /// multiplier for a batch request; `None` when the model has no price
    /// (or a batch request's has no batch rule).
    fn rate(&self, record: &UsageView<'_>) -> Option<Rate<'a>> {
        let day = record.ts.get(..10).unwrap_or(&record.ts);
        let (model, price) = record
            .model_reported
            .as_deref()
            .and_then(|m| Some((m, self.table.lookup(m, day)?)))
            .or_else(|| {
                let requested = record.model_requested.as_ref();
                Some((requested, self.table.lookup(requested, day)?))
            })?;
        let multiplier = if record.is_batch() {
            self.table
                .batch_multiplier(model, price, &record.provider, day)?
        } else {
            1.0
        };
        Some(Rate { price, multiplier })
    }

    /// The cost of one call, or `None` when its model has no price.
    pub fn cost(&self, record: &UsageView<'_>) -> Option<f64> {
        self.cost_with(record, self.rate(record))
    }

    /// What the prompt cache saved on one call (see
    /// [`ReportRow::prompt_cache_saved_usd`]): 0 without cache tokens.
    fn prompt_cache_saving(
        &self,
        record: &UsageView<'_>,
        rate: Option<Rate<'_>>,
        cost: Option<f64>,
    ) -> f64 {
        let (Some(rate), Some(cost)) = (rate, cost) else {
            return 0.0;
        };
        if record.cached_input_tokens == 0 && record.cache_write_tokens == 0 || cost == 0.0 {
            return 0.0;
        }
        let uncached = rate.cost(TokenCounts {
            input: record.input_tokens,
            cached_input: 0,
            cache_write: 0,
            cache_write_hour: 0,
            output: record.output_tokens,
        });
        uncached - cost
    }

    fn cost_with(&self, record: &UsageView<'_>, rate: Option<Rate<'_>>) -> Option<f64> {
        if !self.free_providers.is_empty() && self.free_providers.contains(record.provider.as_ref())
        {
            return Some(0.0);
        }
        let rate = rate?;
        Some(rate.cost(TokenCounts {
            input: record.input_tokens,
            cached_input: record.cached_input_tokens,
            cache_write: record.cache_write_tokens,
            cache_write_hour: record.cache_write_hour_tokens,
            output: record.output_tokens,
        }))
    }
}

/// The ISO week of a `YYYY-MM-DD` day, as `2026-W48`.
fn iso_week(day: &str) -> String {
    jiff::civil::Date::strptime("%Y-%m-%d", day)
        .map(|d| {
            let week = d.iso_week_date();
            format!("{}-W{:02}", week.year(), week.week())
        })
        .unwrap_or_else(|_| day.to_string())
}

/// Separates group values inside a map key.
const KEY_SEPARATOR: char = '\u{1f}';

/// Builds a report one record at a time; builders for parts of a log can
/// be merged, so a large log is reported on all cores without keeping its
/// records in memory.
pub struct ReportBuilder<'p> {
    filters: &'p Filters,
    group_by: &'p [GroupKey],
    pricing: &'p Pricing<'p>,
    /// Accumulators by group values joined with [`KEY_SEPARATOR`].
    groups: HashMap<String, Accumulator>,
    total: Accumulator,
    unpriced: BTreeSet<String>,
    /// Rates by `model` + separator + `day` (+ separator + tier for
    /// batch requests), looked up once each.
    prices: HashMap<String, Option<Rate<'p>>>,
    weeks: HashMap<String, String>,
    /// Reused buffers, so the common path allocates nothing.
    key: String,
    keys: Vec<String>,
}

impl<'p> ReportBuilder<'p> {
    /// An empty builder.
    pub fn new(filters: &'p Filters, group_by: &'p [GroupKey], pricing: &'p Pricing<'p>) -> Self {
        ReportBuilder {
            filters,
            group_by,
            pricing,
            groups: HashMap::default(),
            total: Accumulator::default(),
            unpriced: BTreeSet::new(),
            prices: HashMap::default(),
            weeks: HashMap::default(),
            key: String::new(),
            keys: Vec::new(),
        }
    }

    /// Adds one call, if the filters let it through.
    pub fn add(&mut self, record: &UsageView<'_>) {
        if !self.filters.accepts(record) {
            return;
        }
        let (cost, saved) = self.price(record);
        self.total.add(record, cost, saved);
        self.group_keys(record);
        for key in &self.keys {
            match self.groups.get_mut(key.as_str()) {
                Some(acc) => acc.add(record, cost, saved),
                None => {
                    let mut acc = Accumulator::default();
                    acc.add(record, cost, saved);
                    self.groups.insert(key.clone(), acc);
                }
            }
        }
    }

    /// Adds `calls` calls summed elsewhere (by the store's SQL): `record`
    /// holds their token sums and the model, day, provider, tier, outcome
    /// and source they share (cost is linear in tokens, so pricing the
    /// sum prices each). They count in the total when `to_total`, and in
    /// the row of `group` (one value per grouping key) when given. Their
    /// latency percentiles come from [`Report::set_percentiles`].
    pub fn add_aggregate(
        &mut self,
        record: &UsageView<'_>,
        calls: u64,
        group: Option<&[String]>,
        to_total: bool,
    ) {
        let (cost, saved) = self.price(record);
        if to_total {
            self.total.add_calls(record, calls, cost, saved);
        }
        if let Some(group) = group {
            let key = group.join(&KEY_SEPARATOR.to_string());
            self.groups
                .entry(key)
                .or_default()
                .add_calls(record, calls, cost, saved);
        }
    }

    /// The cost of `record` (`None`: its model has no price, which is
    /// noted) and what the prompt cache saved on it; the rate of each
    /// model and day is looked up once.
    fn price(&mut self, record: &UsageView<'_>) -> (Option<f64>, f64) {
        let day = record.ts.get(..10).unwrap_or(&record.ts);
        self.key.clear();
        self.key.push_str(record.model());
        self.key.push(KEY_SEPARATOR);
        self.key.push_str(day);
        if record.is_batch() {
            self.key.push(KEY_SEPARATOR);
            self.key.push_str(&record.provider);
        }
        let rate = match self.prices.get(self.key.as_str()) {
            Some(rate) => *rate,
            None => {
                let rate = self.pricing.rate(record);
                self.prices.insert(self.key.clone(), rate);
                rate
            }
        };
        let cost = self.pricing.cost_with(record, rate);
        if record.outcome == CallOutcome::CacheHit {
            return (cost, 0.0);
        }
        if cost.is_none() && !self.unpriced.contains(record.model()) {
            self.unpriced.insert(record.model().to_string());
        }
        (cost, self.pricing.prompt_cache_saving(record, rate, cost))
    }

    /// Fills `self.keys` with the record's group keys (tags multiply).
    fn group_keys(&mut self, record: &UsageView<'_>) {
        self.keys.clear();
        self.keys.push(String::new());
        for (position, &key) in self.group_by.iter().enumerate() {
            let day = record.ts.get(..10).unwrap_or(&record.ts);
            let single: &str = match key {
                GroupKey::Model => record.model(),
                GroupKey::Provider => &record.provider,
                GroupKey::Day => day,
                GroupKey::Month => day.get(..7).unwrap_or(day),
                GroupKey::Week => self
                    .weeks
                    .entry(day.to_string())
                    .or_insert_with(|| iso_week(day)),
                GroupKey::Conversation => record.conversation_id.as_deref().unwrap_or("(none)"),
                GroupKey::Command => &record.command,
                GroupKey::Preset => record.preset.as_deref().unwrap_or("(none)"),
                GroupKey::Tier => record.tier.as_deref().unwrap_or("standard"),
                GroupKey::Tag if record.tags.is_empty() => "(none)",
                GroupKey::Tag => {
                    let mut next = Vec::with_capacity(self.keys.len() * record.tags.len());
                    for prefix in &self.keys {
                        for tag in &record.tags {
                            let mut key = prefix.clone();
                            if position > 0 {
                                key.push(KEY_SEPARATOR);
                            }
                            key.push_str(tag);
                            next.push(key);
                        }
                    }
                    self.keys = next;
                    continue;
                }
            };
            for prefix in &mut self.keys {
                if position > 0 {
                    prefix.push(KEY_SEPARATOR);
                }
                prefix.push_str(single);
            }
        }
    }

    /// Combines two builders (of different parts of the records).
    pub fn merge(mut self, other: ReportBuilder<'p>) -> Self {
        self.total.merge(other.total);
        for (key, acc) in other.groups {
            match self.groups.get_mut(&key) {
                Some(mine) => mine.merge(acc),
                None => {
                    self.groups.insert(key, acc);
                }
            }
        }
        self.unpriced.extend(other.unpriced);
        self
    }

    /// The finished report, rows sorted by their group values.
    pub fn finish(self) -> Report {
        let mut rows: Vec<ReportRow> = self
            .groups
            .into_iter()
            .map(|(key, acc)| acc.finish(key.split(KEY_SEPARATOR).map(str::to_string).collect()))
            .collect();
        rows.sort_by(|a, b| a.group.cmp(&b.group));
        Report {
            group_by: self
                .group_by
                .iter()
                .map(|k| k.title().to_string())
                .collect(),
            rows,
            total: self.total.finish(Vec::new()),
            unpriced_models: self.unpriced.into_iter().collect(),
        }
    }
}

impl Report {
    /// Sets the latency and time-to-first-token percentiles (p50, p95) of
    /// the row of `group`, or of the total when `group` is empty.
    pub fn set_percentiles(
        &mut self,
        group: &[String],
        latency: (Option<u64>, Option<u64>),
        ttft: (Option<u64>, Option<u64>),
    ) {
        let row = if group.is_empty() {
            Some(&mut self.total)
        } else {
            self.rows.iter_mut().find(|row| row.group == group)
        };
        if let Some(row) = row {
            (row.latency_p50_ms, row.latency_p95_ms) = latency;
            (row.ttft_p50_ms, row.ttft_p95_ms) = ttft;
        }
    }
}

/// Builds a report over `records` (one thread; see [`ReportBuilder`]).
pub fn build<'r, 'a: 'r>(
    records: impl IntoIterator<Item = &'r UsageView<'a>>,
    filters: &Filters,
    group_by: &[GroupKey],
    pricing: &Pricing<'_>,
) -> Report {
    let mut builder = ReportBuilder::new(filters, group_by, pricing);
    for record in records {
        builder.add(record);
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn record(
        ts: &'static str,
        model: &'static str,
        input: u64,
        output: u64,
        tags: &[&'static str],
    ) -> UsageView<'static> {
        UsageView {
            ts: ts.into(),
            conversation_id: None,
            command: "chat".into(),
            provider: "openai".into(),
            model_requested: model.into(),
            model_reported: None,
            input_tokens: input,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            cache_write_hour_tokens: 0,
            output_tokens: output,
            usage_source: UsageSource::Api,
            latency_ms: input,
            ttft_ms: None,
            outcome: CallOutcome::Ok,
            tags: tags.iter().map(|t| Cow::Borrowed(*t)).collect(),
            preset: None,
            tier: None,
        }
    }

    #[test]
    fn groups_prices_and_filters() {
        let table = PriceTable::from_toml(
            "[[price]]\nmodel = \"m\"\nfrom = \"2026-01-01\"\ninput = 1.0\noutput = 2.0\n\
             [[price]]\nmodel = \"m\"\nfrom = \"2026-06-01\"\ninput = 10.0\noutput = 20.0\n",
            "t",
        )
        .expect("valid");
        let pricing = Pricing {
            table: &table,
            free_providers: HashSet::new(),
        };
        let records = [
            record("2026-03-01T10:00:00Z", "m", 1_000_000, 0, &["a", "b"]),
            record("2026-07-01T10:00:00Z", "m", 1_000_000, 1_000_000, &["a"]),
            record("2026-07-02T10:00:00Z", "unknown", 500, 5, &[]),
        ];
        let report = build(&records, &Filters::default(), &[GroupKey::Model], &pricing);
        assert_eq!(report.rows.len(), 2);
        assert_eq!(report.rows[0].group, ["m"]);
        assert!((report.rows[0].cost_usd - (1.0 + 30.0)).abs() < 1e-9);
        assert_eq!(report.rows[1].unpriced_calls, 1);
        assert_eq!(report.rows[1].cost_usd, 0.0);
        assert_eq!(report.total.calls, 3);
        assert_eq!(report.unpriced_models, ["unknown"]);

        let by_tag = build(&records, &Filters::default(), &[GroupKey::Tag], &pricing);
        let tags: Vec<_> = by_tag
            .rows
            .iter()
            .map(|r| (r.group[0].as_str(), r.calls))
            .collect();
        assert_eq!(tags, [("(none)", 1), ("a", 2), ("b", 1)]);
        assert_eq!(by_tag.total.calls, 3, "the total counts each call once");

        let july = Filters {
            since: Some("2026-07-01T00:00:00".into()),
            until: Some("2026-07-02T00:00:00".into()),
            ..Filters::default()
        };
        let report = build(
            &records,
            &july,
            &[GroupKey::Month, GroupKey::Week],
            &pricing,
        );
        assert_eq!(report.total.calls, 1);
        assert_eq!(report.rows[0].group, ["2026-07", "2026-W27"]);
    }

    /// Regression for batches (#17): a batch request costs half its
    /// standard price, cache reads and writes included, and shows as such.
    #[test]
    fn batch_requests_are_priced_at_the_batch_rate_with_cache_prices() {
        let table = PriceTable::from_toml(
            "[[price]]\nmodel = \"m\"\nprovider = \"acme\"\nfrom = \"2026-01-01\"\n\
             input = 3.0\ncached_input = 0.3\ncache_write = 3.75\noutput = 15.0\n\
             [[batch]]\nprovider = \"acme\"\nfrom = \"2026-01-01\"\nmultiplier = 0.5\n",
            "t",
        )
        .expect("valid");
        let pricing = Pricing {
            table: &table,
            free_providers: HashSet::new(),
        };
        let mut sync = record("2026-03-01T10:00:00Z", "m", 1_000_000, 200_000, &[]);
        sync.cached_input_tokens = 400_000;
        sync.cache_write_tokens = 100_000;
        let mut batch = sync.clone();
        batch.tier = Some("batch".into());
        // 500k uncached x $3 + 400k read x $0.30 + 100k written x $3.75
        // + 200k out x $15 = 1.5 + 0.12 + 0.375 + 3.0 = $4.995 per MTok
        // prices; the batch request pays half of that.
        let report = build(
            &[sync, batch],
            &Filters::default(),
            &[GroupKey::Tier],
            &pricing,
        );
        let rows: Vec<_> = report
            .rows
            .iter()
            .map(|r| (r.group[0].as_str(), r.cost_usd, r.batch_calls))
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].0, rows[0].2), ("batch", 1));
        assert!((rows[0].1 - 2.4975).abs() < 1e-9, "{rows:?}");
        assert_eq!((rows[1].0, rows[1].2), ("standard", 0));
        assert!((rows[1].1 - 4.995).abs() < 1e-9, "{rows:?}");
        assert!((report.total.cost_usd - 7.4925).abs() < 1e-9);
        assert_eq!(report.total.batch_calls, 1);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentiles(&mut values), (Some(50), Some(95)));
        assert_eq!(percentiles(&mut [7]), (Some(7), Some(7)));
        assert_eq!(percentiles(&mut []), (None, None));
    }
}
