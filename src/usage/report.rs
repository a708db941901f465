//! Cost reports over usage records: filters, grouping (by model, provider,
//! day, week, month, conversation, command, tag; combinable), and per group
//! calls, errors, tokens, cost at the price of each call's day, and
//! latency percentiles. Calls without a price are counted as unpriced,
//! never as $0; calls whose tokens were counted locally are marked estimated.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::usage::prices::{PriceTable, TokenCounts};
use crate::usage::{CallOutcome, UsageRecord, UsageSource};

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
    pub fn accepts(&self, record: &UsageRecord) -> bool {
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
    fn add(&mut self, record: &UsageRecord, cost: Option<f64>) {
        let row = &mut self.row;
        row.calls += 1;
        if record.outcome == CallOutcome::Error {
            row.errors += 1;
        }
        row.input_tokens += record.input_tokens;
        row.cached_input_tokens += record.cached_input_tokens;
        row.cache_write_tokens += record.cache_write_tokens;
        row.output_tokens += record.output_tokens;
        match cost {
            Some(cost) => row.cost_usd += cost,
            None => row.unpriced_calls += 1,
        }
        if record.usage_source == UsageSource::Local {
            row.estimated_calls += 1;
        }
        self.latencies.push(record.latency_ms);
        if let Some(ttft) = record.ttft_ms {
            self.ttfts.push(ttft);
        }
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

impl Pricing<'_> {
    /// The cost of one call, or `None` when its model has no price.
    pub fn cost(&self, record: &UsageRecord) -> Option<f64> {
        if self.free_providers.contains(&record.provider) {
            return Some(0.0);
        }
        let day = record.ts.get(..10).unwrap_or(&record.ts);
        let price = record
            .model_reported
            .as_deref()
            .and_then(|m| self.table.lookup(m, day))
            .or_else(|| self.table.lookup(&record.model_requested, day))?;
        Some(price.cost(TokenCounts {
            input: record.input_tokens,
            cached_input: record.cached_input_tokens,
            cache_write: record.cache_write_tokens,
            output: record.output_tokens,
        }))
    }
}

/// The values of `key` for a record (several for tags).
fn group_values(record: &UsageRecord, key: GroupKey) -> Vec<String> {
    let day = record.ts.get(..10).unwrap_or(&record.ts);
    match key {
        GroupKey::Model => vec![record
            .model_reported
            .clone()
            .unwrap_or_else(|| record.model_requested.clone())],
        GroupKey::Provider => vec![record.provider.clone()],
        GroupKey::Day => vec![day.to_string()],
        GroupKey::Month => vec![day.get(..7).unwrap_or(day).to_string()],
        GroupKey::Week => vec![jiff::civil::Date::strptime("%Y-%m-%d", day)
            .map(|d| {
                let week = d.iso_week_date();
                format!("{}-W{:02}", week.year(), week.week())
            })
            .unwrap_or_else(|_| day.to_string())],
        GroupKey::Conversation => vec![record
            .conversation_id
            .clone()
            .unwrap_or_else(|| "(none)".into())],
        GroupKey::Command => vec![record.command.clone()],
        GroupKey::Tag if record.tags.is_empty() => vec!["(none)".into()],
        GroupKey::Tag => record.tags.clone(),
    }
}

/// Every combination of the record's group values (tags multiply).
fn group_keys(record: &UsageRecord, keys: &[GroupKey]) -> Vec<Vec<String>> {
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for &key in keys {
        let values = group_values(record, key);
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    combos
}

/// Builds a report over `records`.
pub fn build<'r>(
    records: impl IntoIterator<Item = &'r UsageRecord>,
    filters: &Filters,
    group_by: &[GroupKey],
    pricing: &Pricing<'_>,
) -> Report {
    let mut groups: BTreeMap<Vec<String>, Accumulator> = BTreeMap::new();
    let mut total = Accumulator::default();
    let mut unpriced = std::collections::BTreeSet::new();
    for record in records {
        if !filters.accepts(record) {
            continue;
        }
        let cost = pricing.cost(record);
        if cost.is_none() {
            unpriced.insert(
                record
                    .model_reported
                    .clone()
                    .unwrap_or_else(|| record.model_requested.clone()),
            );
        }
        total.add(record, cost);
        for key in group_keys(record, group_by) {
            groups.entry(key).or_default().add(record, cost);
        }
    }
    Report {
        group_by: group_by.iter().map(|k| k.title().to_string()).collect(),
        rows: groups
            .into_iter()
            .map(|(group, acc)| acc.finish(group))
            .collect(),
        total: total.finish(Vec::new()),
        unpriced_models: unpriced.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::RECORD_VERSION;

    fn record(ts: &str, model: &str, input: u64, output: u64, tags: &[&str]) -> UsageRecord {
        UsageRecord {
            v: RECORD_VERSION,
            ts: ts.into(),
            call_id: "c".into(),
            conversation_id: None,
            command: "chat".into(),
            provider: "openai".into(),
            host: "h".into(),
            model_requested: model.into(),
            model_reported: None,
            input_tokens: input,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            output_tokens: output,
            reasoning_tokens: 0,
            usage_source: UsageSource::Api,
            latency_ms: input,
            ttft_ms: None,
            retries: 0,
            status: Some(200),
            error_kind: None,
            outcome: CallOutcome::Ok,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            prompt: None,
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

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentiles(&mut values), (Some(50), Some(95)));
        assert_eq!(percentiles(&mut [7]), (Some(7), Some(7)));
        assert_eq!(percentiles(&mut []), (None, None));
    }
}
