//! Arrow values as PostgreSQL clients see them: which Arrow types go on the
//! wire as which Postgres type, the casts that make every result encodable,
//! and the text rendering of values.
//!
//! The server, the REPL and the test runner all render through here (text
//! rendering goes through the same encoder the server uses), so psql, the
//! REPL and `glaux -c` print a value identically.
//!
//! Encoding itself is arrow-pg's. Types arrow-pg cannot encode (Int8 as a
//! one-byte int2, Float16, Decimal256, maps, structs, nested lists) are cast
//! first: to the next wider type, or to their text form.

use crate::error::{Error, Result};
use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use std::sync::Arc;

/// The Arrow type a column is cast to before encoding.
pub fn wire_type(t: &DataType) -> DataType {
    match t {
        DataType::Null => DataType::Utf8,
        DataType::Int8 => DataType::Int16,
        DataType::Float16 => DataType::Float32,
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => DataType::Decimal128(*p, *s),
        DataType::Decimal256(_, _) => DataType::Utf8,
        DataType::FixedSizeBinary(_) | DataType::BinaryView => DataType::Binary,
        DataType::Dictionary(_, value) => wire_type(value),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => {
            let item = wire_type(f.data_type());
            if is_scalar(&item) && !matches!(f.data_type(), DataType::Decimal256(..)) {
                DataType::List(Arc::new(Field::new("item", item, true)))
            } else {
                DataType::Utf8
            }
        }
        DataType::Struct(_) | DataType::Map(_, _) | DataType::Union(_, _) | DataType::RunEndEncoded(_, _) => {
            DataType::Utf8
        }
        other => other.clone(),
    }
}

/// Types that travel as a Postgres scalar (and so can be array elements).
fn is_scalar(t: &DataType) -> bool {
    !matches!(
        t,
        DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(_, _)
            | DataType::Struct(_)
            | DataType::Map(_, _)
            | DataType::Union(_, _)
            | DataType::Null
    )
}

/// The schema results are encoded with.
pub fn wire_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), wire_type(f.data_type()), true))
        .collect();
    Arc::new(Schema::new(fields))
}

fn wire_column(col: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    if col.data_type() == target {
        return Ok(Arc::clone(col));
    }
    let nested = matches!(
        col.data_type(),
        DataType::Struct(_)
            | DataType::Map(_, _)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(_, _)
            | DataType::Union(_, _)
            | DataType::Decimal256(_, _)
    );
    if *target == DataType::Utf8 && nested {
        return format_as_text(col);
    }
    cast(col, target).map_err(|e| Error::DataFusion(e.into()))
}

/// Values rendered with Arrow's display (`{a: 1, b: x}` for a struct).
fn format_as_text(col: &ArrayRef) -> Result<ArrayRef> {
    let options = FormatOptions::default();
    let formatter = ArrayFormatter::try_new(col.as_ref(), &options).map_err(|e| Error::DataFusion(e.into()))?;
    let values: StringArray =
        (0..col.len()).map(|i| if col.is_null(i) { None } else { Some(formatter.value(i).to_string()) }).collect();
    Ok(Arc::new(values))
}

/// How one result is encoded: the field descriptions sent to the client
/// and the conversion each batch goes through before arrow-pg encodes it.
///
/// Floats in text format are rendered here, the way PostgreSQL prints them
/// (shortest exact digits; `1e+20`, `Infinity`, `NaN`), and sent as text
/// under their float type.
pub struct WireEncoding {
    pub fields: Arc<Vec<FieldInfo>>,
    wire: SchemaRef,
    encoded: SchemaRef,
}

impl WireEncoding {
    pub fn new(schema: &Schema, format: &Format) -> Result<Self> {
        let wire = wire_schema(schema);
        let fields = arrow_schema_to_pg_fields(&wire, format, None)
            .map_err(|e| Error::internal(format!("describing result columns: {e}")))?;
        let encoded: Vec<Field> = wire
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if !format.is_binary(i) && rendered_here(f.data_type()) {
                    Field::new(f.name(), DataType::Utf8, true)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        Ok(WireEncoding { fields: Arc::new(fields), wire, encoded: Arc::new(Schema::new(encoded)) })
    }

    /// Cast (and render floats of) a batch for arrow-pg.
    pub fn encode(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let columns = batch
            .columns()
            .iter()
            .zip(self.wire.fields().iter().zip(self.encoded.fields()))
            .map(|(col, (wire, encoded))| {
                let col = wire_column(col, wire.data_type())?;
                if wire.data_type() != encoded.data_type() {
                    pg_text(&col)
                } else {
                    Ok(col)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(Arc::clone(&self.encoded), columns).map_err(|e| Error::DataFusion(e.into()))
    }
}

/// Types whose text form glaux writes itself (arrow-pg's differs from
/// PostgreSQL's: `100.0` for `100`, `.891000` for `.891`).
fn rendered_here(t: &DataType) -> bool {
    matches!(t, DataType::Float32 | DataType::Float64 | DataType::Timestamp(_, _) | DataType::Time64(_))
}

/// Floats, timestamps and times as PostgreSQL's text output writes them
/// (session time zone UTC).
fn pg_text(col: &ArrayRef) -> Result<ArrayRef> {
    use datafusion::arrow::array::{Float32Array, Float64Array, Time64MicrosecondArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::TimeUnit;
    let values: StringArray = match col.data_type() {
        DataType::Float64 => {
            let a = col.as_any().downcast_ref::<Float64Array>().ok_or_else(|| Error::internal("float64 column"))?;
            a.iter().map(|v| v.map(|v| pg_float(v, 15))).collect()
        }
        DataType::Float32 => {
            let a = col.as_any().downcast_ref::<Float32Array>().ok_or_else(|| Error::internal("float32 column"))?;
            a.iter().map(|v| v.map(|v| pg_float(v, 6))).collect()
        }
        DataType::Timestamp(_, tz) => {
            let micros = cast(col, &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()))
                .map_err(|e| Error::DataFusion(e.into()))?;
            let a = micros
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .ok_or_else(|| Error::internal("timestamp column"))?;
            let suffix = if tz.is_some() { "+00" } else { "" };
            a.iter().map(|v| v.map(|v| format!("{}{suffix}", pg_timestamp(v)))).collect()
        }
        DataType::Time64(_) => {
            let micros =
                cast(col, &DataType::Time64(TimeUnit::Microsecond)).map_err(|e| Error::DataFusion(e.into()))?;
            let a = micros
                .as_any()
                .downcast_ref::<Time64MicrosecondArray>()
                .ok_or_else(|| Error::internal("time column"))?;
            a.iter().map(|v| v.map(pg_time)).collect()
        }
        _ => return Ok(Arc::clone(col)),
    };
    Ok(Arc::new(values))
}

/// `.ffffff` with trailing zeros removed, or nothing for whole seconds.
fn fraction(micros: u32) -> String {
    if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}").trim_end_matches('0').to_string()
    }
}

/// A timestamp (microseconds since the epoch) as PostgreSQL prints it.
pub fn pg_timestamp(micros: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => {
            let t = t.naive_utc();
            let (year, bc) = if t.format("%Y").to_string().starts_with('-') {
                (1 - chrono::Datelike::year(&t), " BC")
            } else {
                (chrono::Datelike::year(&t), "")
            };
            format!(
                "{year:04}-{}{}{bc}",
                t.format("%m-%d %H:%M:%S"),
                fraction(chrono::Timelike::nanosecond(&t) / 1000)
            )
        }
        None => micros.to_string(),
    }
}

fn pg_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u32;
    format!("{:02}:{:02}:{:02}{}", secs / 3600, (secs / 60) % 60, secs % 60, fraction(frac))
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

/// Every value of a batch in Postgres text format (None for NULL), exactly
/// as the server sends it.
pub fn text_rows(batch: &RecordBatch) -> Result<Vec<Vec<Option<String>>>> {
    let encoding = WireEncoding::new(batch.schema().as_ref(), &Format::UnifiedText)?;
    let batch = encoding.encode(batch)?;
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in encode_recordbatch(Arc::clone(&encoding.fields), batch) {
        let row = row.map_err(|e| Error::internal(format!("encoding a row: {e}")))?;
        out.push(decode_text_row(&row.data));
    }
    Ok(out)
}

/// Split a DataRow body (per field: i32 length or -1, then bytes).
fn decode_text_row(data: &[u8]) -> Vec<Option<String>> {
    let mut values = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 {
        let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        rest = &rest[4..];
        if len < 0 {
            values.push(None);
        } else {
            let n = (len as usize).min(rest.len());
            values.push(Some(String::from_utf8_lossy(&rest[..n]).into_owned()));
            rest = &rest[n..];
        }
    }
    values
}
