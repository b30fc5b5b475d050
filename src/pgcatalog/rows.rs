//! Building a system table: its columns (named, with PostgreSQL column
//! types) and rows of values, into one Arrow record batch.

use crate::error::Result;
use datafusion::arrow::array::{new_empty_array, ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use std::sync::Arc;

/// The PostgreSQL type of a system table column, and its Arrow type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Col {
    Oid,
    /// `name`, `text`, `"char"`, `pg_node_tree`: Arrow strings, sent as text.
    Text,
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `oid[]` / `oidvector`, `regtype[]`.
    OidArray,
    /// `int2[]` / `int2vector`.
    Int2Array,
    /// `text[]`, `name[]`, `aclitem[]`.
    TextArray,
    /// A timestamp with time zone.
    TimestampTz,
}

impl Col {
    /// The PostgreSQL type OID the column is described as.
    pub fn type_oid(self) -> u32 {
        match self {
            Col::Oid => 26,
            Col::Text => 25,
            Col::Bool => 16,
            Col::Int2 => 21,
            Col::Int4 => 23,
            Col::Int8 => 20,
            Col::Float4 => 700,
            Col::Float8 => 701,
            Col::OidArray => 1028,
            Col::Int2Array => 1005,
            Col::TextArray => 1009,
            Col::TimestampTz => 1184,
        }
    }

    pub fn data_type(self) -> DataType {
        let list = |t: DataType| DataType::List(Arc::new(Field::new_list_field(t, true)));
        match self {
            Col::Oid => DataType::UInt32,
            Col::Text => DataType::Utf8,
            Col::Bool => DataType::Boolean,
            Col::Int2 => DataType::Int16,
            Col::Int4 => DataType::Int32,
            Col::Int8 => DataType::Int64,
            Col::Float4 => DataType::Float32,
            Col::Float8 => DataType::Float64,
            Col::OidArray => list(DataType::UInt32),
            Col::Int2Array => list(DataType::Int16),
            Col::TextArray => list(DataType::Utf8),
            Col::TimestampTz => {
                DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()))
            }
        }
    }
}

/// A table being built: the column list, then one `Vec` of values per row.
pub struct Rows {
    schema: SchemaRef,
    rows: Vec<Vec<ScalarValue>>,
}

impl Rows {
    pub fn new(columns: &[(&str, Col)]) -> Rows {
        let fields: Vec<Field> = columns.iter().map(|(name, col)| Field::new(*name, col.data_type(), true)).collect();
        Rows { schema: Arc::new(Schema::new(fields)), rows: Vec::new() }
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Add a row; values are converted to the column types.
    pub fn push(&mut self, row: Vec<ScalarValue>) {
        debug_assert_eq!(row.len(), self.schema.fields().len(), "row width of {:?}", self.schema);
        self.rows.push(row);
    }

    pub fn into_batch(self) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (i, field) in self.schema.fields().iter().enumerate() {
            let column = if self.rows.is_empty() {
                new_empty_array(field.data_type())
            } else {
                let values = self.rows.iter().map(|row| cast(&row[i], field.data_type()));
                ScalarValue::iter_to_array(values.collect::<Result<Vec<_>>>()?)?
            };
            columns.push(column);
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(datafusion::error::DataFusionError::from)?)
    }
}

fn cast(value: &ScalarValue, to: &DataType) -> Result<ScalarValue> {
    if value.data_type() == *to {
        return Ok(value.clone());
    }
    if value.is_null() {
        return Ok(ScalarValue::try_from(to)?);
    }
    Ok(value.cast_to(to)?)
}

/// Value constructors, short enough to write a row on one line.
pub fn oid(v: u32) -> ScalarValue {
    ScalarValue::UInt32(Some(v))
}

pub fn text(v: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(v.into()))
}

pub fn opt_text(v: Option<impl Into<String>>) -> ScalarValue {
    ScalarValue::Utf8(v.map(Into::into))
}

pub fn bool(v: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(v))
}

pub fn int2(v: i16) -> ScalarValue {
    ScalarValue::Int16(Some(v))
}

pub fn int4(v: i32) -> ScalarValue {
    ScalarValue::Int32(Some(v))
}

pub fn int8(v: i64) -> ScalarValue {
    ScalarValue::Int64(Some(v))
}

pub fn float4(v: f32) -> ScalarValue {
    ScalarValue::Float32(Some(v))
}

pub fn char(v: char) -> ScalarValue {
    ScalarValue::Utf8(Some(v.to_string()))
}

/// NULL (of any column type; converted when the batch is built).
pub fn null() -> ScalarValue {
    ScalarValue::Null
}

pub fn oids(values: &[u32]) -> ScalarValue {
    let items: Vec<ScalarValue> = values.iter().map(|v| oid(*v)).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::UInt32))
}

pub fn int2s(values: &[i16]) -> ScalarValue {
    let items: Vec<ScalarValue> = values.iter().map(|v| int2(*v)).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Int16))
}

pub fn texts(values: &[&str]) -> ScalarValue {
    let items: Vec<ScalarValue> = values.iter().map(|v| text(*v)).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Utf8))
}
