//! A Flight SQL table's columns: the server describes them in Arrow, so
//! a column is read in its own type when glaux has that type (integers,
//! floating point, decimal128, strings, binary, date, time, timestamps
//! with or without zone, intervals, lists of these), and is left out,
//! named with its type, otherwise (dictionaries, structs, maps, unions,
//! decimal256, float16, durations, fixed-size binary, date64).

use datafusion::arrow::datatypes::{DataType, Field, IntervalUnit, Schema};

/// The fields glaux reads, and the columns it leaves out (name, type).
pub fn readable(schema: &Schema) -> (Vec<Field>, Vec<(String, String)>) {
    let (mut read, mut skipped) = (Vec::new(), Vec::new());
    for field in schema.fields() {
        if known(field.data_type()) {
            read.push(field.as_ref().clone().with_nullable(true));
        } else {
            skipped.push((field.name().clone(), field.data_type().to_string()));
        }
    }
    (read, skipped)
}

fn known(data_type: &DataType) -> bool {
    use DataType as D;
    match data_type {
        D::Boolean
        | D::Int8
        | D::Int16
        | D::Int32
        | D::Int64
        | D::UInt8
        | D::UInt16
        | D::UInt32
        | D::UInt64
        | D::Float32
        | D::Float64
        | D::Decimal128(..)
        | D::Utf8
        | D::LargeUtf8
        | D::Utf8View
        | D::Binary
        | D::LargeBinary
        | D::BinaryView
        | D::Date32
        | D::Time32(_)
        | D::Time64(_)
        | D::Timestamp(..) => true,
        D::Interval(unit) => *unit == IntervalUnit::MonthDayNano,
        D::List(item) | D::LargeList(item) => known(item.data_type()),
        _ => false,
    }
}
