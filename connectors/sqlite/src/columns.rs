//! A SQLite column's type, from its declared type by SQLite's affinity
//! rules (<https://sqlite.org/datatype3.html>, 3.1), made exact where the
//! declared name says more:
//!
//! - a name containing INT: bigint;
//! - CHAR, CLOB or TEXT: text;
//! - BLOB: bytea;
//! - REAL, FLOA or DOUB: double precision;
//! - otherwise (NUMERIC affinity): `DECIMAL(p,s)`/`NUMERIC(p,s)` as
//!   numeric(p,s) up to precision 38 (unconstrained as numeric(38,10)),
//!   BOOLEAN/BOOL as boolean (stored 0 or 1), DATE as date (stored as
//!   `YYYY-MM-DD` text), DATETIME/TIMESTAMP as timestamp (ISO text);
//! - no declared type: text (integers as their digits; a real as the
//!   shortest text that reads back as it).
//!
//! SQLite lets any column hold any value: a value that is not of its
//! column's type (text in a bigint column, 2.5 in an integer one) is an
//! error naming the column when read (`scan`), never converted loosely.

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};

/// How a column's values become Arrow values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Int,
    Text,
    Blob,
    Real,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Bool,
    Date,
    Timestamp,
    /// No declared type: text.
    Any,
}

/// A column of the table.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

impl Column {
    pub fn field(&self) -> Field {
        let data_type = match self.kind {
            Kind::Int => DataType::Int64,
            Kind::Text | Kind::Any => DataType::Utf8,
            Kind::Blob => DataType::Binary,
            Kind::Real => DataType::Float64,
            Kind::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
            Kind::Bool => DataType::Boolean,
            Kind::Date => DataType::Date32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        };
        Field::new(&self.name, data_type, true)
    }
}

/// The column `name` declared `declared`; None if glaux cannot read it.
pub fn column(name: &str, declared: &str) -> Option<Column> {
    let upper = declared.to_ascii_uppercase();
    let kind = if upper.trim().is_empty() {
        Kind::Any
    } else if upper.contains("INT") {
        Kind::Int
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|w| upper.contains(w)) {
        Kind::Text
    } else if upper.contains("BLOB") {
        Kind::Blob
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|w| upper.contains(w)) {
        Kind::Real
    } else {
        let base = upper.split('(').next().unwrap_or_default().trim();
        match base {
            "DECIMAL" | "NUMERIC" => {
                let (precision, scale) = precision_scale(&upper)?;
                Kind::Decimal { precision, scale }
            }
            "BOOLEAN" | "BOOL" => Kind::Bool,
            "DATE" => Kind::Date,
            "DATETIME" | "TIMESTAMP" => Kind::Timestamp,
            _ => return None,
        }
    };
    Some(Column { name: name.to_string(), kind })
}

/// `DECIMAL(p,s)` as (p, s); (38, 10) without them; None past 38 digits.
fn precision_scale(declared: &str) -> Option<(u8, i8)> {
    let Some(inside) = declared.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map(|(inside, _)| inside)
    else {
        return Some((38, 10));
    };
    let mut parts = inside.split(',').map(|p| p.trim().parse::<u8>());
    let precision = parts.next()?.ok()?;
    let scale = match parts.next() {
        Some(scale) => scale.ok()?,
        None => 0,
    };
    ((1..=38).contains(&precision) && scale <= precision).then_some((precision, scale as i8))
}

/// `name` as a SQLite identifier (double quotes doubled).
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
