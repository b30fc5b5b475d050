//! PostgreSQL's text output of each kind, as a PostgreSQL 16 server with
//! `DateStyle = ISO, MDY`, `IntervalStyle = postgres` and
//! `extra_float_digits = 1` writes it. A timestamptz is shown in the zone
//! its column carries (the session's `TimeZone`, set by the engine).

use super::values::Values;
use super::Kind;
use bytes::{BufMut, BytesMut};
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
        Values::Int2(a) => out.put_slice(itoa::Buffer::new().format(a.value(row)).as_bytes()),
        Values::Int4(a) => out.put_slice(itoa::Buffer::new().format(a.value(row)).as_bytes()),
        Values::Int8(a) => out.put_slice(itoa::Buffer::new().format(a.value(row)).as_bytes()),
        Values::Oid(a) => out.put_slice(itoa::Buffer::new().format(a.value(row)).as_bytes()),
        Values::Float4(a) => put_float(ryu::Buffer::new().format(a.value(row)), 6, out),
        Values::Float8(a) => put_float(ryu::Buffer::new().format(a.value(row)), 15, out),
        Values::Numeric(a) | Values::Json(a) => out.put_slice(a.value(row).as_bytes()),
        Values::Text(a) => out.put_slice(a.value(row).as_bytes()),
        Values::Bytea(a) => {
            out.put_slice(b"\\x");
            for b in a.value(row) {
                write!(out, "{b:02x}")?;
            }
        }
        Values::Date(a) => write_date(a.value(row), out),
        Values::Time(a) => out.put_slice(pg_time(a.value(row)).as_bytes()),
        Values::Timestamp(a) => write_timestamp(a.value(row), None, out),
        Values::TimestampTz(a, zone) => {
            let instant = a.value(row);
            let offset = zone.as_ref().map_or(0, |tz| utc_offset(instant, tz));
            write_timestamp(instant.saturating_add(i64::from(offset) * 1_000_000), Some(offset), out)
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

/// [`put_fraction`] as a string (times and intervals).
fn fraction(micros: u32) -> String {
    let mut out = BytesMut::new();
    put_fraction(micros, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A year as PostgreSQL writes it: four digits, and ` BC` for year 0 and
/// before (there is no year 0: 1 BC is year 0 in chrono).
fn era(year: i64) -> (i64, &'static str) {
    if year <= 0 {
        (1 - year, " BC")
    } else {
        (year, "")
    }
}

/// Days from 0000-03-01 (the proleptic Gregorian calendar's year 0, as
/// chrono counts it) to 1970-01-01.
const DAYS_TO_EPOCH: i64 = 719_468;

/// Year, month and day of a day count from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact for any `i32` count).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + DAYS_TO_EPOCH;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `n` as at least two digits.
fn put_2(n: u32, out: &mut BytesMut) {
    if n < 10 {
        out.put_u8(b'0');
    }
    out.put_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A year as at least four digits (after [`era`]).
fn put_year(year: i64, out: &mut BytesMut) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(year);
    for _ in digits.len()..4 {
        out.put_u8(b'0');
    }
    out.put_slice(digits.as_bytes());
}

/// `yyyy-mm-dd`, and what follows the date before the era suffix.
fn put_date(days: i64, out: &mut BytesMut) -> &'static str {
    let (year, month, day) = civil(days);
    if (1000..=9999).contains(&year) {
        // The usual case in one write: yyyy-mm-dd.
        let digit = |n: u32| b'0' + n as u8;
        let y = year as u32;
        out.put_slice(&[
            digit(y / 1000),
            digit(y / 100 % 10),
            digit(y / 10 % 10),
            digit(y % 10),
            b'-',
            digit(month / 10),
            digit(month % 10),
            b'-',
            digit(day / 10),
            digit(day % 10),
        ]);
        return "";
    }
    let (year, bc) = era(year);
    put_year(year, out);
    out.put_u8(b'-');
    put_2(month, out);
    out.put_u8(b'-');
    put_2(day, out);
    bc
}

/// A date (days since 1970-01-01).
fn write_date(days: i32, out: &mut BytesMut) {
    let bc = put_date(days.into(), out);
    out.put_slice(bc.as_bytes());
}

/// A timestamp (microseconds since the epoch) as PostgreSQL prints it;
/// with the UTC offset (seconds east) it was shifted by, a timestamptz.
/// The offset goes before an era suffix: `0044-03-15 00:00:00+00 BC`.
fn write_timestamp(micros: i64, offset: Option<i32>, out: &mut BytesMut) {
    let (days, of_day) = (micros.div_euclid(86_400_000_000), micros.rem_euclid(86_400_000_000));
    let bc = put_date(days, out);
    out.put_u8(b' ');
    put_time_of_day(of_day, out);
    if let Some(offset) = offset {
        put_offset(offset, out);
    }
    out.put_slice(bc.as_bytes());
}

/// `hh:mm:ss[.ffffff]` of microseconds into a day.
fn put_time_of_day(micros: i64, out: &mut BytesMut) {
    let secs = micros / 1_000_000;
    put_2((secs / 3600) as u32, out);
    out.put_u8(b':');
    put_2(((secs / 60) % 60) as u32, out);
    out.put_u8(b':');
    put_2((secs % 60) as u32, out);
    put_fraction((micros % 1_000_000) as u32, out);
}

/// `.ffffff` with trailing zeros removed, or nothing for whole seconds.
fn put_fraction(micros: u32, out: &mut BytesMut) {
    if micros == 0 {
        return;
    }
    let mut digits = [b'0'; 6];
    let mut n = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let len = 6 - digits.iter().rev().take_while(|&&d| d == b'0').count();
    out.put_u8(b'.');
    out.put_slice(&digits[..len]);
}

/// [`write_timestamp`] as a string.
pub fn pg_timestamp(micros: i64) -> String {
    let mut out = BytesMut::new();
    write_timestamp(micros, None, &mut out);
    String::from_utf8_lossy(&out).into_owned()
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
fn put_offset(seconds: i32, out: &mut BytesMut) {
    out.put_u8(if seconds < 0 { b'-' } else { b'+' });
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    put_2(h, out);
    if m != 0 || sec != 0 {
        out.put_u8(b':');
        put_2(m, out);
    }
    if sec != 0 {
        out.put_u8(b':');
        put_2(sec, out);
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

/// A float's shortest round-trip digits, read from ryu's output (`-1.5e20`,
/// `0.001`, `123.0`): the value is `0.d1d2... × 10^point`, with the
/// digits free of leading and trailing zeros. NaN, the infinities and
/// zero are their own cases.
#[derive(Debug)]
enum Shortest {
    Finite { negative: bool, digits: [u8; 20], len: usize, point: i32 },
    Zero { negative: bool },
    NaN,
    Infinity { negative: bool },
}

impl Shortest {
    fn of(text: &str) -> Shortest {
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        match text {
            "NaN" => return Shortest::NaN,
            "inf" => return Shortest::Infinity { negative },
            _ => {}
        }
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
            None => (text, 0),
        };
        let (digits, len, point) = Self::digits(mantissa);
        if len == 0 {
            return Shortest::Zero { negative };
        }
        Shortest::Finite { negative, digits, len, point: point + exponent }
    }

    /// The significant digits of `1234.5` or `0.00012` and the place of
    /// the decimal point relative to the first of them.
    fn digits(mantissa: &str) -> ([u8; 20], usize, i32) {
        let mut digits = [0u8; 20];
        let mut len = 0;
        let mut point = 0i32;
        let mut before_point = true;
        for b in mantissa.bytes() {
            match b {
                b'.' => before_point = false,
                b'0' if len == 0 => {
                    if !before_point {
                        point -= 1;
                    }
                }
                _ => {
                    if len < digits.len() {
                        digits[len] = b;
                        len += 1;
                    }
                    if before_point {
                        point += 1;
                    }
                }
            }
        }
        // Zeros within the integer part count toward the point but are not
        // significant when they end the digits.
        while len > 0 && digits[len - 1] == b'0' {
            len -= 1;
        }
        (digits, len, point)
    }
}

/// [`write_float`] of ryu's text of a value. Where ryu wrote plain digits
/// and PostgreSQL writes them plain too (the decimal point within
/// `max_exp` digits of the start, at most three zeros after `0.`), they
/// are the same but for ryu's `.0` on whole numbers.
fn put_float(ryu: &str, max_exp: i32, out: &mut BytesMut) {
    let bytes = ryu.as_bytes();
    let unsigned = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let plain = match unsigned {
        [b'0', b'.', rest @ ..] => rest.iter().take_while(|&&b| b == b'0').count() <= 3 && rest != b"0",
        _ => unsigned.iter().position(|&b| b == b'.').is_some_and(|point| point as i32 <= max_exp),
    };
    if plain && !bytes.contains(&b'e') {
        out.put_slice(ryu.strip_suffix(".0").unwrap_or(ryu).as_bytes());
    } else {
        write_float(Shortest::of(ryu), max_exp, out);
    }
}

/// PostgreSQL's float output: shortest digits that round-trip; plain
/// notation for decimal exponents in [-4, `max_exp`), else `1.5e+20`.
fn write_float(value: Shortest, max_exp: i32, out: &mut BytesMut) {
    let (negative, digits, point) = match &value {
        Shortest::NaN => return out.put_slice(b"NaN"),
        Shortest::Infinity { negative } => return out.put_slice(if *negative { b"-Infinity" } else { b"Infinity" }),
        Shortest::Zero { negative } => return out.put_slice(if *negative { b"-0" } else { b"0" }),
        Shortest::Finite { negative, digits, len, point } => (*negative, &digits[..*len], *point),
    };
    if negative {
        out.put_u8(b'-');
    }
    // Scientific exponent: the value is d.ddd × 10^exp.
    let exp = point - 1;
    if (-4..max_exp).contains(&exp) {
        if point <= 0 {
            out.put_slice(b"0.");
            out.put_bytes(b'0', point.unsigned_abs() as usize);
            out.put_slice(digits);
        } else {
            let whole = point as usize;
            if digits.len() <= whole {
                out.put_slice(digits);
                out.put_bytes(b'0', whole - digits.len());
            } else {
                out.put_slice(&digits[..whole]);
                out.put_u8(b'.');
                out.put_slice(&digits[whole..]);
            }
        }
    } else {
        out.put_u8(digits[0]);
        if digits.len() > 1 {
            out.put_u8(b'.');
            out.put_slice(&digits[1..]);
        }
        out.put_slice(if exp < 0 { b"e-" } else { b"e+" });
        put_2(exp.unsigned_abs(), out);
    }
}

/// [`write_float`] of an `f32` (up to 6 plain digits, `max_exp` 6) or an
/// `f64` (15) as a string.
pub fn pg_float<T: ryu::Float>(value: T, max_exp: i32) -> String {
    let mut out = BytesMut::new();
    write_float(Shortest::of(ryu::Buffer::new().format(value)), max_exp, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
