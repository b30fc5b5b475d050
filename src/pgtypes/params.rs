//! Bind parameter values checked before they are decoded.
//!
//! The decoders behind arrow-pg (postgres-types, rust_decimal) trust what
//! a client sends: an array that declares 2^31-1 elements is allocated
//! before one element is read. [`check`] holds each value to PostgreSQL's
//! own rules for its type's binary form (sizes, numeric signs, scales and
//! digits, array dimensions against the bytes present) and text values to
//! UTF-8 without NUL bytes, and names the parameter that broke them.

use crate::error::{Error, Result, SqlState};
use pgwire::api::Type;

/// The most array dimensions PostgreSQL allows (MAXDIM).
const MAX_ARRAY_DIMENSIONS: i32 = 6;

/// Check parameter `index` (0-based) of type `ty` before it is decoded.
pub fn check(index: usize, ty: &Type, binary: bool, value: &[u8]) -> Result<()> {
    if !binary || matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN) {
        return check_text(value);
    }
    let bad = |why: &str| {
        Error::new(
            SqlState::InvalidBinaryRepresentation,
            format!("incorrect binary data format in bind parameter {}: {why}", index + 1),
        )
    };
    let size = match *ty {
        Type::BOOL | Type::CHAR => Some(1),
        Type::INT2 => Some(2),
        Type::INT4 | Type::OID | Type::FLOAT4 | Type::DATE => Some(4),
        Type::INT8 | Type::FLOAT8 | Type::TIME | Type::TIMESTAMP | Type::TIMESTAMPTZ => Some(8),
        Type::INTERVAL | Type::UUID => Some(16),
        _ => None,
    };
    if let Some(size) = size {
        if value.len() != size {
            return Err(bad(&format!("{} bytes where {ty} takes {size}", value.len())));
        }
        return Ok(());
    }
    if *ty == Type::NUMERIC {
        return check_numeric(value).map_err(bad);
    }
    if matches!(ty.kind(), postgres_types::Kind::Array(_)) {
        return check_array(value).map_err(|why| bad(&why));
    }
    Ok(())
}

/// PostgreSQL's text values: UTF-8 without NUL (22021).
fn check_text(value: &[u8]) -> Result<()> {
    let invalid = |byte: u8| {
        Error::new(
            SqlState::CharacterNotInRepertoire,
            format!("invalid byte sequence for encoding \"UTF8\": 0x{byte:02x}"),
        )
    };
    match std::str::from_utf8(value) {
        Err(e) => Err(invalid(value[e.valid_up_to()])),
        Ok(text) if text.contains('\0') => Err(invalid(0)),
        Ok(_) => Ok(()),
    }
}

fn be16(value: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([value[at], value[at + 1]])
}

fn be32(value: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([value[at], value[at + 1], value[at + 2], value[at + 3]])
}

/// numeric_recv's rules: digit count, sign, display scale, digits below
/// 10000, and exactly the bytes the digit count says.
fn check_numeric(value: &[u8]) -> std::result::Result<(), &'static str> {
    if value.len() < 8 {
        return Err("a numeric is at least 8 bytes");
    }
    let digits = usize::from(be16(value, 0));
    let sign = be16(value, 4);
    let scale = be16(value, 6);
    if digits > 0x7FFF || value.len() != 8 + 2 * digits {
        return Err("invalid length in external \"numeric\" value");
    }
    if !matches!(sign, 0x0000 | 0x4000 | 0xC000 | 0xD000 | 0xF000) {
        return Err("invalid sign in external \"numeric\" value");
    }
    if scale > 0x3FFF {
        return Err("invalid scale in external \"numeric\" value");
    }
    if (0..digits).any(|i| be16(value, 8 + 2 * i) >= 10_000) {
        return Err("invalid digit in external \"numeric\" value");
    }
    Ok(())
}

/// array_recv's header: dimensions (at most 6), each non-negative, and no
/// more elements than the bytes left could hold (each at least its
/// 4-byte length).
fn check_array(value: &[u8]) -> std::result::Result<(), String> {
    if value.len() < 12 {
        return Err("an array is at least 12 bytes".into());
    }
    let dimensions = be32(value, 0);
    if !(0..=MAX_ARRAY_DIMENSIONS).contains(&dimensions) {
        return Err(format!("invalid number of dimensions: {dimensions} (at most {MAX_ARRAY_DIMENSIONS})"));
    }
    let header = 12 + 8 * dimensions as usize;
    if value.len() < header {
        return Err("the array's dimensions are cut short".into());
    }
    let mut elements: u64 = if dimensions == 0 { 0 } else { 1 };
    for d in 0..dimensions as usize {
        let size = be32(value, 12 + 8 * d);
        if size < 0 {
            return Err(format!("invalid array dimension size {size}"));
        }
        elements = elements.saturating_mul(size as u64);
    }
    let room = (value.len() - header) as u64 / 4;
    if elements > room {
        return Err(format!("the array declares {elements} elements but holds at most {room}"));
    }
    Ok(())
}
