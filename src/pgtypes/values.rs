//! A column converted to its kind's canonical Arrow array, so the text and
//! binary writers see one Arrow type per Postgres type: microsecond times,
//! month-day-nano intervals, `i32`-offset strings and lists, and numerics as
//! their exact decimal text.

use super::Kind;
use crate::error::{Error, Result};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, FixedSizeBinaryArray, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray, LargeStringArray, ListArray, StringArray,
    StringViewArray, Time64MicrosecondArray, TimestampMicrosecondArray, UInt32Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::sync::Arc;

/// One column's values, typed by kind.
pub enum Values {
    Bool(BooleanArray),
    Int2(Int16Array),
    Int4(Int32Array),
    Int8(Int64Array),
    Oid(UInt32Array),
    Float4(Float32Array),
    Float8(Float64Array),
    /// Exact decimal text (`-12.500`).
    Numeric(StringArray),
    Text(Strings),
    Bytea(BinaryArray),
    Date(Date32Array),
    Time(Time64MicrosecondArray),
    Timestamp(TimestampMicrosecondArray),
    /// Instants, and the zone to show them in (`None`: UTC).
    TimestampTz(TimestampMicrosecondArray, Option<Tz>),
    Interval(IntervalMonthDayNanoArray),
    Uuid(FixedSizeBinaryArray),
    Json(StringArray),
    /// The lists, and all their elements as one column.
    Array(ListArray, Box<Values>, Kind),
}

/// Strings as the column holds them: no copy of a view or large-offset
/// array (Parquet's strings arrive as views).
pub enum Strings {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl Strings {
    pub fn value(&self, row: usize) -> &str {
        match self {
            Strings::Utf8(a) => a.value(row),
            Strings::Large(a) => a.value(row),
            Strings::View(a) => a.value(row),
        }
    }

    pub fn is_null(&self, row: usize) -> bool {
        match self {
            Strings::Utf8(a) => a.is_null(row),
            Strings::Large(a) => a.is_null(row),
            Strings::View(a) => a.is_null(row),
        }
    }
}

/// The zone a timestamptz column is shown in; `None` for UTC.
fn display_zone(name: &str) -> Option<Tz> {
    if matches!(name, "UTC" | "+00:00" | "Z") {
        return None;
    }
    name.parse().ok()
}

fn cast_to(col: &ArrayRef, t: DataType) -> Result<ArrayRef> {
    if col.data_type() == &t {
        return Ok(Arc::clone(col));
    }
    cast(col, &t).map_err(|e| Error::DataFusion(e.into()))
}

impl Values {
    pub fn new(col: &ArrayRef, kind: &Kind) -> Result<Values> {
        let col = match col.data_type() {
            DataType::Dictionary(_, value) => cast_to(col, value.as_ref().clone())?,
            _ => Arc::clone(col),
        };
        let micros = TimeUnit::Microsecond;
        Ok(match kind {
            Kind::Bool => Values::Bool(cast_to(&col, DataType::Boolean)?.as_boolean().clone()),
            Kind::Int2 => Values::Int2(cast_to(&col, DataType::Int16)?.as_primitive().clone()),
            Kind::Int4 => Values::Int4(cast_to(&col, DataType::Int32)?.as_primitive().clone()),
            Kind::Int8 => Values::Int8(cast_to(&col, DataType::Int64)?.as_primitive().clone()),
            Kind::Oid => Values::Oid(cast_to(&col, DataType::UInt32)?.as_primitive().clone()),
            Kind::Float4 => Values::Float4(cast_to(&col, DataType::Float32)?.as_primitive().clone()),
            Kind::Float8 => Values::Float8(cast_to(&col, DataType::Float64)?.as_primitive().clone()),
            Kind::Numeric => Values::Numeric(cast_to(&col, DataType::Utf8)?.as_string::<i32>().clone()),
            Kind::Text => Values::Text(text_of(&col)?),
            Kind::Json => Values::Json(cast_to(&col, DataType::Utf8)?.as_string::<i32>().clone()),
            Kind::Bytea => Values::Bytea(cast_to(&col, DataType::Binary)?.as_binary::<i32>().clone()),
            Kind::Uuid => Values::Uuid(col.as_fixed_size_binary().clone()),
            Kind::Date => Values::Date(cast_to(&col, DataType::Date32)?.as_primitive().clone()),
            Kind::Time => Values::Time(cast_to(&col, DataType::Time64(micros))?.as_primitive().clone()),
            Kind::Timestamp => {
                Values::Timestamp(cast_to(&col, DataType::Timestamp(micros, None))?.as_primitive().clone())
            }
            Kind::TimestampTz => {
                let tz = match col.data_type() {
                    DataType::Timestamp(_, tz) => tz.clone(),
                    _ => Some("UTC".into()),
                };
                let zone = tz.as_deref().and_then(display_zone);
                Values::TimestampTz(cast_to(&col, DataType::Timestamp(micros, tz))?.as_primitive().clone(), zone)
            }
            Kind::Interval => Values::Interval(interval_of(&col)?),
            Kind::Array(item) => {
                let list = match col.data_type() {
                    DataType::List(_) => col.as_list::<i32>().clone(),
                    DataType::LargeList(f)
                    | DataType::FixedSizeList(f, _)
                    | DataType::ListView(f)
                    | DataType::LargeListView(f) => {
                        cast_to(&col, DataType::List(Arc::clone(f)))?.as_list::<i32>().clone()
                    }
                    other => return Err(Error::internal(format!("{other} is not a list"))),
                };
                let elements = Values::new(list.values(), item)?;
                Values::Array(list, Box::new(elements), item.as_ref().clone())
            }
        })
    }

    pub fn is_null(&self, row: usize) -> bool {
        match self {
            Values::Bool(a) => a.is_null(row),
            Values::Int2(a) => a.is_null(row),
            Values::Int4(a) => a.is_null(row),
            Values::Int8(a) => a.is_null(row),
            Values::Oid(a) => a.is_null(row),
            Values::Float4(a) => a.is_null(row),
            Values::Float8(a) => a.is_null(row),
            Values::Numeric(a) | Values::Json(a) => a.is_null(row),
            Values::Text(a) => a.is_null(row),
            Values::Bytea(a) => a.is_null(row),
            Values::Date(a) => a.is_null(row),
            Values::Time(a) => a.is_null(row),
            Values::Timestamp(a) | Values::TimestampTz(a, _) => a.is_null(row),
            Values::Interval(a) => a.is_null(row),
            Values::Uuid(a) => a.is_null(row),
            Values::Array(a, _, _) => a.is_null(row),
        }
    }
}

/// Strings as they are; anything else (structs, maps, nested lists) in
/// Arrow's display form (`{a: 1, b: x}`).
fn text_of(col: &ArrayRef) -> Result<Strings> {
    match col.data_type() {
        DataType::Utf8 => return Ok(Strings::Utf8(col.as_string::<i32>().clone())),
        DataType::LargeUtf8 => return Ok(Strings::Large(col.as_string::<i64>().clone())),
        DataType::Utf8View => return Ok(Strings::View(col.as_string_view().clone())),
        DataType::Null => return Ok(Strings::Utf8(cast_to(col, DataType::Utf8)?.as_string::<i32>().clone())),
        _ => {}
    }
    let options = FormatOptions::default();
    let formatter = ArrayFormatter::try_new(col.as_ref(), &options).map_err(|e| Error::DataFusion(e.into()))?;
    Ok(Strings::Utf8(
        (0..col.len()).map(|i| if col.is_null(i) { None } else { Some(formatter.value(i).to_string()) }).collect(),
    ))
}

/// Intervals and durations as months, days and nanoseconds.
fn interval_of(col: &ArrayRef) -> Result<IntervalMonthDayNanoArray> {
    let target = DataType::Interval(IntervalUnit::MonthDayNano);
    if let DataType::Duration(_) = col.data_type() {
        // A duration is a number of nanoseconds, all in the time part.
        let nanos = cast_to(col, DataType::Duration(TimeUnit::Nanosecond))?;
        let nanos = nanos.as_primitive::<datafusion::arrow::datatypes::DurationNanosecondType>();
        return Ok(nanos
            .iter()
            .map(|v| v.map(|n| datafusion::arrow::datatypes::IntervalMonthDayNano::new(0, 0, n)))
            .collect());
    }
    Ok(cast_to(col, target)?.as_primitive().clone())
}
