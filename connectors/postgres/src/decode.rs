//! PostgreSQL's binary wire format, decoded into Arrow builders, value by
//! value and exactly: a value Arrow cannot hold as it is (a numeric with
//! more digits than its column's scale, `infinity` dates and
//! timestamps, NaN numerics) is an error naming the column, never a
//! rounded or wrapped value.

use crate::columns::{arrow_type, Kind};
use datafusion::arrow::array::{
    make_builder, ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    FixedSizeBinaryBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder,
    IntervalMonthDayNanoBuilder, ListBuilder, StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::IntervalMonthDayNano;

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A builder for a column of `kind`.
pub fn builder(kind: &Kind, capacity: usize) -> Box<dyn ArrayBuilder> {
    make_builder(&arrow_type(kind), capacity)
}

/// Append one value (None for NULL) of `kind` to `builder`, made by
/// [`builder`] for that kind. Errors say what is wrong with the value.
pub fn append(builder: &mut dyn ArrayBuilder, kind: &Kind, value: Option<&[u8]>) -> Result<(), String> {
    macro_rules! push {
        ($builder:ty, $decode:expr) => {{
            let b = builder.as_any_mut().downcast_mut::<$builder>().ok_or("builder of another type")?;
            match value {
                None => b.append_null(),
                Some(bytes) => b.append_value($decode(bytes)?),
            }
        }};
    }
    match kind {
        Kind::Bool => push!(BooleanBuilder, |b: &[u8]| Ok::<_, String>(fixed::<1>(b)?[0] != 0)),
        Kind::Int2 => push!(Int16Builder, |b: &[u8]| Ok::<_, String>(i16::from_be_bytes(fixed(b)?))),
        Kind::Int4 => push!(Int32Builder, |b: &[u8]| Ok::<_, String>(i32::from_be_bytes(fixed(b)?))),
        Kind::Int8 => push!(Int64Builder, |b: &[u8]| Ok::<_, String>(i64::from_be_bytes(fixed(b)?))),
        Kind::Float4 => push!(Float32Builder, |b: &[u8]| Ok::<_, String>(f32::from_be_bytes(fixed(b)?))),
        Kind::Float8 => push!(Float64Builder, |b: &[u8]| Ok::<_, String>(f64::from_be_bytes(fixed(b)?))),
        Kind::Numeric { precision, scale } => push!(Decimal128Builder, |b| numeric(b, *precision, *scale)),
        Kind::Text | Kind::Json => push!(StringBuilder, utf8),
        Kind::Jsonb => push!(StringBuilder, |b: &[u8]| match b.split_first() {
            Some((1, text)) => utf8(text),
            _ => Err("jsonb of an unknown version".to_string()),
        }),
        Kind::Bytea => push!(BinaryBuilder, |b: &[u8]| Ok::<_, String>(b.to_vec())),
        Kind::Uuid => {
            let b = builder.as_any_mut().downcast_mut::<FixedSizeBinaryBuilder>().ok_or("builder of another type")?;
            match value {
                None => b.append_null(),
                Some(bytes) => b.append_value(fixed::<16>(bytes)?).map_err(|e| e.to_string())?,
            }
        }
        Kind::Date => push!(Date32Builder, |b: &[u8]| {
            let days = i32::from_be_bytes(fixed(b)?);
            match days {
                i32::MAX | i32::MIN => Err("infinity has no date value in glaux".to_string()),
                days => days.checked_add(EPOCH_DAYS).ok_or_else(|| "date out of range".to_string()),
            }
        }),
        Kind::Time => push!(Time64MicrosecondBuilder, |b: &[u8]| Ok::<_, String>(i64::from_be_bytes(fixed(b)?))),
        Kind::Timestamp | Kind::TimestampTz => push!(TimestampMicrosecondBuilder, |b: &[u8]| {
            let micros = i64::from_be_bytes(fixed(b)?);
            match micros {
                i64::MAX | i64::MIN => Err("infinity has no timestamp value in glaux".to_string()),
                micros => micros.checked_add(EPOCH_MICROS).ok_or_else(|| "timestamp out of range".to_string()),
            }
        }),
        Kind::Interval => push!(IntervalMonthDayNanoBuilder, |b: &[u8]| {
            let b: [u8; 16] = fixed(b)?;
            let micros = i64::from_be_bytes(b[0..8].try_into().unwrap_or_default());
            let days = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
            let months = i32::from_be_bytes(b[12..16].try_into().unwrap_or_default());
            let nanoseconds = micros.checked_mul(1000).ok_or("interval out of range")?;
            Ok::<_, String>(IntervalMonthDayNano { months, days, nanoseconds })
        }),
        Kind::Array(item) => {
            let b = builder
                .as_any_mut()
                .downcast_mut::<ListBuilder<Box<dyn ArrayBuilder>>>()
                .ok_or("builder of another type")?;
            match value {
                None => b.append_null(),
                Some(bytes) => {
                    for element in elements(bytes)? {
                        append(b.values().as_mut(), item, element)?;
                    }
                    b.append(true);
                }
            }
        }
    }
    Ok(())
}

/// `bytes` as exactly N bytes.
fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes.try_into().map_err(|_| format!("{} bytes where {N} were expected", bytes.len()))
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "text that is not UTF-8".to_string())
}

/// A one-dimensional array's elements (an empty array has none).
fn elements(bytes: &[u8]) -> Result<Vec<Option<&[u8]>>, String> {
    let mut reader = Reader(bytes);
    let dimensions = reader.i32()?;
    reader.i32()?; // has NULLs
    reader.i32()?; // element type
    if dimensions == 0 {
        return Ok(Vec::new());
    }
    if dimensions != 1 {
        return Err(format!("an array of {dimensions} dimensions (glaux reads one-dimensional arrays)"));
    }
    let count = reader.i32()?;
    reader.i32()?; // lower bound
    let mut out = Vec::with_capacity(count.max(0) as usize);
    for _ in 0..count {
        let length = reader.i32()?;
        out.push(if length < 0 { None } else { Some(reader.take(length as usize)?) });
    }
    Ok(out)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("a value shorter than its header says".to_string());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(fixed(self.take(4)?)?))
    }

    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(fixed(self.take(2)?)?))
    }
}

/// numeric's binary form (base-10000 digits, the weight of the first,
/// a sign and a display scale) as the unscaled value of
/// decimal(precision, scale), only if it is that value exactly.
fn numeric(bytes: &[u8], precision: u8, scale: i8) -> Result<i128, String> {
    let mut reader = Reader(bytes);
    let count = reader.i16()?;
    let weight = reader.i16()? as i32;
    let sign = reader.i16()? as u16;
    reader.i16()?; // display scale
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN has no decimal value".to_string()),
        _ => return Err("infinity has no decimal value".to_string()),
    }
    let too_big = || format!("a value with more digits than decimal({precision},{scale}) holds");
    let mut unscaled: i128 = 0;
    for i in 0..count as i32 {
        let digit = reader.i16()? as i128;
        // digit * 10000^(weight - i), at `scale` decimal places.
        let exponent = 4 * (weight - i) + scale as i32;
        let term = if exponent >= 0 {
            10i128.checked_pow(exponent as u32).and_then(|p| digit.checked_mul(p)).ok_or_else(too_big)?
        } else {
            let divisor = 10i128.checked_pow((-exponent) as u32).unwrap_or(i128::MAX);
            if digit % divisor != 0 {
                return Err(format!("a value with more decimal places than decimal({precision},{scale}) holds"));
            }
            digit / divisor
        };
        unscaled = unscaled.checked_add(term).ok_or_else(too_big)?;
    }
    if unscaled >= 10i128.pow(precision as u32) {
        return Err(too_big());
    }
    Ok(if sign == 0x4000 { -unscaled } else { unscaled })
}
