//! `COPY ... TO STDOUT` data: rows in PostgreSQL's text, CSV and binary
//! COPY formats, one CopyData payload per row (plus the binary header and
//! trailer, and the CSV header line).

use super::values::Values;
use super::{binary, text, Kind};
use crate::error::Result;
use bytes::{BufMut, Bytes, BytesMut};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::Schema;

/// The COPY format and its options.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyFormat {
    pub kind: CopyKind,
    pub header: bool,
    pub delimiter: char,
    /// The text a NULL is written as (`\N` in text, empty in CSV).
    pub null: String,
    pub quote: char,
    pub escape: char,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CopyKind {
    Text,
    Csv,
    Binary,
}

impl CopyFormat {
    /// The defaults of a format: tab and `\N` for text, comma and empty for
    /// CSV, `"` quoting.
    pub fn new(kind: CopyKind) -> Self {
        let (delimiter, null) = match kind {
            CopyKind::Csv => (',', String::new()),
            _ => ('\t', "\\N".to_string()),
        };
        CopyFormat { kind, header: false, delimiter, null, quote: '"', escape: '"' }
    }

    /// CopyOutResponse's overall format code: 1 binary, 0 textual.
    pub fn code(&self) -> i8 {
        i8::from(self.kind == CopyKind::Binary)
    }
}

/// Encodes batches of one result as COPY data.
pub struct CopyEncoder {
    format: CopyFormat,
    kinds: Vec<Kind>,
    names: Vec<String>,
}

impl CopyEncoder {
    pub fn new(schema: &Schema, format: CopyFormat) -> Self {
        let kinds = schema.fields().iter().map(|f| Kind::of(f)).collect();
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        CopyEncoder { format, kinds, names }
    }

    /// What precedes the rows: the binary signature, or the CSV/text header line.
    pub fn start(&self) -> Option<Bytes> {
        match self.format.kind {
            CopyKind::Binary => {
                let mut out = BytesMut::new();
                out.put_slice(b"PGCOPY\n\xff\r\n\0");
                out.put_i32(0);
                out.put_i32(0);
                Some(out.freeze())
            }
            _ if self.format.header => {
                let mut out = BytesMut::new();
                for (i, name) in self.names.iter().enumerate() {
                    if i > 0 {
                        out.put_slice(self.format.delimiter.to_string().as_bytes());
                    }
                    self.put_field(name, &mut out);
                }
                out.put_u8(b'\n');
                Some(out.freeze())
            }
            _ => None,
        }
    }

    /// What follows the rows: the binary trailer.
    pub fn finish(&self) -> Option<Bytes> {
        (self.format.kind == CopyKind::Binary).then(|| Bytes::from_static(&[0xff, 0xff]))
    }

    /// One payload per row of `batch`.
    pub fn rows(&self, batch: &RecordBatch) -> Result<Vec<Bytes>> {
        let columns: Vec<Values> =
            batch.columns().iter().zip(&self.kinds).map(|(c, k)| Values::new(c, k)).collect::<Result<_>>()?;
        let mut rows = Vec::with_capacity(batch.num_rows());
        let mut value = BytesMut::new();
        for row in 0..batch.num_rows() {
            let mut out = BytesMut::new();
            if self.format.kind == CopyKind::Binary {
                out.put_i16(columns.len() as i16);
            }
            for (i, values) in columns.iter().enumerate() {
                if self.format.kind == CopyKind::Binary {
                    if values.is_null(row) {
                        out.put_i32(-1);
                    } else {
                        value.clear();
                        binary::write(values, row, &mut value);
                        out.put_i32(value.len() as i32);
                        out.put_slice(&value);
                    }
                    continue;
                }
                if i > 0 {
                    out.put_slice(self.format.delimiter.to_string().as_bytes());
                }
                if values.is_null(row) {
                    out.put_slice(self.format.null.as_bytes());
                } else {
                    value.clear();
                    text::write(values, row, &mut value);
                    self.put_field(&String::from_utf8_lossy(&value), &mut out);
                }
            }
            if self.format.kind != CopyKind::Binary {
                out.put_u8(b'\n');
            }
            rows.push(out.freeze());
        }
        Ok(rows)
    }

    /// A non-NULL field, escaped (text) or quoted where needed (CSV).
    fn put_field(&self, value: &str, out: &mut BytesMut) {
        let f = &self.format;
        match f.kind {
            CopyKind::Csv => {
                let needs_quotes = value == f.null
                    || value.contains(f.delimiter)
                    || value.contains(f.quote)
                    || value.contains(['\n', '\r'])
                    || value == "\\.";
                if !needs_quotes {
                    out.put_slice(value.as_bytes());
                    return;
                }
                let mut quoted = String::with_capacity(value.len() + 2);
                quoted.push(f.quote);
                for c in value.chars() {
                    if c == f.quote || c == f.escape {
                        quoted.push(f.escape);
                    }
                    quoted.push(c);
                }
                quoted.push(f.quote);
                out.put_slice(quoted.as_bytes());
            }
            _ => {
                let mut escaped = String::with_capacity(value.len());
                for c in value.chars() {
                    match c {
                        '\\' => escaped.push_str("\\\\"),
                        '\n' => escaped.push_str("\\n"),
                        '\r' => escaped.push_str("\\r"),
                        '\t' if f.delimiter == '\t' => escaped.push_str("\\t"),
                        c if c == f.delimiter => {
                            escaped.push('\\');
                            escaped.push(c);
                        }
                        c => escaped.push(c),
                    }
                }
                out.put_slice(escaped.as_bytes());
            }
        }
    }
}
