//! Athena partition projection: with TBLPROPERTIES `projection.enabled` =
//! `true`, a table's partitions are computed from its properties and the
//! query's conditions, and registered partitions are ignored.
//!
//! Per partition key, `projection.<key>.type` is one of:
//! - `enum`: `projection.<key>.values` = `a,b,c`;
//! - `integer`: `range` = `lo,hi`, optional `interval` (default 1) and
//!   `digits` (zero-padded width);
//! - `date`: `range` = `start,end` where each end is a date in `format` or
//!   `NOW`, `NOW-3DAYS`, `NOW+1HOUR` ...; `format` is a Java date pattern
//!   (`yyyy`, `yy`, `MM`, `M`, `dd`, `d`, `HH`, `H`, `mm`, `ss`, quoted
//!   text); `interval` (default 1) and `interval.unit` (YEARS, MONTHS,
//!   WEEKS, DAYS, HOURS, MINUTES, SECONDS; default the finest field of the
//!   format);
//! - `injected`: no domain; every query must give the key's values with
//!   `=` or `IN`.
//!
//! `storage.location.template` (e.g. `s3://b/logs/${year}/${month}/`)
//! places each partition; without it, `table_location/k=v/...`.
//!
//! Candidates are built per key from the conditions that pin it (`=`,
//! `IN`) or bound it (`<`, `<=`, `>`, `>=`, `BETWEEN`), so the work grows
//! with what the query selects, not with the projected range; the caller
//! then applies every partition condition exactly. Pure computation: no
//! I/O here.

use super::dateformat::DateFormat;
use crate::catalog::types::hive_to_arrow;
use crate::catalog::{Partition, StorageDescriptor, Table};
use crate::error::{Error, Result, SqlState};
use chrono::{Datelike, Duration, NaiveDateTime};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

/// Most partitions one query may compute (Athena's limit too).
pub const MAX_PARTITIONS: u128 = 1_000_000;

/// The TBLPROPERTIES key that turns projection on.
pub const ENABLED: &str = "projection.enabled";
/// The TBLPROPERTIES key with the location template.
pub const TEMPLATE: &str = "storage.location.template";

/// Whether a table's partitions are projected.
pub fn is_enabled(table: &Table) -> bool {
    table.parameters.get(ENABLED).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// A table's projection, parsed from its properties.
#[derive(Debug, Clone)]
pub struct Projection {
    keys: Vec<Key>,
    template: Option<String>,
}

#[derive(Debug, Clone)]
struct Key {
    name: String,
    data_type: DataType,
    domain: Domain,
}

#[derive(Debug, Clone)]
enum Domain {
    Enum(Vec<String>),
    Integer { lo: i64, hi: i64, interval: i64, digits: usize },
    Date { start: Bound, end: Bound, format: DateFormat, interval: i64, unit: Unit },
    Injected,
}

/// One end of a date range: a fixed date or `NOW` plus an offset.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Fixed(NaiveDateTime),
    Now { amount: i64, unit: Unit },
}

/// A unit of a date range or interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Unit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

impl Unit {
    fn parse(text: &str) -> Option<Unit> {
        let t = text.trim().to_ascii_uppercase();
        let t = t.strip_suffix('S').unwrap_or(&t);
        Some(match t {
            "SECOND" => Unit::Seconds,
            "MINUTE" => Unit::Minutes,
            "HOUR" => Unit::Hours,
            "DAY" => Unit::Days,
            "WEEK" => Unit::Weeks,
            "MONTH" => Unit::Months,
            "YEAR" => Unit::Years,
            _ => return None,
        })
    }

    /// The length of `n` of this unit, for the units of fixed length.
    fn fixed(self, n: i64) -> Option<Duration> {
        match self {
            Unit::Seconds => Duration::try_seconds(n),
            Unit::Minutes => Duration::try_minutes(n),
            Unit::Hours => Duration::try_hours(n),
            Unit::Days => Duration::try_days(n),
            Unit::Weeks => Duration::try_weeks(n),
            Unit::Months | Unit::Years => None,
        }
    }

    fn months(self) -> i64 {
        if self == Unit::Years {
            12
        } else {
            1
        }
    }

    /// `at` moved by `n` units (None when out of range).
    fn add(self, at: NaiveDateTime, n: i64) -> Option<NaiveDateTime> {
        match self.fixed(n) {
            Some(d) => at.checked_add_signed(d),
            None => {
                let months = n.checked_mul(self.months())?;
                let magnitude = chrono::Months::new(u32::try_from(months.unsigned_abs()).ok()?);
                if months >= 0 {
                    at.checked_add_months(magnitude)
                } else {
                    at.checked_sub_months(magnitude)
                }
            }
        }
    }
}

impl Projection {
    /// The projection of a table with `projection.enabled`, or `None`;
    /// 22023 naming the property when one is missing or malformed.
    pub fn of_table(table: &Table) -> Result<Option<Projection>> {
        if !is_enabled(table) {
            return Ok(None);
        }
        let bad = |what: String| {
            Error::new(
                SqlState::InvalidParameterValue,
                format!("partition projection of {}.{}: {what}", table.database_name, table.name),
            )
        };
        if table.partition_keys.is_empty() {
            return Err(bad(format!("{ENABLED} is true but the table has no PARTITIONED BY columns")));
        }
        let mut keys = Vec::new();
        for column in &table.partition_keys {
            let name = column.name.clone();
            let property =
                |p: &str| table.parameters.get(&format!("projection.{name}.{p}")).map(|v| v.trim().to_string());
            let require = |p: &str| property(p).ok_or_else(|| bad(format!("projection.{name}.{p} is missing")));
            let data_type = hive_to_arrow(&column.data_type)?;
            let kind = require("type")?.to_ascii_lowercase();
            let domain = match kind.as_str() {
                "enum" => {
                    let values: Vec<String> = require("values")?.split(',').map(|v| v.trim().to_string()).collect();
                    if values.iter().any(String::is_empty) {
                        return Err(bad(format!("projection.{name}.values has an empty value")));
                    }
                    Domain::Enum(values)
                }
                "integer" => {
                    let range = require("range")?;
                    let (lo, hi) = range
                        .split_once(',')
                        .and_then(|(a, b)| Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?)))
                        .filter(|(a, b)| a <= b)
                        .ok_or_else(|| {
                            bad(format!("projection.{name}.range {range:?} is not `low,high` with low <= high"))
                        })?;
                    let interval = positive(property("interval"), 1)
                        .map_err(|v| bad(format!("projection.{name}.interval {v:?} is not a positive integer")))?;
                    let digits =
                        match property("digits") {
                            None => 0,
                            Some(d) => d.parse::<usize>().ok().filter(|d| *d <= 20).ok_or_else(|| {
                                bad(format!("projection.{name}.digits {d:?} is not a number of digits"))
                            })?,
                        };
                    Domain::Integer { lo, hi, interval, digits }
                }
                "date" => {
                    let format_text = require("format")?;
                    let format = DateFormat::new(&format_text)
                        .map_err(|e| bad(format!("projection.{name}.format {format_text:?}: {e}")))?;
                    let range = require("range")?;
                    let parse_end = |s: &str| Bound::parse(s, &format);
                    let (start, end) = range
                        .split_once(',')
                        .and_then(|(a, b)| Some((parse_end(a)?, parse_end(b)?)))
                        .ok_or_else(|| {
                            bad(format!("projection.{name}.range {range:?} is not `start,end` with dates in format {format_text:?} or NOW[+-N UNIT]"))
                        })?;
                    let interval = positive(property("interval"), 1)
                        .map_err(|v| bad(format!("projection.{name}.interval {v:?} is not a positive integer")))?;
                    let unit = match property("interval.unit") {
                        None => format.finest(),
                        Some(u) => Unit::parse(&u).ok_or_else(|| bad(format!("projection.{name}.interval.unit {u:?} is not YEARS, MONTHS, WEEKS, DAYS, HOURS, MINUTES or SECONDS")))?,
                    };
                    Domain::Date { start, end, format, interval, unit }
                }
                "injected" => Domain::Injected,
                other => {
                    return Err(bad(format!("projection.{name}.type {other:?} is not enum, integer, date or injected")))
                }
            };
            keys.push(Key { name, data_type, domain });
        }
        let template = table.parameters.get(TEMPLATE).cloned();
        if let Some(template) = &template {
            for placeholder in placeholders(template) {
                if !keys.iter().any(|k| k.name == placeholder) {
                    let known: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
                    return Err(bad(format!(
                        "{TEMPLATE} has ${{{placeholder}}}, which is not a partition key ({})",
                        known.join(", ")
                    )));
                }
            }
            if let Some(missing) = keys.iter().find(|k| !template.contains(&format!("${{{}}}", k.name))) {
                return Err(bad(format!(
                    "{TEMPLATE} has no ${{{}}}; every partition key must appear in it",
                    missing.name
                )));
            }
        }
        let projection = Projection { keys, template };
        // A range whose ends are fixed must not be empty.
        for key in &projection.keys {
            if let Domain::Date { start: Bound::Fixed(a), end: Bound::Fixed(b), .. } = key.domain {
                if a > b {
                    return Err(bad(format!("projection.{}.range starts after it ends", key.name)));
                }
            }
        }
        Ok(Some(projection))
    }

    /// How many partitions the projection spans, if it is finite (no
    /// injected key).
    pub fn total(&self) -> Option<u128> {
        let now = now();
        self.keys.iter().try_fold(1u128, |acc, k| Some(acc.saturating_mul(k.domain.size(now)?)))
    }

    /// The partitions the conditions can select, each with its location
    /// and typed values; 42000 when an injected key has no `=`/`IN`
    /// condition, 54000 when the conditions leave more than
    /// [`MAX_PARTITIONS`].
    pub fn candidates(&self, table: &Table, filters: &[&Expr]) -> Result<Vec<(Partition, Vec<ScalarValue>)>> {
        let now = now();
        let mut per_key: Vec<Vec<(String, ScalarValue)>> = Vec::with_capacity(self.keys.len());
        let mut count: u128 = 1;
        let mut sizes = Vec::new();
        for key in &self.keys {
            let pinned = pinned_values(&key.name, filters);
            let values = match (pinned, &key.domain) {
                (Some(literals), _) => {
                    let mut texts: Vec<String> = literals.iter().filter_map(|v| key.domain.member(v, now)).collect();
                    texts.sort();
                    texts.dedup();
                    texts
                }
                (None, Domain::Injected) => {
                    return Err(Error::new(
                        SqlState::PlanningError,
                        format!(
                            "partition key {} of {}.{} is projected as injected: the query must give its values with {} = ... or {} IN (...)",
                            key.name, table.database_name, table.name, key.name, key.name
                        ),
                    ))
                }
                (None, domain) => {
                    let (lo, hi) = bounds(&key.name, filters);
                    let size = domain.size_between(lo.as_ref(), hi.as_ref(), now).unwrap_or(0);
                    sizes.push(size);
                    if count.saturating_mul(size) > MAX_PARTITIONS {
                        return Err(too_many(table, &self.keys));
                    }
                    domain.enumerate(lo.as_ref(), hi.as_ref(), now)
                }
            };
            count = count.saturating_mul(values.len() as u128);
            if count > MAX_PARTITIONS {
                return Err(too_many(table, &self.keys));
            }
            let typed = values
                .into_iter()
                .map(|text| {
                    let value = key.typed(&text).ok_or_else(|| {
                        Error::new(
                            SqlState::InvalidTextRepresentation,
                            format!(
                                "projected value {text:?} of {}.{} is not a {} (partition key {})",
                                table.database_name, table.name, key.data_type, key.name
                            ),
                        )
                    })?;
                    Ok((text, value))
                })
                .collect::<Result<Vec<_>>>()?;
            per_key.push(typed);
        }
        let mut out: Vec<(Vec<String>, Vec<ScalarValue>)> = vec![(Vec::new(), Vec::new())];
        for values in per_key {
            out = out
                .into_iter()
                .flat_map(|(texts, typed)| {
                    values.iter().map(move |(t, v)| {
                        let mut texts = texts.clone();
                        let mut typed = typed.clone();
                        texts.push(t.clone());
                        typed.push(v.clone());
                        (texts, typed)
                    })
                })
                .collect();
        }
        Ok(out
            .into_iter()
            .map(|(values, typed)| {
                let location = self.location(&values);
                let storage_descriptor = StorageDescriptor { location, ..StorageDescriptor::default() };
                (Partition { values, storage_descriptor, ..Partition::default() }, typed)
            })
            .collect())
    }

    /// A partition's location from the template (None: the default
    /// `k=v/` folders under the table's location).
    fn location(&self, values: &[String]) -> Option<String> {
        let mut location = self.template.clone()?;
        for (key, value) in self.keys.iter().zip(values) {
            location = location.replace(&format!("${{{}}}", key.name), value);
        }
        Some(location)
    }
}

fn too_many(table: &Table, keys: &[Key]) -> Error {
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    Error::new(
        SqlState::ProgramLimitExceeded,
        format!(
            "the query would read more than {MAX_PARTITIONS} projected partitions of {}.{}; add conditions on {}",
            table.database_name,
            table.name,
            names.join(", ")
        ),
    )
}

/// A positive integer property, or `default` when absent; the bad text otherwise.
fn positive(value: Option<String>, default: i64) -> std::result::Result<i64, String> {
    match value {
        None => Ok(default),
        Some(v) => v.parse::<i64>().ok().filter(|n| *n > 0).ok_or(v),
    }
}

/// The `${name}` placeholders of a template.
fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

impl Bound {
    fn parse(text: &str, format: &DateFormat) -> Option<Bound> {
        let text = text.trim();
        let upper = text.to_ascii_uppercase();
        if let Some(rest) = upper.strip_prefix("NOW") {
            let rest = rest.trim();
            if rest.is_empty() {
                return Some(Bound::Now { amount: 0, unit: Unit::Days });
            }
            let (sign, rest) = match rest.as_bytes()[0] {
                b'+' => (1, &rest[1..]),
                b'-' => (-1, &rest[1..]),
                _ => return None,
            };
            let digits = rest.trim_start().chars().take_while(char::is_ascii_digit).collect::<String>();
            let unit = Unit::parse(&rest.trim_start()[digits.len()..])?;
            return Some(Bound::Now { amount: sign * digits.parse::<i64>().ok()?, unit });
        }
        format.parse(text).map(Bound::Fixed)
    }

    fn at(self, now: NaiveDateTime, format: &DateFormat) -> Option<NaiveDateTime> {
        match self {
            Bound::Fixed(t) => Some(t),
            Bound::Now { amount, unit } => format.parse(&format.format(unit.add(now, amount)?)),
        }
    }
}

impl Domain {
    /// The text of a literal's value if it is in the domain.
    fn member(&self, literal: &ScalarValue, now: NaiveDateTime) -> Option<String> {
        match self {
            Domain::Enum(values) => {
                let text = text_of(literal)?;
                values.contains(&text).then_some(text)
            }
            Domain::Integer { lo, hi, interval, digits } => {
                let n = integer_of(literal)?;
                (n >= *lo && n <= *hi && (n - lo) % interval == 0).then(|| pad(n, *digits))
            }
            Domain::Date { format, .. } => {
                let at = self.date_of(literal)?;
                let (start, end) = self.date_range(now)?;
                let step = self.floor_step(at, now)?;
                (at >= start && at <= end && self.date_at(step, now)? == at).then(|| format.format(at))
            }
            Domain::Injected => text_of(literal),
        }
    }

    /// A date literal: a date/timestamp value, or text in the format.
    fn date_of(&self, literal: &ScalarValue) -> Option<NaiveDateTime> {
        let Domain::Date { format, .. } = self else { return None };
        match literal {
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
                format.parse(s)
            }
            other => {
                let ts = other.cast_to(&DataType::Timestamp(TimeUnit::Microsecond, None)).ok()?;
                let ScalarValue::TimestampMicrosecond(Some(us), _) = ts else { return None };
                chrono::DateTime::from_timestamp_micros(us).map(|d| d.naive_utc())
            }
        }
    }

    /// The first and last step numbers of a date domain within optional
    /// bounds (None when the range is empty).
    fn date_steps(
        &self,
        lo: Option<NaiveDateTime>,
        hi: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Option<(i64, i64)> {
        let (start, end) = self.date_range(now)?;
        let upper = hi.map_or(end, |h| h.min(end));
        if upper < start {
            return None;
        }
        let last = self.floor_step(upper, now)?;
        let first = match lo {
            Some(lo) if lo > start => {
                let s = self.floor_step(lo, now)?;
                if self.date_at(s, now)? < lo {
                    s + 1
                } else {
                    s
                }
            }
            _ => 0,
        };
        (first <= last).then_some((first, last))
    }

    /// A date domain's range at `now` (NOW truncated to the format, so
    /// the grid lines up with the folder names).
    fn date_range(&self, now: NaiveDateTime) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let Domain::Date { start, end, format, .. } = self else { return None };
        Some((start.at(now, format)?, end.at(now, format)?))
    }

    /// The step number at or before `at` (counted from the range start).
    fn floor_step(&self, at: NaiveDateTime, now: NaiveDateTime) -> Option<i64> {
        let mut s = self.date_step_of(at, now)?;
        while s > 0 && self.date_at(s, now)? > at {
            s -= 1;
        }
        Some(s)
    }

    /// Approximately which step `at` is (exact for fixed units; for months
    /// and years the step whose month matches).
    fn date_step_of(&self, at: NaiveDateTime, now: NaiveDateTime) -> Option<i64> {
        let Domain::Date { interval, unit, .. } = self else { return None };
        let (start, _) = self.date_range(now)?;
        match unit.fixed(*interval) {
            Some(step) => {
                let step = step.num_seconds();
                Some((at - start).num_seconds().div_euclid(step))
            }
            None => {
                let months = (at.year() as i64 - start.year() as i64) * 12 + (at.month() as i64 - start.month() as i64);
                Some(months.div_euclid(interval * unit.months()))
            }
        }
    }

    fn date_at(&self, step: i64, now: NaiveDateTime) -> Option<NaiveDateTime> {
        let Domain::Date { interval, unit, .. } = self else { return None };
        unit.add(self.date_range(now)?.0, step.checked_mul(*interval)?)
    }

    /// How many values lie in the domain between optional bounds.
    fn size_between(&self, lo: Option<&ScalarValue>, hi: Option<&ScalarValue>, now: NaiveDateTime) -> Option<u128> {
        match self {
            Domain::Enum(values) => Some(values.len() as u128),
            Domain::Integer { .. } => {
                let (first, last) = self.integer_steps(lo, hi)?;
                Some((last - first + 1) as u128)
            }
            Domain::Date { .. } => {
                let lo = lo.and_then(|v| self.date_of(v));
                let hi = hi.and_then(|v| self.date_of(v));
                self.date_steps(lo, hi, now).map(|(a, b)| (b - a + 1) as u128).or(Some(0))
            }
            Domain::Injected => None,
        }
    }

    fn size(&self, now: NaiveDateTime) -> Option<u128> {
        self.size_between(None, None, now)
    }

    /// The first and last step of an integer domain within bounds.
    fn integer_steps(&self, lo: Option<&ScalarValue>, hi: Option<&ScalarValue>) -> Option<(i64, i64)> {
        let Domain::Integer { lo: start, hi: end, interval, .. } = self else { return None };
        let last_all = (end - start) / interval;
        let first = match lo.and_then(integer_of) {
            Some(b) if b > *start => (b - start + interval - 1) / interval,
            _ => 0,
        };
        let last = match hi.and_then(integer_of) {
            Some(b) if b < *start => return None,
            Some(b) => ((b - start) / interval).min(last_all),
            None => last_all,
        };
        (first <= last).then_some((first, last))
    }

    /// Every value of the domain between optional bounds, as text.
    fn enumerate(&self, lo: Option<&ScalarValue>, hi: Option<&ScalarValue>, now: NaiveDateTime) -> Vec<String> {
        match self {
            Domain::Enum(values) => values.clone(),
            Domain::Integer { lo: start, interval, digits, .. } => match self.integer_steps(lo, hi) {
                Some((a, b)) => (a..=b).map(|s| pad(start + s * interval, *digits)).collect(),
                None => Vec::new(),
            },
            Domain::Date { format, .. } => {
                let lo = lo.and_then(|v| self.date_of(v));
                let hi = hi.and_then(|v| self.date_of(v));
                match self.date_steps(lo, hi, now) {
                    Some((a, b)) => (a..=b).filter_map(|s| self.date_at(s, now)).map(|t| format.format(t)).collect(),
                    None => Vec::new(),
                }
            }
            Domain::Injected => Vec::new(),
        }
    }
}

impl Key {
    /// A projected value as the key's type: dates of a `date` or
    /// `timestamp` key from the parsed date, the rest cast from text.
    fn typed(&self, text: &str) -> Option<ScalarValue> {
        if let (Domain::Date { format, .. }, DataType::Date32 | DataType::Timestamp(..)) =
            (&self.domain, &self.data_type)
        {
            let at = format.parse(text)?;
            let micros = at.and_utc().timestamp_micros();
            return ScalarValue::TimestampMicrosecond(Some(micros), None).cast_to(&self.data_type).ok();
        }
        ScalarValue::Utf8(Some(text.to_string())).cast_to(&self.data_type).ok()
    }
}

fn pad(n: i64, digits: usize) -> String {
    if n < 0 {
        format!("-{:0digits$}", n.unsigned_abs())
    } else {
        format!("{n:0digits$}")
    }
}

fn text_of(v: &ScalarValue) -> Option<String> {
    if v.is_null() {
        return None;
    }
    match v {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Some(s.clone())
        }
        other => Some(other.to_string()),
    }
}

fn integer_of(v: &ScalarValue) -> Option<i64> {
    match v.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(Some(n)) => Some(n),
        _ => None,
    }
}

/// The literals a conjunct pins a key to (`key = v`, `key IN (...)`);
/// None when no condition pins it.
fn pinned_values(key: &str, filters: &[&Expr]) -> Option<Vec<ScalarValue>> {
    let mut pinned: Option<Vec<ScalarValue>> = None;
    for values in filters.iter().filter_map(|f| equality_values(f, key)) {
        // Two conditions pinning the same key: the values both allow.
        pinned = Some(match pinned {
            None => values,
            Some(before) => before.into_iter().filter(|v| values.contains(v)).collect(),
        });
    }
    pinned
}

/// The values a condition allows for column `key`, when it is `key = v`,
/// `key IN (v, ...)`, or an OR of those (DataFusion turns short IN lists
/// into ORs); None for any other condition.
pub fn equality_values(filter: &Expr, key: &str) -> Option<Vec<ScalarValue>> {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Eq, right }) => match (left.as_ref(), right.as_ref()) {
            (c, Expr::Literal(v, _)) | (Expr::Literal(v, _), c) if is_column(c, key) => Some(vec![v.clone()]),
            _ => None,
        },
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
            let mut values = equality_values(left, key)?;
            values.extend(equality_values(right, key)?);
            Some(values)
        }
        Expr::InList(list) if !list.negated && is_column(&list.expr, key) => list
            .list
            .iter()
            .map(|e| match e {
                Expr::Literal(v, _) => Some(v.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// The literal bounds conjuncts put on a key (inclusive: a superset).
pub fn bounds(key: &str, filters: &[&Expr]) -> (Option<ScalarValue>, Option<ScalarValue>) {
    let (mut lo, mut hi) = (None, None);
    for filter in filters {
        match filter {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (op, value) = match (left.as_ref(), right.as_ref()) {
                    (c, Expr::Literal(v, _)) if is_column(c, key) => (*op, v),
                    (Expr::Literal(v, _), c) if is_column(c, key) => match op.swap() {
                        Some(op) => (op, v),
                        None => continue,
                    },
                    _ => continue,
                };
                match op {
                    Operator::Gt | Operator::GtEq => lo = Some(value.clone()),
                    Operator::Lt | Operator::LtEq => hi = Some(value.clone()),
                    _ => {}
                }
            }
            Expr::Between(Between { expr, negated: false, low, high }) if is_column(expr, key) => {
                if let (Expr::Literal(a, _), Expr::Literal(b, _)) = (low.as_ref(), high.as_ref()) {
                    lo = Some(a.clone());
                    hi = Some(b.clone());
                }
            }
            _ => {}
        }
    }
    (lo, hi)
}

fn is_column(e: &Expr, key: &str) -> bool {
    matches!(e, Expr::Column(c) if c.name == key)
}
