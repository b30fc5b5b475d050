//! A MySQL or MariaDB column's type, from information_schema, mapped
//! exactly:
//!
//! - `tinyint(1)` (MySQL's boolean) as boolean: a value other than 0 or
//!   1 is an error;
//! - tinyint, smallint, mediumint, int, bigint as the smallest integer
//!   type that holds every value, unsigned ones included (`bigint
//!   unsigned` as numeric(20,0)); year as smallint;
//! - decimal(p,s) as numeric(p,s) up to precision 38 (past it the column
//!   is left out); float as real, double as double precision;
//! - char, varchar, the text types, enum and set as text; json as json;
//!   binary, varbinary and the blob types as bytea;
//! - date as date, datetime as timestamp, timestamp as timestamp with
//!   time zone (read in UTC), time as time (a value below 0 or past 24
//!   hours, which MySQL allows, is an error);
//! - anything else (bit, geometry, vector, ...) leaves the column out.

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use glaux_connector::types::{EXTENSION_KEY, JSON_EXTENSION};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    Int16,
    Int32,
    Int64,
    Decimal { precision: u8, scale: i8 },
    Float32,
    Float64,
    Text,
    Json,
    Binary,
    Date,
    Time,
    Datetime,
    Timestamp,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

impl Column {
    pub fn field(&self) -> Field {
        let data_type = match self.kind {
            Kind::Bool => DataType::Boolean,
            Kind::Int16 => DataType::Int16,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
            Kind::Float32 => DataType::Float32,
            Kind::Float64 => DataType::Float64,
            Kind::Text | Kind::Json => DataType::Utf8,
            Kind::Binary => DataType::Binary,
            Kind::Date => DataType::Date32,
            Kind::Time => DataType::Time64(TimeUnit::Microsecond),
            Kind::Datetime => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
        };
        let field = Field::new(&self.name, data_type, true);
        if self.kind == Kind::Json {
            return field.with_metadata(HashMap::from([(EXTENSION_KEY.to_string(), JSON_EXTENSION.to_string())]));
        }
        field
    }
}

/// The columns of `schema.table`: name, data type, full column type,
/// numeric precision and scale.
pub const COLUMNS: &str = "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE \
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";

/// A row of [`COLUMNS`].
pub type Described = (String, String, String, Option<u64>, Option<u64>);

/// The column described, or None if glaux cannot read its type.
pub fn column(described: &Described) -> Option<Column> {
    let (name, data_type, column_type, precision, scale) = described;
    let column_type = column_type.to_ascii_lowercase();
    let unsigned = column_type.contains("unsigned");
    let kind = match data_type.to_ascii_lowercase().as_str() {
        "tinyint" if column_type.starts_with("tinyint(1)") && !unsigned => Kind::Bool,
        "tinyint" | "year" => Kind::Int16,
        "smallint" if unsigned => Kind::Int32,
        "smallint" => Kind::Int16,
        "mediumint" => Kind::Int32,
        "int" | "integer" if unsigned => Kind::Int64,
        "int" | "integer" => Kind::Int32,
        "bigint" if unsigned => Kind::Decimal { precision: 20, scale: 0 },
        "bigint" => Kind::Int64,
        "decimal" | "numeric" => {
            let (precision, scale) = ((*precision)?, scale.unwrap_or(0));
            if !(1..=38).contains(&precision) || scale > precision {
                return None;
            }
            Kind::Decimal { precision: precision as u8, scale: scale as i8 }
        }
        "float" => Kind::Float32,
        "double" | "real" => Kind::Float64,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => Kind::Text,
        "json" => Kind::Json,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Kind::Binary,
        "date" => Kind::Date,
        "time" => Kind::Time,
        "datetime" => Kind::Datetime,
        "timestamp" => Kind::Timestamp,
        _ => return None,
    };
    Some(Column { name: name.clone(), kind })
}

/// A passthrough query's column as the server describes its prepared
/// statement, in the form of a row of [`COLUMNS`]: the protocol's type,
/// `(1)` for a one-digit tinyint, `unsigned`, a decimal's precision
/// (its length less the point and the sign) and scale, and binary
/// (charset 63) strings as varbinary and blob.
pub fn describe(column: &mysql_async::Column) -> Described {
    use mysql_async::consts::{ColumnFlags, ColumnType as T};
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = column.character_set() == 63;
    let (length, scale) = (u64::from(column.column_length()), u64::from(column.decimals()));
    let data_type = match column.column_type() {
        T::MYSQL_TYPE_TINY => "tinyint",
        T::MYSQL_TYPE_SHORT => "smallint",
        T::MYSQL_TYPE_INT24 => "mediumint",
        T::MYSQL_TYPE_LONG => "int",
        T::MYSQL_TYPE_LONGLONG => "bigint",
        T::MYSQL_TYPE_YEAR => "year",
        T::MYSQL_TYPE_DECIMAL | T::MYSQL_TYPE_NEWDECIMAL => "decimal",
        T::MYSQL_TYPE_FLOAT => "float",
        T::MYSQL_TYPE_DOUBLE => "double",
        T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => "date",
        T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2 => "time",
        T::MYSQL_TYPE_DATETIME | T::MYSQL_TYPE_DATETIME2 => "datetime",
        T::MYSQL_TYPE_TIMESTAMP | T::MYSQL_TYPE_TIMESTAMP2 => "timestamp",
        T::MYSQL_TYPE_JSON => "json",
        T::MYSQL_TYPE_VARCHAR | T::MYSQL_TYPE_VAR_STRING | T::MYSQL_TYPE_STRING if binary => "varbinary",
        T::MYSQL_TYPE_VARCHAR
        | T::MYSQL_TYPE_VAR_STRING
        | T::MYSQL_TYPE_STRING
        | T::MYSQL_TYPE_ENUM
        | T::MYSQL_TYPE_SET => "varchar",
        T::MYSQL_TYPE_TINY_BLOB | T::MYSQL_TYPE_MEDIUM_BLOB | T::MYSQL_TYPE_LONG_BLOB | T::MYSQL_TYPE_BLOB
            if binary =>
        {
            "blob"
        }
        T::MYSQL_TYPE_TINY_BLOB | T::MYSQL_TYPE_MEDIUM_BLOB | T::MYSQL_TYPE_LONG_BLOB | T::MYSQL_TYPE_BLOB => "text",
        T::MYSQL_TYPE_BIT => "bit",
        T::MYSQL_TYPE_GEOMETRY => "geometry",
        _ => "unknown",
    };
    let (precision, scale) = match data_type {
        "decimal" => (Some(length.saturating_sub(u64::from(scale > 0) + u64::from(!unsigned))), Some(scale)),
        _ => (None, None),
    };
    let width = if data_type == "tinyint" && length == 1 { "(1)" } else { "" };
    let sign = if unsigned { " unsigned" } else { "" };
    let column_type = format!("{data_type}{width}{sign}");
    (column.name_str().into_owned(), data_type.to_string(), column_type, precision, scale)
}

/// `name` as a MySQL identifier (backquotes doubled).
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}
