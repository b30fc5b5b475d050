//! PostgreSQL's binary (send) format of each kind: big-endian integers and
//! floats, dates and timestamps counted from 2000-01-01, numerics in
//! base-10000 digits, one-dimensional arrays with their element OID.

use super::values::Values;
use super::Kind;
use bytes::{BufMut, BytesMut};

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const EPOCH_DAYS: i32 = 10_957;
const EPOCH_MICROS: i64 = EPOCH_DAYS as i64 * 86_400_000_000;

/// Write the binary form of a non-NULL value.
pub fn write(values: &Values, row: usize, out: &mut BytesMut) {
    match values {
        Values::Bool(a) => out.put_u8(u8::from(a.value(row))),
        Values::Int2(a) => out.put_i16(a.value(row)),
        Values::Int4(a) => out.put_i32(a.value(row)),
        Values::Int8(a) => out.put_i64(a.value(row)),
        Values::Oid(a) => out.put_u32(a.value(row)),
        Values::Float4(a) => out.put_f32(a.value(row)),
        Values::Float8(a) => out.put_f64(a.value(row)),
        Values::Numeric(a) => write_numeric(a.value(row), out),
        Values::Text(a) => out.put_slice(a.value(row).as_bytes()),
        Values::Json(a) => out.put_slice(a.value(row).as_bytes()),
        Values::Bytea(a) => out.put_slice(a.value(row)),
        Values::Uuid(a) => out.put_slice(a.value(row)),
        Values::Date(a) => out.put_i32(a.value(row).saturating_sub(EPOCH_DAYS)),
        Values::Time(a) => out.put_i64(a.value(row)),
        Values::Timestamp(a) | Values::TimestampTz(a, _) => out.put_i64(a.value(row).saturating_sub(EPOCH_MICROS)),
        Values::Interval(a) => {
            let v = a.value(row);
            out.put_i64(v.nanoseconds / 1000);
            out.put_i32(v.days);
            out.put_i32(v.months);
        }
        Values::Array(lists, elements, kind) => {
            let offsets = lists.value_offsets();
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            write_array(start..end, elements, kind, out)
        }
    }
}

/// ndim, has-nulls flag, element OID, (length, lower bound 1), then each
/// element as length + bytes. An empty array has no dimensions.
fn write_array(range: std::ops::Range<usize>, elements: &Values, kind: &Kind, out: &mut BytesMut) {
    let has_nulls = range.clone().any(|i| elements.is_null(i));
    out.put_i32(if range.is_empty() { 0 } else { 1 });
    out.put_i32(i32::from(has_nulls));
    out.put_u32(kind.pg_type(None).oid());
    if !range.is_empty() {
        out.put_i32(range.len() as i32);
        out.put_i32(1);
    }
    for i in range {
        if elements.is_null(i) {
            out.put_i32(-1);
            continue;
        }
        let start = out.len();
        out.put_i32(0);
        write(elements, i, out);
        let len = (out.len() - start - 4) as i32;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }
}

/// A numeric from its exact decimal text (`-12.500`): digit count, weight
/// of the first base-10000 digit, sign, display scale, digits.
fn write_numeric(text: &str, out: &mut BytesMut) {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let padded: Vec<u8> = std::iter::repeat_n(b'0', int_pad)
        .chain(int.bytes())
        .chain(frac.bytes())
        .chain(std::iter::repeat_n(b'0', frac_pad))
        .collect();
    let mut groups: Vec<i16> =
        padded.chunks(4).map(|c| c.iter().fold(0i16, |n, d| n * 10 + i16::from(d.wrapping_sub(b'0')))).collect();
    let mut weight = ((int.len() + int_pad) / 4) as i16 - 1;
    let leading = groups.iter().take_while(|&&g| g == 0).count();
    groups.drain(..leading);
    weight -= leading as i16;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_i16(groups.len() as i16);
    out.put_i16(weight);
    out.put_u16(if negative && !groups.is_empty() { 0x4000 } else { 0 });
    out.put_i16(frac.len() as i16);
    for g in groups {
        out.put_i16(g);
    }
}
