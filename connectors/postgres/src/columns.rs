//! A PostgreSQL table's columns as glaux reads them: each column's type,
//! read from the source's own catalog, decides its Arrow type, the
//! expression the scan selects, and how its binary values are decoded
//! (`decode`). Every mapping is exact; a type with no exact Arrow form
//! (`money`, whose text depends on the server's locale; `timetz`;
//! geometric, range and composite types; arrays of more than one
//! dimension) leaves the column out, and the table says which columns it
//! left out so glaux can say so.

use datafusion::arrow::datatypes::{DataType, Field, IntervalUnit, TimeUnit};
use glaux_connector::types::{DECLARED_TYPE_KEY, EXTENSION_KEY, JSON_EXTENSION, UUID_EXTENSION};
use std::collections::HashMap;
use std::sync::Arc;

/// How a column's values arrive and become Arrow values.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(p,s)` as decimal(p,s); unconstrained `numeric` as
    /// decimal(38,10). A value that does not fit exactly is an error.
    Numeric {
        precision: u8,
        scale: i8,
    },
    /// Text in UTF-8: text, varchar, char(n) (padded, as PostgreSQL shows
    /// it), name, enums, xml, and the types selected as `::text`.
    Text,
    Json,
    /// jsonb's binary form: a version byte, then the text.
    Jsonb,
    Bytea,
    Uuid,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    /// A one-dimensional array.
    Array(Box<Kind>),
}

/// The precision and scale unconstrained `numeric` columns are read as.
pub const FREE_NUMERIC: (u8, i8) = (38, 10);

/// Types read as their text form (`col::text`): inet, cidr, macaddr,
/// macaddr8, bit, varbit, "char", tsvector, tsquery.
const AS_TEXT: &[u32] = &[869, 650, 829, 774, 1560, 1562, 18, 3614, 3615];

/// One column of the source table.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    /// Selected as its text form (`AS_TEXT`, or an array of such).
    pub as_text: bool,
    /// `varchar(n)` or `char(n)` as declared, for a text column.
    pub declared: Option<String>,
}

impl Column {
    /// The Arrow field of this column.
    pub fn field(&self) -> Field {
        let field = Field::new(&self.name, arrow_type(&self.kind), true);
        let extension = match self.kind {
            Kind::Uuid => Some(UUID_EXTENSION),
            Kind::Json | Kind::Jsonb => Some(JSON_EXTENSION),
            _ => None,
        };
        match (extension, &self.declared) {
            (Some(name), _) => field.with_metadata(HashMap::from([(EXTENSION_KEY.to_string(), name.to_string())])),
            (None, Some(declared)) => {
                field.with_metadata(HashMap::from([(DECLARED_TYPE_KEY.to_string(), declared.clone())]))
            }
            (None, None) => field,
        }
    }

    /// What the scan selects for it: the quoted name, or its text form
    /// named as the column.
    pub fn select(&self) -> String {
        let quoted = quote(&self.name);
        match self.as_text {
            true => format!("{} AS {quoted}", self.expression(&quoted)),
            false => quoted,
        }
    }

    /// The column's value from `reference` (its quoted name, perhaps
    /// qualified): as it is, or its text form.
    pub fn expression(&self, reference: &str) -> String {
        match (&self.kind, self.as_text) {
            (Kind::Array(_), true) => format!("{reference}::text[]"),
            (_, true) => format!("{reference}::text"),
            _ => reference.to_string(),
        }
    }
}

/// `name` as a PostgreSQL identifier (double quotes doubled).
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn arrow_type(kind: &Kind) -> DataType {
    match kind {
        Kind::Bool => DataType::Boolean,
        Kind::Int2 => DataType::Int16,
        Kind::Int4 => DataType::Int32,
        Kind::Int8 => DataType::Int64,
        Kind::Float4 => DataType::Float32,
        Kind::Float8 => DataType::Float64,
        Kind::Numeric { precision, scale } => DataType::Decimal128(*precision, *scale),
        Kind::Text | Kind::Json | Kind::Jsonb => DataType::Utf8,
        Kind::Bytea => DataType::Binary,
        Kind::Uuid => DataType::FixedSizeBinary(16),
        Kind::Date => DataType::Date32,
        Kind::Time => DataType::Time64(TimeUnit::Microsecond),
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        Kind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
        Kind::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
        Kind::Array(item) => DataType::List(Arc::new(Field::new("item", arrow_type(item), true))),
    }
}

/// The columns of `schema.table`, asked of the source's catalog: name,
/// type (a domain's base type), typmod, whether the type is an enum, and
/// an array's element type and whether that is an enum. The type's name
/// is for messages. The last column says whether the relation is a view.
pub const COLUMNS: &str = "SELECT a.attname::text, b.oid, \
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, \
       b.typtype = 'e', b.typelem, COALESCE(e.typtype = 'e', false), format_type(a.atttypid, a.atttypmod), \
       c.relkind = 'v' \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
     JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END \
     LEFT JOIN pg_catalog.pg_type e ON e.oid = b.typelem AND b.typcategory = 'A' \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'v', 'm', 'p', 'f') \
       AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY a.attnum";

/// A row of [`COLUMNS`].
pub struct Described {
    pub name: String,
    pub oid: u32,
    pub typmod: i32,
    pub is_enum: bool,
    pub element: u32,
    pub element_is_enum: bool,
    pub type_name: String,
}

/// A result column of a prepared statement, described as [`COLUMNS`]
/// would (a domain as its base type; no typmod).
pub fn describe(name: &str, pg_type: &postgres_types::Type) -> Described {
    use postgres_types::Kind as K;
    let base = match pg_type.kind() {
        K::Domain(base) => base,
        _ => pg_type,
    };
    let (element, element_is_enum) = match base.kind() {
        K::Array(item) => (item.oid(), matches!(item.kind(), K::Enum(_))),
        _ => (0, false),
    };
    Described {
        name: name.to_string(),
        oid: base.oid(),
        typmod: -1,
        is_enum: matches!(base.kind(), K::Enum(_)),
        element,
        element_is_enum,
        type_name: base.name().to_string(),
    }
}

/// The column `described` is, or the type it has that glaux cannot read.
pub fn column(described: &Described) -> Result<Column, String> {
    let Described { name, oid, typmod, is_enum, element, element_is_enum, type_name } = described;
    let scalar = |oid: u32, typmod: i32, is_enum: bool| -> Option<(Kind, bool)> {
        if is_enum {
            return Some((Kind::Text, false));
        }
        if AS_TEXT.contains(&oid) {
            return Some((Kind::Text, true));
        }
        Some((scalar_kind(oid, typmod)?, false))
    };
    let mapped = if *element != 0 {
        // An array; its typmod is its element's.
        scalar(*element, *typmod, *element_is_enum).map(|(kind, as_text)| (Kind::Array(Box::new(kind)), as_text))
    } else {
        scalar(*oid, *typmod, *is_enum)
    };
    match mapped {
        Some((kind, as_text)) => {
            // varchar(n), char(n): the typmod is n + 4.
            let declared = match (*element, *oid) {
                (0, 1043) if *typmod >= 4 => Some(format!("varchar({})", typmod - 4)),
                (0, 1042) if *typmod >= 4 => Some(format!("char({})", typmod - 4)),
                _ => None,
            };
            Ok(Column { name: name.clone(), kind, as_text, declared })
        }
        None => Err(type_name.clone()),
    }
}

/// The kind of a scalar type by its OID.
fn scalar_kind(oid: u32, typmod: i32) -> Option<Kind> {
    Some(match oid {
        16 => Kind::Bool,
        21 => Kind::Int2,
        23 => Kind::Int4,
        20 => Kind::Int8,
        700 => Kind::Float4,
        701 => Kind::Float8,
        1700 => {
            let (precision, scale) = numeric_typmod(typmod);
            Kind::Numeric { precision, scale }
        }
        25 | 1043 | 1042 | 19 | 142 => Kind::Text,
        114 => Kind::Json,
        3802 => Kind::Jsonb,
        17 => Kind::Bytea,
        2950 => Kind::Uuid,
        1082 => Kind::Date,
        1083 => Kind::Time,
        1114 => Kind::Timestamp,
        1184 => Kind::TimestampTz,
        1186 => Kind::Interval,
        _ => return None,
    })
}

/// numeric's typmod as (precision, scale): `((p << 16) | s) + 4`, or -1
/// for none. Precisions past 38 and negative scales (PostgreSQL 15's
/// numeric(2,-3)) read as unconstrained.
fn numeric_typmod(typmod: i32) -> (u8, i8) {
    if typmod < 4 {
        return FREE_NUMERIC;
    }
    let precision = ((typmod - 4) >> 16) & 0xffff;
    let scale = (typmod - 4) & 0x7ff;
    if !(1..=38).contains(&precision) || scale > precision || (typmod - 4) & 0x400 != 0 {
        return FREE_NUMERIC;
    }
    (precision as u8, scale as i8)
}
