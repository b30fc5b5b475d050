//! Glue/Hive column type strings <-> Arrow types.
//!
//! `int`, `bigint`, `double`, `decimal(p,s)`, `string`, `varchar(n)`,
//! `char(n)`, `boolean`, `date`, `timestamp`, `timestamp with time zone`
//! (also `timestamptz`), `binary`, `array<T>`,
//! `struct<name:T,...>` and `map<K,V>` (plus `tinyint`, `smallint`, `float`).
//! A `varchar(n)` or `char(n)` keeps its declared form in the Arrow field's
//! metadata (key [`HIVE_TYPE_KEY`]) so mapping back loses nothing.

use crate::error::{Error, Result, SqlState};
use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use std::collections::HashMap;
use std::sync::Arc;

/// Arrow field metadata key holding the declared Hive type, where Arrow alone
/// cannot say it (varchar/char lengths).
pub const HIVE_TYPE_KEY: &str = glaux_connector::types::DECLARED_TYPE_KEY;

/// An Arrow field for a catalog column.
pub fn hive_to_field(name: &str, hive: &str) -> Result<Field> {
    let data_type = hive_to_arrow(hive)?;
    let field = Field::new(name, data_type, true);
    let lower = hive.trim().to_ascii_lowercase();
    if lower.starts_with("varchar") || lower.starts_with("char") {
        let meta = HashMap::from([(HIVE_TYPE_KEY.to_string(), normalize_hive_type(hive)?)]);
        return Ok(field.with_metadata(meta));
    }
    Ok(field)
}

/// The Arrow type of a Hive type string.
pub fn hive_to_arrow(hive: &str) -> Result<DataType> {
    let mut p = TypeParser { text: hive, pos: 0 };
    let t = p.parse_type()?;
    p.skip_ws();
    if p.pos != hive.len() {
        return Err(p.error("unexpected text after the type"));
    }
    Ok(t)
}

/// The canonical spelling of a Hive type string: `INTEGER` is `int`,
/// `ARRAY< STRING >` is `array<string>`; varchar/char lengths are kept.
pub fn normalize_hive_type(hive: &str) -> Result<String> {
    let arrow = hive_to_arrow(hive)?;
    let lower = hive.to_ascii_lowercase();
    if !lower.contains("char") {
        return arrow_to_hive(&arrow);
    }
    let mut out = String::new();
    for word in lower.split_whitespace() {
        let joins = out.ends_with(|c: char| "<>(),:".contains(c)) || word.starts_with(|c: char| "<>(),:".contains(c));
        if !out.is_empty() && !joins {
            out.push(' ');
        }
        out.push_str(word);
    }
    Ok(out)
}

/// The Hive type string for an Arrow field (its metadata wins when present).
pub fn field_to_hive(field: &Field) -> Result<String> {
    if let Some(t) = field.metadata().get(HIVE_TYPE_KEY) {
        return Ok(t.clone());
    }
    arrow_to_hive(field.data_type())
}

/// The Hive type string for an Arrow type.
pub fn arrow_to_hive(t: &DataType) -> Result<String> {
    Ok(match t {
        DataType::Null => "string".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 | DataType::UInt8 => "smallint".into(),
        DataType::Int32 | DataType::UInt16 => "int".into(),
        DataType::Int64 | DataType::UInt32 => "bigint".into(),
        DataType::UInt64 => "decimal(20,0)".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            format!("decimal({p},{s})")
        }
        DataType::Decimal256(p, s) if *p <= 38 => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            "binary".into()
        }
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone".into(),
        DataType::Dictionary(_, value) => arrow_to_hive(value)?,
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::FixedSizeList(f, _) => {
            format!("array<{}>", field_to_hive(f)?)
        }
        DataType::Struct(fields) => {
            let parts =
                fields.iter().map(|f| Ok(format!("{}:{}", f.name(), field_to_hive(f)?))).collect::<Result<Vec<_>>>()?;
            format!("struct<{}>", parts.join(","))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{},{}>", field_to_hive(&kv[0])?, field_to_hive(&kv[1])?)
            }
            other => return Err(unsupported_arrow(other)),
        },
        other => return Err(unsupported_arrow(other)),
    })
}

fn unsupported_arrow(t: &DataType) -> Error {
    Error::new(SqlState::FeatureNotSupported, format!("the Arrow type {t} has no Glue/Hive column type"))
}

/// A small recursive-descent parser for Hive type strings.
struct TypeParser<'a> {
    text: &'a str,
    pos: usize,
}

impl TypeParser<'_> {
    fn error(&self, what: &str) -> Error {
        Error::new(
            SqlState::SyntaxError,
            format!("invalid column type {:?} at character {}: {what}", self.text, self.pos + 1),
        )
    }

    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> String {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        self.pos += len;
        rest[..len].to_ascii_lowercase()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.text[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    fn number(&mut self) -> Result<u32> {
        let w = self.word();
        w.parse().map_err(|_| self.error("expected a number"))
    }

    /// `(n)` or `(p, s)`: returns the numbers given, if any.
    fn params(&mut self) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        if self.eat('(') {
            out.push(self.number()?);
            while self.eat(',') {
                out.push(self.number()?);
            }
            self.expect(')')?;
        }
        Ok(out)
    }

    fn parse_type(&mut self) -> Result<DataType> {
        let name = self.word();
        Ok(match name.as_str() {
            "tinyint" => DataType::Int8,
            "smallint" => DataType::Int16,
            "int" | "integer" => DataType::Int32,
            "bigint" => DataType::Int64,
            "float" | "real" => DataType::Float32,
            "double" => {
                // "double precision"
                let save = self.pos;
                if self.word() != "precision" {
                    self.pos = save;
                }
                DataType::Float64
            }
            "boolean" | "bool" => DataType::Boolean,
            "string" => DataType::Utf8,
            "varchar" | "char" => {
                let p = self.params()?;
                if p.len() > 1 || p.first() == Some(&0) {
                    return Err(self.error("expected a positive length"));
                }
                DataType::Utf8
            }
            "binary" => DataType::Binary,
            "date" => DataType::Date32,
            "timestamp" => {
                // "timestamp with time zone" (Trino's name), an instant.
                let save = self.pos;
                if [self.word(), self.word(), self.word()] == ["with", "time", "zone"] {
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                } else {
                    self.pos = save;
                    DataType::Timestamp(TimeUnit::Microsecond, None)
                }
            }
            "timestamptz" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "decimal" | "numeric" => {
                let p = self.params()?;
                let (precision, scale) = match p.as_slice() {
                    [] => (10, 0),
                    [p] => (*p, 0),
                    [p, s] => (*p, *s),
                    _ => return Err(self.error("decimal takes (precision, scale)")),
                };
                if !(1..=38).contains(&precision) || scale > precision {
                    return Err(self.error("decimal precision must be 1..38 and scale at most the precision"));
                }
                DataType::Decimal128(precision as u8, scale as i8)
            }
            "array" => {
                self.expect('<')?;
                let item = self.parse_type()?;
                self.expect('>')?;
                DataType::List(Arc::new(Field::new("item", item, true)))
            }
            "map" => {
                self.expect('<')?;
                let key = self.parse_type()?;
                self.expect(',')?;
                let value = self.parse_type()?;
                self.expect('>')?;
                let entries = Fields::from(vec![Field::new("key", key, false), Field::new("value", value, true)]);
                DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
            }
            "struct" => {
                self.expect('<')?;
                let mut fields = Vec::new();
                loop {
                    let field_name = self.word();
                    if field_name.is_empty() {
                        return Err(self.error("expected a field name"));
                    }
                    self.expect(':')?;
                    let t = self.parse_type()?;
                    fields.push(Field::new(field_name, t, true));
                    if !self.eat(',') {
                        break;
                    }
                }
                self.expect('>')?;
                DataType::Struct(Fields::from(fields))
            }
            "" => return Err(self.error("expected a type name")),
            other => {
                return Err(Error::new(
                    SqlState::UndefinedObject,
                    format!(
                        "type {other:?} does not exist; use one of tinyint, smallint, int, bigint, float, double, \
                         decimal(p,s), string, varchar(n), char(n), boolean, binary, date, timestamp, \
                         timestamp with time zone, array<T>, \
                         map<K,V>, struct<name:T,...>"
                    ),
                ))
            }
        })
    }
}
