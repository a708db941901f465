//! `cost-report` over the store, aggregated in SQL: the same filters and
//! groups as over a local log, with the records summed per group and per
//! what prices them (model, day, provider, tier, outcome and source), so
//! only the sums cross the network, and the latency percentiles computed
//! by the database (nearest rank, as the local report does).

use std::borrow::Cow;

use postgres::types::ToSql;

use crate::store::StoreError;
use crate::usage::report::{Filters, GroupKey, Pricing, Report, ReportBuilder};
use crate::usage::{CallOutcome, UsageSource, UsageView};

/// The SQL value of one grouping key.
fn group_expression(key: GroupKey) -> &'static str {
    match key {
        GroupKey::Model => "coalesce(model_reported, model_requested)",
        GroupKey::Provider => "provider",
        GroupKey::Day => "day",
        GroupKey::Week => r#"to_char(to_date(day, 'YYYY-MM-DD'), 'IYYY-"W"IW')"#,
        GroupKey::Month => "left(day, 7)",
        GroupKey::Conversation => "coalesce(conversation_id, '(none)')",
        GroupKey::Command => "command",
        GroupKey::Tag => "tag",
        GroupKey::Preset => "coalesce(preset, '(none)')",
        GroupKey::Tier => "coalesce(tier, 'standard')",
    }
}

/// The `FROM` and `WHERE` of a query, with its parameters.
struct Selection {
    from: &'static str,
    conditions: Vec<String>,
    params: Vec<String>,
}

impl Selection {
    /// The records `filters` let through; with `tags`, one row per tag
    /// (`(none)` for a record without).
    fn new(filters: &Filters, tags: bool) -> Selection {
        let mut selection = Selection {
            from: if tags {
                "confab_usage CROSS JOIN LATERAL unnest(CASE WHEN cardinality(tags) = 0 \
                 THEN ARRAY['(none)'] ELSE tags END) AS tag"
            } else {
                "confab_usage"
            },
            conditions: Vec::new(),
            params: Vec::new(),
        };
        let mut add = |condition: &str, value: &Option<String>| {
            if let Some(value) = value {
                selection.params.push(value.clone());
                let n = selection.params.len();
                selection
                    .conditions
                    .push(condition.replace('$', &format!("${n}")));
            }
        };
        add("left(ts, 19) >= $", &filters.since);
        add("left(ts, 19) < $", &filters.until);
        add(
            "(model_requested = $ OR model_reported = $)",
            &filters.model,
        );
        add("provider = $", &filters.provider);
        add("$ = ANY(tags)", &filters.tag);
        add("conversation_id = $", &filters.conversation);
        add("command = $", &filters.command);
        selection
    }

    fn sql(&self, select: &str, group: &str) -> String {
        let mut sql = format!("SELECT {select} FROM {}", self.from);
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        if !group.is_empty() {
            sql.push_str(" GROUP BY ");
            sql.push_str(group);
        }
        sql
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p as &(dyn ToSql + Sync))
            .collect()
    }
}

/// What prices a sum of records, after the group values.
const PRICED_BY: [&str; 6] = [
    "coalesce(model_reported, model_requested)",
    "day",
    "provider",
    "tier",
    "outcome",
    "usage_source",
];

const SUMS: &str = "count(*), sum(input_tokens)::bigint, sum(cached_input_tokens)::bigint, \
    sum(cache_write_tokens)::bigint, sum(cache_write_hour_tokens)::bigint, \
    sum(output_tokens)::bigint";

/// The report of the store's records.
pub fn build(
    client: &mut postgres::Client,
    filters: &Filters,
    group_by: &[GroupKey],
    pricing: &Pricing<'_>,
) -> Result<Report, StoreError> {
    let mut builder = ReportBuilder::new(filters, group_by, pricing);
    let tags = group_by.contains(&GroupKey::Tag);
    let groups: Vec<&str> = group_by.iter().map(|k| group_expression(*k)).collect();
    // Groups and the total in one query, unless tags multiply the rows.
    add_sums(client, &mut builder, filters, &groups, tags, !tags)?;
    if tags {
        add_sums(client, &mut builder, filters, &[], false, true)?;
    }
    let mut report = builder.finish();
    set_percentiles(client, &mut report, filters, &groups, tags)?;
    set_percentiles(client, &mut report, filters, &[], false)?;
    Ok(report)
}

/// Sums the selected records by `groups` and what prices them, into
/// the groups (when there are any) and, with `to_total`, the total.
fn add_sums(
    client: &mut postgres::Client,
    builder: &mut ReportBuilder<'_>,
    filters: &Filters,
    groups: &[&str],
    tags: bool,
    to_total: bool,
) -> Result<(), StoreError> {
    let selection = Selection::new(filters, tags);
    let keys: Vec<&str> = groups.iter().chain(PRICED_BY.iter()).copied().collect();
    let sql = selection.sql(&format!("{}, {SUMS}", keys.join(", ")), &keys.join(", "));
    let n = groups.len();
    for row in client.query(&sql, &selection.params())? {
        let group: Vec<String> = (0..n).map(|i| row.get::<_, String>(i)).collect();
        let text = |i: usize| row.get::<_, Option<String>>(n + i);
        let number = |i: usize| u64::try_from(row.get::<_, i64>(n + 6 + i)).unwrap_or(0);
        let day = text(1).unwrap_or_default();
        let view = UsageView {
            ts: Cow::Owned(day),
            conversation_id: None,
            command: Cow::Borrowed(""),
            provider: Cow::Owned(text(2).unwrap_or_default()),
            model_requested: Cow::Owned(text(0).unwrap_or_default()),
            model_reported: None,
            input_tokens: number(1),
            cached_input_tokens: number(2),
            cache_write_tokens: number(3),
            cache_write_hour_tokens: number(4),
            output_tokens: number(5),
            usage_source: if text(5).as_deref() == Some("local") {
                UsageSource::Local
            } else {
                UsageSource::Api
            },
            latency_ms: 0,
            ttft_ms: None,
            outcome: outcome(text(4).as_deref()),
            tags: Vec::new(),
            preset: None,
            tier: text(3).map(Cow::Owned),
        };
        let group = (n > 0).then_some(group.as_slice());
        builder.add_aggregate(&view, number(0), group, to_total);
    }
    Ok(())
}

fn outcome(text: Option<&str>) -> CallOutcome {
    match text {
        Some("error") => CallOutcome::Error,
        Some("interrupted") => CallOutcome::Interrupted,
        Some("cache_hit") => CallOutcome::CacheHit,
        _ => CallOutcome::Ok,
    }
}

/// The latency and time-to-first-token percentiles of API calls (not
/// cache hits) per group, or of the total when `groups` is empty.
fn set_percentiles(
    client: &mut postgres::Client,
    report: &mut Report,
    filters: &Filters,
    groups: &[&str],
    tags: bool,
) -> Result<(), StoreError> {
    if groups.is_empty() && tags {
        return Ok(());
    }
    let mut selection = Selection::new(filters, tags);
    selection.conditions.push("outcome <> 'cache_hit'".into());
    let percentiles = "(percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms))::bigint, \
        (percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms))::bigint, \
        (percentile_disc(0.5) WITHIN GROUP (ORDER BY ttft_ms))::bigint, \
        (percentile_disc(0.95) WITHIN GROUP (ORDER BY ttft_ms))::bigint";
    let select = if groups.is_empty() {
        percentiles.to_string()
    } else {
        format!("{}, {percentiles}", groups.join(", "))
    };
    let sql = selection.sql(&select, &groups.join(", "));
    let n = groups.len();
    for row in client.query(&sql, &selection.params())? {
        let group: Vec<String> = (0..n).map(|i| row.get::<_, String>(i)).collect();
        let ms = |i: usize| {
            row.get::<_, Option<i64>>(n + i)
                .and_then(|v| u64::try_from(v).ok())
        };
        report.set_percentiles(&group, (ms(0), ms(1)), (ms(2), ms(3)));
    }
    Ok(())
}
