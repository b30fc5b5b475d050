//! Java date patterns as Athena's partition projection takes them
//! (`projection.<key>.format`): `yyyy`, `yy`, `MM`/`M`, `dd`/`d`, `HH`/`H`,
//! `mm`, `ss` and quoted text; formatting and strict parsing. Pure
//! computation.

use super::projection::Unit;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// A Java date pattern, as Athena's `projection.<key>.format` takes it.
#[derive(Debug, Clone)]
pub struct DateFormat {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// A numeric field and its width (1: unpadded).
    Field(Field, usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Year,
    Year2,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl DateFormat {
    pub fn new(pattern: &str) -> std::result::Result<DateFormat, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut parts = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let end = chars[i + 1..].iter().position(|&q| q == '\'').ok_or("a quote is not closed")?;
                parts.push(Part::Text(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                parts.push(Part::Text(c.to_string()));
                i += 1;
                continue;
            }
            let run = chars[i..].iter().take_while(|&&x| x == c).count();
            let field = match (c, run) {
                ('y', 4) | ('u', 4) => Field::Year,
                ('y', 2) | ('u', 2) => Field::Year2,
                ('M', 1 | 2) => Field::Month,
                ('d', 1 | 2) => Field::Day,
                ('H', 1 | 2) => Field::Hour,
                ('m', 1 | 2) => Field::Minute,
                ('s', 1 | 2) => Field::Second,
                _ => {
                    return Err(format!(
                        "{} is not supported (use yyyy, yy, MM, dd, HH, mm, ss and quoted text)",
                        std::iter::repeat_n(c, run).collect::<String>()
                    ))
                }
            };
            parts.push(Part::Field(field, if field == Field::Year { 4 } else { run.max(1) }));
            i += run;
        }
        if !parts.iter().any(|p| matches!(p, Part::Field(Field::Year | Field::Year2, _))) {
            return Err("it has no year (yyyy)".into());
        }
        Ok(DateFormat { parts })
    }

    /// The finest unit the format shows (the default interval unit).
    pub(super) fn finest(&self) -> Unit {
        let mut unit = Unit::Years;
        for part in &self.parts {
            if let Part::Field(f, _) = part {
                let u = match f {
                    Field::Year | Field::Year2 => Unit::Years,
                    Field::Month => Unit::Months,
                    Field::Day => Unit::Days,
                    Field::Hour => Unit::Hours,
                    Field::Minute => Unit::Minutes,
                    Field::Second => Unit::Seconds,
                };
                unit = unit.min(u);
            }
        }
        unit
    }

    pub fn format(&self, at: NaiveDateTime) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(field, width) => {
                    let n = match field {
                        Field::Year => at.year() as i64,
                        Field::Year2 => (at.year() % 100) as i64,
                        Field::Month => at.month() as i64,
                        Field::Day => at.day() as i64,
                        Field::Hour => at.hour() as i64,
                        Field::Minute => at.minute() as i64,
                        Field::Second => at.second() as i64,
                    };
                    let width = if *field == Field::Year2 { 2 } else { *width };
                    out.push_str(&format!("{n:0width$}"));
                }
            }
        }
        out
    }

    /// Text in this format as a date-time (fields it lacks start at their
    /// first value); None unless the whole text matches.
    pub fn parse(&self, text: &str) -> Option<NaiveDateTime> {
        let (mut year, mut month, mut day, mut hour, mut minute, mut second) = (1970i64, 1i64, 1i64, 0i64, 0i64, 0i64);
        let mut rest = text;
        for part in &self.parts {
            match part {
                Part::Text(t) => rest = rest.strip_prefix(t.as_str())?,
                Part::Field(field, width) => {
                    let max = if *width == 1 { 2 } else { *width };
                    let digits = rest.chars().take(max).take_while(char::is_ascii_digit).count();
                    if digits == 0 || (*width > 1 && digits != *width) {
                        return None;
                    }
                    let n: i64 = rest[..digits].parse().ok()?;
                    rest = &rest[digits..];
                    match field {
                        Field::Year => year = n,
                        Field::Year2 => year = 2000 + n,
                        Field::Month => month = n,
                        Field::Day => day = n,
                        Field::Hour => hour = n,
                        Field::Minute => minute = n,
                        Field::Second => second = n,
                    }
                }
            }
        }
        if !rest.is_empty() {
            return None;
        }
        NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)?.and_hms_opt(
            hour as u32,
            minute as u32,
            second as u32,
        )
    }
}
