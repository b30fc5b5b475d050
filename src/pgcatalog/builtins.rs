//! PostgreSQL built-in functions that client and BI-tool queries call and
//! DataFusion lacks: array input (`'{a,b}'::text[]`, as `glaux_array_in`), array bounds (`array_lower`, `array_upper`), `format`
//! (`%s`, `%I`, `%L`), `json_build_object`, `like_escape`, and the list
//! forms of two set-returning functions, `glaux_subscripts` for
//! `generate_subscripts` and `glaux_expandarray` for
//! `information_schema._pg_expandarray`, and `glaux_prefix_each` for one
//! `ARRAY(SELECT ... FROM unnest(...))` shape, which the query rewrite
//! ([`crate::engine::rewrite`]) wraps in `unnest`. Arrays are 1-based, as
//! PostgreSQL's are (glaux's `int2vector` columns too).

use super::functions::{as_int, as_text, def, int4, lenient, text, utf8, Def};
use super::snapshot::SessionView;
use crate::error::{Error, SqlState};
use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use std::sync::Arc;

type Outcome = std::result::Result<ScalarValue, Error>;

pub(super) static DEFS: &[Def] = &[
    def("array_lower", (2, 2), int4, |_, a| Ok(bound(a, |_| 1))),
    def("array_upper", (2, 2), int4, |_, a| Ok(bound(a, |n| n))),
    def("glaux_subscripts", (2, 3), int4_list, subscripts),
    def("glaux_expandarray", (1, 1), expanded_list, expand_array),
    lenient("format", (1, usize::MAX), utf8, format),
    lenient("json_build_object", (0, usize::MAX), utf8, json_build_object),
    def("like_escape", (2, 2), utf8, like_escape),
    def("glaux_prefix_each", (2, 2), text_list, prefix_each),
    lenient("glaux_differs_from_all", (2, 2), boolean, differs_from_all),
    lenient("glaux_in_array", (2, 2), boolean, in_array),
    def("glaux_array_in", (1, 1), text_list, |_, a| parse_array(&as_text(&a[0]), &DataType::Utf8)),
];

/// `x IN (subquery)` over the subquery's values aggregated to an array
/// (NULL when it had no rows): false for none, else `x = ANY(array)`.
fn in_array(session: &SessionView, a: &[ScalarValue]) -> Outcome {
    if a[1].is_null() {
        return Ok(ScalarValue::Boolean(Some(false)));
    }
    let differs = differs_from_all(session, a)?;
    Ok(match differs {
        ScalarValue::Boolean(Some(b)) => ScalarValue::Boolean(Some(!b)),
        other => other,
    })
}

fn boolean() -> DataType {
    DataType::Boolean
}

/// `x <> ALL(array)`, with SQL's NULLs: false if an element equals `x`,
/// else NULL if `x` or an element is NULL, else true (true for an empty
/// array).
fn differs_from_all(_: &SessionView, a: &[ScalarValue]) -> Outcome {
    let Some(items) = elements(&a[1]) else { return Ok(ScalarValue::Boolean(None)) };
    if items.is_empty() {
        return Ok(ScalarValue::Boolean(Some(true)));
    }
    if a[0].is_null() {
        return Ok(ScalarValue::Boolean(None));
    }
    let mut unknown = false;
    for item in &items {
        if item.is_null() {
            unknown = true;
            continue;
        }
        let equal = match a[0].cast_to(&item.data_type()) {
            Ok(value) => value == *item,
            Err(_) => as_text(&a[0]) == as_text(item),
        };
        if equal {
            return Ok(ScalarValue::Boolean(Some(false)));
        }
    }
    Ok(ScalarValue::Boolean((!unknown).then_some(true)))
}

fn text_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

/// Each element of a text array with a prefix (`ARRAY(SELECT 'p' || x
/// FROM unnest(a) x)`, restated by the query rewrite).
fn prefix_each(_: &SessionView, a: &[ScalarValue]) -> Outcome {
    let prefix = as_text(&a[0]);
    let values: Vec<ScalarValue> = elements(&a[1])
        .unwrap_or_default()
        .iter()
        .map(|v| ScalarValue::Utf8((!v.is_null()).then(|| format!("{prefix}{}", as_text(v)))))
        .collect();
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Utf8)))
}

fn int4_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true)))
}

/// The element of `_pg_expandarray`'s result: the value and its position.
fn expanded() -> DataType {
    DataType::Struct(Fields::from(vec![Field::new("x", DataType::Int64, true), Field::new("n", DataType::Int32, true)]))
}

fn expanded_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(expanded(), true)))
}

/// The elements of an array argument (`None` for a non-array).
fn elements(v: &ScalarValue) -> Option<Vec<ScalarValue>> {
    let values = match v {
        ScalarValue::List(a) if !a.is_null(0) => a.value(0),
        ScalarValue::LargeList(a) if !a.is_null(0) => a.value(0),
        ScalarValue::FixedSizeList(a) if !a.is_null(0) => a.value(0),
        _ => return None,
    };
    (0..values.len()).map(|i| ScalarValue::try_from_array(&values, i).ok()).collect()
}

/// `array_lower` / `array_upper`: NULL for an empty array or a dimension
/// other than 1 (glaux arrays have one).
fn bound(a: &[ScalarValue], at: fn(i32) -> i32) -> ScalarValue {
    let len = elements(&a[0]).map_or(0, |e| e.len());
    let value = (as_int(&a[1]) == Some(1) && len > 0).then(|| at(i32::try_from(len).unwrap_or(i32::MAX)));
    ScalarValue::Int32(value)
}

/// `generate_subscripts(array, dim [, reverse])` as a list.
fn subscripts(_: &SessionView, a: &[ScalarValue]) -> Outcome {
    let len = if as_int(&a[1]) == Some(1) { elements(&a[0]).map_or(0, |e| e.len()) } else { 0 };
    let mut values: Vec<ScalarValue> = (1..=len).map(|i| ScalarValue::Int32(i32::try_from(i).ok())).collect();
    if a.get(2).is_some_and(|r| matches!(r, ScalarValue::Boolean(Some(true)))) {
        values.reverse();
    }
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int32)))
}

/// `_pg_expandarray(array)` as a list of `(x, n)` pairs.
fn expand_array(_: &SessionView, a: &[ScalarValue]) -> Outcome {
    let DataType::Struct(fields) = expanded() else { unreachable!("expanded() is a struct") };
    let mut rows = Vec::new();
    for (i, value) in elements(&a[0]).unwrap_or_default().into_iter().enumerate() {
        let x = ScalarValue::Int64(as_int(&value));
        let n = ScalarValue::Int32(i32::try_from(i + 1).ok());
        let array =
            datafusion::arrow::array::StructArray::try_new(fields.clone(), vec![x.to_array()?, n.to_array()?], None)
                .map_err(|e| Error::new(SqlState::InternalError, e.to_string()))?;
        rows.push(ScalarValue::Struct(Arc::new(array)));
    }
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(&rows, &expanded())))
}

/// `format(formatstr, args...)`: `%s` (text, NULL as empty), `%I` (an
/// identifier, quoted when needed), `%L` (a literal, NULL unquoted) and
/// `%%`, with optional `n$` positions, `-` and a width.
fn format(_: &SessionView, a: &[ScalarValue]) -> Outcome {
    if a[0].is_null() {
        return Ok(ScalarValue::Utf8(None));
    }
    let spec = as_text(&a[0]);
    let args = &a[1..];
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut digits = String::new();
        let mut left = false;
        let mut position = None;
        loop {
            match chars.peek() {
                Some(d) if d.is_ascii_digit() => digits.push(*d),
                Some('$') if position.is_none() && !digits.is_empty() => {
                    position = digits.parse::<usize>().ok();
                    digits.clear();
                }
                Some('-') if digits.is_empty() => left = true,
                _ => break,
            }
            chars.next();
        }
        let width: usize = digits.parse().unwrap_or(0);
        let index = match position {
            Some(0) => return Err(bad_format("format specifies argument 0, but arguments are numbered from 1")),
            Some(p) => p - 1,
            None => next,
        };
        next = index + 1;
        let Some(arg) = args.get(index) else { return Err(bad_format("too few arguments for format()")) };
        let piece = match chars.next() {
            Some('s') => {
                if arg.is_null() {
                    String::new()
                } else {
                    display(arg)
                }
            }
            Some('I') if arg.is_null() => {
                return Err(Error::new(
                    SqlState::NullValueNotAllowed,
                    "null values cannot be formatted as an SQL identifier",
                ))
            }
            Some('I') => super::functions::quote_ident(&display(arg)),
            Some('L') if arg.is_null() => "NULL".to_string(),
            Some('L') => quote_literal(&display(arg)),
            Some(other) => return Err(bad_format(&format!("unrecognized format() type specifier \"{other}\""))),
            None => return Err(bad_format("unterminated format() type specifier")),
        };
        let pad = " ".repeat(width.saturating_sub(piece.chars().count()));
        if left {
            out.push_str(&piece);
            out.push_str(&pad);
        } else {
            out.push_str(&pad);
            out.push_str(&piece);
        }
    }
    Ok(text(out))
}

fn bad_format(message: &str) -> Error {
    Error::new(SqlState::InvalidParameterValue, message.to_string())
}

/// A value as PostgreSQL prints it in text (`t`/`f` for booleans).
fn display(v: &ScalarValue) -> String {
    match v {
        ScalarValue::Boolean(Some(b)) => if *b { "t" } else { "f" }.to_string(),
        other => as_text(other),
    }
}

/// `quote_literal`: single-quoted, with `E''` when it holds a backslash.
fn quote_literal(s: &str) -> String {
    let quoted = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// `json_build_object(k1, v1, ...)` as JSON text.
fn json_build_object(_: &SessionView, a: &[ScalarValue]) -> Outcome {
    if !a.len().is_multiple_of(2) {
        return Err(bad_format("argument list must have even number of elements"));
    }
    let mut object = serde_json::Map::new();
    for pair in a.chunks(2) {
        if pair[0].is_null() {
            return Err(Error::new(SqlState::NullValueNotAllowed, "null value not allowed for object key"));
        }
        object.insert(display(&pair[0]), to_json(&pair[1]));
    }
    Ok(text(serde_json::Value::Object(object).to_string()))
}

fn to_json(v: &ScalarValue) -> serde_json::Value {
    use serde_json::Value as J;
    if v.is_null() {
        return J::Null;
    }
    if let Some(items) = elements(v) {
        return J::Array(items.iter().map(to_json).collect());
    }
    match v {
        ScalarValue::Boolean(Some(b)) => J::Bool(*b),
        ScalarValue::Float32(Some(f)) => serde_json::Number::from_f64(f64::from(*f)).map_or(J::Null, J::Number),
        ScalarValue::Float64(Some(f)) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        v if v.data_type().is_integer() => as_int(v).map_or_else(|| J::String(as_text(v)), |n| J::Number(n.into())),
        other => J::String(as_text(other)),
    }
}

/// `like_escape(pattern, escape)`: a LIKE pattern written with escape
/// character `escape` (or none, for `''`), restated with backslash escapes,
/// the only kind DataFusion's LIKE knows.
fn like_escape(_: &SessionView, a: &[ScalarValue]) -> Outcome {
    let escape = as_text(&a[1]);
    let mut esc = escape.chars();
    let esc = match (esc.next(), esc.next()) {
        (None, _) => None,
        (Some(c), None) => Some(c),
        _ => return Err(Error::new(SqlState::InvalidEscapeSequence, "invalid escape string")),
    };
    let pattern = as_text(&a[0]);
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            c if Some(c) == esc => match chars.next() {
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => {
                    return Err(Error::new(
                        SqlState::InvalidEscapeSequence,
                        "LIKE pattern must not end with escape character",
                    ))
                }
            },
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    Ok(text(out))
}

/// A one-dimensional array literal (`{1,2}`, `{"a b",NULL}`) as a list of
/// `element` values.
pub fn parse_array(text: &str, element: &DataType) -> std::result::Result<ScalarValue, Error> {
    let malformed = || Error::new(SqlState::InvalidTextRepresentation, format!("malformed array literal: \"{text}\""));
    let body = text.trim().strip_prefix('{').and_then(|b| b.strip_suffix('}')).ok_or_else(malformed)?;
    let mut items: Vec<Option<String>> = Vec::new();
    if !body.trim().is_empty() {
        let mut chars = body.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut item = String::new();
            let mut quoted = false;
            if chars.peek() == Some(&'"') {
                quoted = true;
                chars.next();
                loop {
                    match chars.next().ok_or_else(malformed)? {
                        '"' => break,
                        '\\' => item.push(chars.next().ok_or_else(malformed)?),
                        c => item.push(c),
                    }
                }
            }
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if matches!(c, '{' | '}' | '"') || (quoted && !c.is_whitespace()) {
                    return Err(malformed());
                }
                if !quoted {
                    item.push(c);
                }
                chars.next();
            }
            let item = if quoted { item } else { item.trim().to_string() };
            items.push((quoted || !item.eq_ignore_ascii_case("null")).then_some(item));
            if chars.next().is_none() {
                break;
            }
        }
    }
    let values = items
        .into_iter()
        .map(|item| ScalarValue::Utf8(item).cast_to(element).map_err(|_| malformed()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(&values, element)))
}
