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

/// Cast a batch to its wire schema.
pub fn to_wire(batch: &RecordBatch, wire: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(wire.fields())
        .map(|(col, field)| wire_column(col, field.data_type()))
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(Arc::clone(wire), columns).map_err(|e| Error::DataFusion(e.into()))
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

/// Postgres field descriptions for a wire schema, text or binary per column.
pub fn fields(wire: &Schema, format: &Format) -> Result<Vec<FieldInfo>> {
    arrow_schema_to_pg_fields(wire, format, None)
        .map_err(|e| Error::internal(format!("describing result columns: {e}")))
}

/// The Postgres type name of a result column (for the REPL's `\gdesc`-like output).
pub fn type_name(t: &DataType) -> String {
    arrow_pg::datatypes::into_pg_type(&wire_type(t)).map(|t| t.name().to_string()).unwrap_or_else(|_| "text".into())
}

/// Every value of a batch in Postgres text format (None for NULL), exactly
/// as the server sends it.
pub fn text_rows(batch: &RecordBatch) -> Result<Vec<Vec<Option<String>>>> {
    let wire = wire_schema(batch.schema().as_ref());
    let batch = to_wire(batch, &wire)?;
    let fields = Arc::new(fields(&wire, &Format::UnifiedText)?);
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in encode_recordbatch(fields, batch) {
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
