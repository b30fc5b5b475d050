//! Arrow values as PostgreSQL clients see them: which Postgres type (OID,
//! length, typmod) each Arrow column goes on the wire as, and the text and
//! binary encodings of its values.
//!
//! The server, the REPL and the test runner all render through here, so
//! psql, the REPL and `glaux -c` print a value identically.
//!
//! A column is first given a [`Kind`] (from its Arrow type and, for `uuid`,
//! `json` and `varchar(n)`, its field metadata), then converted to that
//! kind's canonical Arrow array ([`values::Values`]), whose values
//! [`text`] and [`binary`] write. Types Postgres has no counterpart for
//! (structs, maps, nested lists, unions) travel as text in Arrow's display
//! form. Encoding is glaux's own rather than arrow-pg's: PostgreSQL's text
//! forms (`100` not `100.0`, `.891` not `.891000`, interval and array
//! syntax), NULL intervals, uuid, json and typmods all need it.

mod binary;
pub mod copy;
pub mod params;
mod text;
mod values;

pub use text::{pg_float, pg_timestamp};

use crate::catalog::types::HIVE_TYPE_KEY;
use crate::error::{Error, Result};
use bytes::{BufMut, BytesMut};
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::api::Type;
use pgwire::messages::data::DataRow;
use std::sync::Arc;
use values::Values;

/// Arrow extension names glaux gives Postgres types of their own.
use glaux_connector::types::EXTENSION_KEY;
pub use glaux_connector::types::{JSON_EXTENSION, UUID_EXTENSION};

/// What a column is on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    /// `oid`: unsigned 32-bit object ids (Arrow UInt32; the system
    /// catalogs' key columns).
    Oid,
    Float4,
    Float8,
    Numeric,
    /// text, or `varchar(n)` / `char(n)` when the field's Hive type says so.
    Text,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    /// A one-dimensional array of a scalar kind.
    Array(Box<Kind>),
}

impl Kind {
    /// The kind of an Arrow field.
    pub fn of(field: &Field) -> Kind {
        match field.metadata().get(EXTENSION_KEY).map(String::as_str) {
            Some(UUID_EXTENSION) if matches!(field.data_type(), DataType::FixedSizeBinary(16)) => return Kind::Uuid,
            Some(JSON_EXTENSION) if is_string(field.data_type()) => return Kind::Json,
            _ => {}
        }
        Self::of_type(field.data_type()).unwrap_or_else(|| match field.data_type() {
            DataType::List(item)
            | DataType::LargeList(item)
            | DataType::FixedSizeList(item, _)
            | DataType::ListView(item)
            | DataType::LargeListView(item) => match Kind::of(item) {
                Kind::Array(_) => Kind::Text,
                _ if Self::of_type(item.data_type()).is_none() && !is_extension(item) => Kind::Text,
                kind => Kind::Array(Box::new(kind)),
            },
            DataType::Dictionary(_, value) => Kind::of(&Field::new("", value.as_ref().clone(), true)),
            _ => Kind::Text,
        })
    }

    /// Scalar kinds that follow from the Arrow type alone.
    fn of_type(t: &DataType) -> Option<Kind> {
        Some(match t {
            DataType::Boolean => Kind::Bool,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => Kind::Int2,
            DataType::Int32 | DataType::UInt16 => Kind::Int4,
            DataType::Int64 => Kind::Int8,
            DataType::UInt32 => Kind::Oid,
            DataType::UInt64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => Kind::Numeric,
            DataType::Float16 | DataType::Float32 => Kind::Float4,
            DataType::Float64 => Kind::Float8,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Text,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
                Kind::Bytea
            }
            DataType::Date32 | DataType::Date64 => Kind::Date,
            DataType::Time32(_) | DataType::Time64(_) => Kind::Time,
            DataType::Timestamp(_, None) => Kind::Timestamp,
            DataType::Timestamp(_, Some(_)) => Kind::TimestampTz,
            DataType::Interval(_) | DataType::Duration(_) => Kind::Interval,
            _ => return None,
        })
    }

    /// The Postgres type of a column of this kind (`declared` is a
    /// `varchar(n)`/`char(n)` Hive type, when the column has one).
    fn pg_type(&self, declared: Option<&str>) -> Type {
        match self {
            Kind::Bool => Type::BOOL,
            Kind::Int2 => Type::INT2,
            Kind::Int4 => Type::INT4,
            Kind::Int8 => Type::INT8,
            Kind::Oid => Type::OID,
            Kind::Float4 => Type::FLOAT4,
            Kind::Float8 => Type::FLOAT8,
            Kind::Numeric => Type::NUMERIC,
            Kind::Text => match declared {
                Some(t) if t.starts_with("varchar") => Type::VARCHAR,
                Some(t) if t.starts_with("char") => Type::BPCHAR,
                _ => Type::TEXT,
            },
            Kind::Bytea => Type::BYTEA,
            Kind::Date => Type::DATE,
            Kind::Time => Type::TIME,
            Kind::Timestamp => Type::TIMESTAMP,
            Kind::TimestampTz => Type::TIMESTAMPTZ,
            Kind::Interval => Type::INTERVAL,
            Kind::Uuid => Type::UUID,
            Kind::Json => Type::JSON,
            Kind::Array(item) => match item.pg_type(declared) {
                Type::BOOL => Type::BOOL_ARRAY,
                Type::INT2 => Type::INT2_ARRAY,
                Type::INT4 => Type::INT4_ARRAY,
                Type::INT8 => Type::INT8_ARRAY,
                Type::OID => Type::OID_ARRAY,
                Type::FLOAT4 => Type::FLOAT4_ARRAY,
                Type::FLOAT8 => Type::FLOAT8_ARRAY,
                Type::NUMERIC => Type::NUMERIC_ARRAY,
                Type::VARCHAR => Type::VARCHAR_ARRAY,
                Type::BPCHAR => Type::BPCHAR_ARRAY,
                Type::BYTEA => Type::BYTEA_ARRAY,
                Type::DATE => Type::DATE_ARRAY,
                Type::TIME => Type::TIME_ARRAY,
                Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
                Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
                Type::INTERVAL => Type::INTERVAL_ARRAY,
                Type::UUID => Type::UUID_ARRAY,
                Type::JSON => Type::JSON_ARRAY,
                _ => Type::TEXT_ARRAY,
            },
        }
    }

    /// `pg_type.typlen`: the fixed width, or -1 for variable-width types.
    fn type_size(&self) -> i16 {
        match self {
            Kind::Bool => 1,
            Kind::Int2 => 2,
            Kind::Int4 | Kind::Oid | Kind::Float4 | Kind::Date => 4,
            Kind::Int8 | Kind::Float8 | Kind::Time | Kind::Timestamp | Kind::TimestampTz => 8,
            Kind::Interval | Kind::Uuid => 16,
            _ => -1,
        }
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_extension(field: &Field) -> bool {
    field.metadata().contains_key(EXTENSION_KEY)
}

/// The Postgres type a value of this Arrow type is described as (used for
/// statement parameters).
pub fn pg_type(t: &DataType) -> Type {
    Kind::of(&Field::new("", t.clone(), true)).pg_type(None)
}

/// The description of one result column, as RowDescription sends it.
pub fn field_info(field: &Field, format: FieldFormat) -> FieldInfo {
    let kind = Kind::of(field);
    let item = match &kind {
        Kind::Array(item) => item.as_ref(),
        k => k,
    };
    let element = match field.data_type() {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => f.as_ref(),
        _ => field,
    };
    let declared = element.metadata().get(HIVE_TYPE_KEY).map(|t| t.to_ascii_lowercase());
    let declared = declared.filter(|t| t.contains("char"));
    let typmod = match (item, element.data_type()) {
        (Kind::Numeric, DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s))
            if *s >= 0 =>
        {
            ((i32::from(*p) << 16) | i32::from(*s)) + 4
        }
        (Kind::Numeric, DataType::Decimal256(p, s)) if *s >= 0 => ((i32::from(*p) << 16) | i32::from(*s)) + 4,
        (Kind::Text, _) => declared.as_deref().and_then(char_length).map_or(-1, |n| n + 4),
        _ => -1,
    };
    FieldInfo::new(field.name().clone(), None, None, kind.pg_type(declared.as_deref()), format)
        .with_type_size(kind.type_size())
        .with_type_modifier(typmod)
}

/// The `n` of `varchar(n)` / `char(n)`.
fn char_length(declared: &str) -> Option<i32> {
    declared.split_once('(')?.1.trim_end_matches(')').trim().parse().ok()
}

/// A PostgreSQL `TimeZone` value as an Arrow time zone: `UTC` (also
/// `GMT`, `Z`) or an IANA name (`Europe/Berlin`, `Etc/GMT+3`); `None` for
/// anything else (bare offsets, whose sign PostgreSQL reads the POSIX way,
/// are refused rather than guessed).
pub fn arrow_time_zone(name: &str) -> Option<String> {
    let name = name.trim().trim_matches('\'');
    if ["utc", "gmt", "z", "zulu", "etc/utc", "universal"].contains(&name.to_ascii_lowercase().as_str()) {
        return Some("UTC".into());
    }
    if name.starts_with(['+', '-']) || name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    name.parse::<datafusion::arrow::array::timezone::Tz>().ok().map(|_| name.to_string())
}

/// How one result is encoded: the field descriptions sent to the client
/// and, per column, its kind and format.
pub struct WireEncoding {
    pub fields: Arc<Vec<FieldInfo>>,
    kinds: Vec<Kind>,
    row_bytes: usize,
}

impl WireEncoding {
    pub fn new(schema: &Schema, format: &Format) -> Result<Self> {
        let fields = schema.fields().iter().enumerate().map(|(i, f)| field_info(f, format.format_for(i))).collect();
        let kinds = schema.fields().iter().map(|f| Kind::of(f)).collect();
        Ok(WireEncoding { fields: Arc::new(fields), kinds, row_bytes: 0 })
    }

    /// The DataRows of a batch, all cut from one buffer (no allocation
    /// per row): `row_bytes` is the size per row seen in the last batch,
    /// which sizes it.
    pub fn encode(&mut self, batch: &RecordBatch) -> Result<Vec<DataRow>> {
        let columns = self.columns(batch)?;
        let binary: Vec<bool> = self.fields.iter().map(|f| f.format() == FieldFormat::Binary).collect();
        let mut rows = Vec::with_capacity(batch.num_rows());
        let mut buffer = BytesMut::with_capacity(self.row_bytes.max(4 * columns.len()) * batch.num_rows());
        // Columns without NULLs skip the test per value.
        let nullable: Vec<bool> = batch.columns().iter().map(|c| c.logical_null_count() > 0).collect();
        for row in 0..batch.num_rows() {
            for ((values, binary), nullable) in columns.iter().zip(&binary).zip(&nullable) {
                if *nullable && values.is_null(row) {
                    buffer.put_i32(-1);
                } else {
                    write_value(values, row, *binary, &mut buffer);
                }
            }
            rows.push(DataRow::new(buffer.split(), columns.len() as i16));
        }
        let total: usize = rows.iter().map(|r| r.data.len()).sum();
        self.row_bytes = total.div_ceil(batch.num_rows().max(1)) + 1;
        Ok(rows)
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<Values>> {
        if batch.num_columns() != self.kinds.len() {
            return Err(Error::internal(format!(
                "a batch has {} columns, the result {}",
                batch.num_columns(),
                self.kinds.len()
            )));
        }
        batch.columns().iter().zip(&self.kinds).map(|(col, kind)| Values::new(col, kind)).collect()
    }
}

/// One non-NULL field of a DataRow: its length, then its bytes.
fn write_value(values: &Values, row: usize, binary: bool, out: &mut BytesMut) {
    let start = out.len();
    out.put_i32(0);
    if binary {
        binary::write(values, row, out);
    } else {
        text::write(values, row, out);
    }
    let len = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Every value of a batch in Postgres text format (None for NULL), exactly
/// as the server sends it.
pub fn text_rows(batch: &RecordBatch) -> Result<Vec<Vec<Option<String>>>> {
    let columns = WireEncoding::new(batch.schema().as_ref(), &Format::UnifiedText)?.columns(batch)?;
    let mut buf = BytesMut::new();
    let rows = (0..batch.num_rows())
        .map(|row| {
            columns
                .iter()
                .map(|values| {
                    if values.is_null(row) {
                        return None;
                    }
                    buf.clear();
                    text::write(values, row, &mut buf);
                    Some(String::from_utf8_lossy(&buf).into_owned())
                })
                .collect()
        })
        .collect();
    Ok(rows)
}
