//! PostgreSQL's text output of each kind, as a PostgreSQL 16 server with
//! `DateStyle = ISO, MDY`, `IntervalStyle = postgres` and
//! `extra_float_digits = 1` writes it. A timestamptz is shown in the zone
//! its column carries (the session's `TimeZone`, set by the engine).

use super::values::Values;
use super::Kind;
use bytes::{BufMut, BytesMut};
use chrono::{Datelike, NaiveDate, Timelike};
use datafusion::arrow::array::timezone::Tz;
use std::fmt::Write;

/// Write the text form of a non-NULL value.
pub fn write(values: &Values, row: usize, out: &mut BytesMut) {
    // Writing to a BytesMut cannot fail.
    let _ = write_value(values, row, out);
}

fn write_value(values: &Values, row: usize, out: &mut BytesMut) -> std::fmt::Result {
    match values {
        Values::Bool(a) => out.put_u8(if a.value(row) { b't' } else { b'f' }),
        Values::Int2(a) => write!(out, "{}", a.value(row))?,
        Values::Int4(a) => write!(out, "{}", a.value(row))?,
        Values::Int8(a) => write!(out, "{}", a.value(row))?,
        Values::Oid(a) => write!(out, "{}", a.value(row))?,
        Values::Float4(a) => out.put_slice(pg_float(a.value(row), 6).as_bytes()),
        Values::Float8(a) => out.put_slice(pg_float(a.value(row), 15).as_bytes()),
        Values::Numeric(a) | Values::Text(a) | Values::Json(a) => out.put_slice(a.value(row).as_bytes()),
        Values::Bytea(a) => {
            out.put_slice(b"\\x");
            for b in a.value(row) {
                write!(out, "{b:02x}")?;
            }
        }
        Values::Date(a) => out.put_slice(pg_date(a.value(row)).as_bytes()),
        Values::Time(a) => out.put_slice(pg_time(a.value(row)).as_bytes()),
        Values::Timestamp(a) => out.put_slice(pg_timestamp(a.value(row)).as_bytes()),
        Values::TimestampTz(a, zone) => {
            let instant = a.value(row);
            let offset = zone.as_ref().map_or(0, |tz| utc_offset(instant, tz));
            let text = pg_timestamp(instant + i64::from(offset) * 1_000_000);
            let offset = pg_offset(offset);
            // The offset goes before an era suffix: `0044-03-15 00:00:00+00 BC`.
            match text.strip_suffix(" BC") {
                Some(t) => write!(out, "{t}{offset} BC")?,
                None => write!(out, "{text}{offset}")?,
            }
        }
        Values::Interval(a) => {
            let v = a.value(row);
            out.put_slice(pg_interval(v.months, v.days, v.nanoseconds / 1000).as_bytes())
        }
        Values::Uuid(a) => {
            for (i, b) in a.value(row).iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    out.put_u8(b'-');
                }
                write!(out, "{b:02x}")?;
            }
        }
        Values::Array(lists, elements, kind) => write_array(lists.value_offsets(), row, elements, kind, out)?,
    }
    Ok(())
}

/// `{1,2,NULL}`: elements in their text form, double-quoted where
/// PostgreSQL's array_out quotes them.
fn write_array(offsets: &[i32], row: usize, elements: &Values, kind: &Kind, out: &mut BytesMut) -> std::fmt::Result {
    let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
    out.put_u8(b'{');
    let mut element = BytesMut::new();
    for i in start..end {
        if i > start {
            out.put_u8(b',');
        }
        if elements.is_null(i) {
            out.put_slice(b"NULL");
            continue;
        }
        element.clear();
        write_value(elements, i, &mut element)?;
        if needs_quotes(&element, kind) {
            out.put_u8(b'"');
            for &b in element.iter() {
                if b == b'"' || b == b'\\' {
                    out.put_u8(b'\\');
                }
                out.put_u8(b);
            }
            out.put_u8(b'"');
        } else {
            out.put_slice(&element);
        }
    }
    out.put_u8(b'}');
    Ok(())
}

fn needs_quotes(element: &[u8], kind: &Kind) -> bool {
    if matches!(
        kind,
        Kind::Int2 | Kind::Int4 | Kind::Int8 | Kind::Oid | Kind::Bool | Kind::Numeric | Kind::Float4 | Kind::Float8
    ) {
        return false;
    }
    element.is_empty()
        || element.eq_ignore_ascii_case(b"NULL")
        || element.iter().any(|b| matches!(b, b'"' | b'\\' | b'{' | b'}' | b',') || b.is_ascii_whitespace())
}

/// `.ffffff` with trailing zeros removed, or nothing for whole seconds.
fn fraction(micros: u32) -> String {
    if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}").trim_end_matches('0').to_string()
    }
}

/// A year as PostgreSQL writes it: four digits, and ` BC` for year 0 and
/// before (there is no year 0: 1 BC is year 0 in chrono).
fn era(year: i32) -> (i32, &'static str) {
    if year <= 0 {
        (1 - year, " BC")
    } else {
        (year, "")
    }
}

/// A date (days since 1970-01-01).
fn pg_date(days: i32) -> String {
    match NaiveDate::from_yo_opt(1970, 1).and_then(|d| d.checked_add_signed(chrono::Duration::days(days.into()))) {
        Some(d) => {
            let (year, bc) = era(d.year());
            format!("{year:04}-{:02}-{:02}{bc}", d.month(), d.day())
        }
        None => days.to_string(),
    }
}

/// A timestamp (microseconds since the epoch) as PostgreSQL prints it.
pub fn pg_timestamp(micros: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => {
            let t = t.naive_utc();
            let (year, bc) = era(t.year());
            format!(
                "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}{}{bc}",
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                fraction(t.nanosecond() / 1000)
            )
        }
        None => micros.to_string(),
    }
}

/// Seconds east of UTC in `tz` at an instant (microseconds since the epoch).
fn utc_offset(micros: i64, tz: &Tz) -> i32 {
    use chrono::{Offset, TimeZone};
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc(),
        None => 0,
    }
}

/// An offset as PostgreSQL writes it: `+00`, `-05`, `+05:30`, `+00:19:32`.
fn pg_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    match (m, sec) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{sec:02}"),
    }
}

fn pg_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u32;
    format!("{:02}:{:02}:{:02}{}", secs / 3600, (secs / 60) % 60, secs % 60, fraction(frac))
}

/// An interval in IntervalStyle `postgres`: `1 year 2 mons -3 days
/// +04:05:06.5`. A sign is written on a part when it differs from the
/// part before.
fn pg_interval(months: i32, days: i32, micros: i64) -> String {
    let mut out = String::new();
    let mut negative_before = false;
    for (value, unit) in [(months / 12, "year"), (months % 12, "mon"), (days, "day")] {
        if value == 0 {
            continue;
        }
        let space = if out.is_empty() { "" } else { " " };
        let plus = if negative_before && value > 0 { "+" } else { "" };
        let plural = if value != 1 { "s" } else { "" };
        let _ = write!(out, "{space}{plus}{value} {unit}{plural}");
        negative_before = value < 0;
    }
    if out.is_empty() || micros != 0 {
        let space = if out.is_empty() { "" } else { " " };
        let sign = if micros < 0 {
            "-"
        } else if negative_before {
            "+"
        } else {
            ""
        };
        let abs = micros.unsigned_abs();
        let secs = abs / 1_000_000;
        let _ = write!(
            out,
            "{space}{sign}{:02}:{:02}:{:02}{}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60,
            fraction((abs % 1_000_000) as u32)
        );
    }
    out
}

/// PostgreSQL's float output: shortest digits that round-trip; plain
/// notation for decimal exponents in [-4, `max_exp`), else `1.5e+20`.
pub fn pg_float<T>(value: T, max_exp: i32) -> String
where
    T: Copy + std::fmt::Display + std::fmt::LowerExp + Into<f64>,
{
    let v: f64 = value.into();
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..max_exp).contains(&exp) {
        format!("{value}")
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}
