//! Which filters a source may evaluate: only those it answers exactly as
//! glaux would. A filter not pushed runs in glaux, so refusing costs
//! bytes, never answers; pushing one the source evaluates differently
//! returns a wrong answer nobody notices. The rules are glaux's, decided
//! on expression and Arrow types, not on what an unparser can print:
//!
//! - a condition is a comparison (`=`, `<>`, `<`, `<=`, `>`, `>=`),
//!   `BETWEEN`, `IN (list)` or `IS [NOT] NULL` of one column with
//!   literals of the column's own type, or AND / OR / NOT of such
//!   conditions (LIKE is never sent: SQLite's ignores ASCII case,
//!   MySQL's follows its collation, PostgreSQL's pads `char(n)`);
//! - columns of integer, decimal, boolean, date, and timestamp without
//!   time zone types compare in PostgreSQL and MySQL; in SQLite only
//!   integer and boolean columns do (its dates and timestamps are text,
//!   and `CAST('2024-01-01' AS DATE)` is the number 2024 there; its
//!   decimals are stored as floating point; a column of no declared type
//!   compares the integer 5 and the text '5' as different values, which
//!   glaux reads as the same text). Strings are never compared at the
//!   source: collations order and compare differently (MySQL's default
//!   ones ignore case and accents; PostgreSQL's `char(n)`, read as the
//!   same Arrow string as `text`, compares ignoring trailing spaces);
//! - a Flight SQL server's engine is unknown: only integer and boolean
//!   columns compare there, as in SQLite;
//! - a timestamp with a fraction of a second is not sent to MySQL, whose
//!   `CAST(... AS DATETIME)` drops it;
//! - never a cast (a source rounds and parses differently), a function,
//!   floating point (NaN and rounding), a time zone, or a subquery.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

/// The SQL dialect of a source, for what it evaluates as glaux does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
    /// A Flight SQL server: standard SQL of an engine glaux does not
    /// know, so only integer and boolean columns are compared there.
    FlightSql,
}

/// Whether `filter`, on a table of `schema`, may be sent to a source
/// speaking `dialect`.
pub fn pushable(filter: &Expr, schema: &Schema, dialect: Dialect) -> bool {
    Rules { schema, dialect }.condition(filter)
}

/// Whether values of `data_type` compare (equality and order) at a
/// source speaking `dialect` as in glaux (the rules above).
pub fn comparable(data_type: &DataType, dialect: Dialect) -> bool {
    use DataType as D;
    match data_type {
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => true,
        D::Boolean => true,
        D::Decimal128(..) | D::Decimal256(..) | D::Date32 | D::Timestamp(_, None) => {
            matches!(dialect, Dialect::Postgres | Dialect::MySql)
        }
        _ => false,
    }
}

struct Rules<'a> {
    schema: &'a Schema,
    dialect: Dialect,
}

impl Rules<'_> {
    fn condition(&self, e: &Expr) -> bool {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op: Operator::And | Operator::Or, right }) => {
                self.condition(left) && self.condition(right)
            }
            Expr::Not(inner) => self.condition(inner),
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => self.comparison(left, *op, right),
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => self.column(inner).is_some(),
            Expr::Between(Between { expr, low, high, .. }) => {
                self.comparable(expr) && self.literal_for(expr, low) && self.literal_for(expr, high)
            }
            Expr::InList(list) => {
                self.comparable(&list.expr) && list.list.iter().all(|v| self.literal_for(&list.expr, v))
            }
            _ => false,
        }
    }

    fn comparison(&self, left: &Expr, op: Operator, right: &Expr) -> bool {
        use Operator as O;
        if !matches!(op, O::Eq | O::NotEq | O::Lt | O::LtEq | O::Gt | O::GtEq) {
            return false;
        }
        let (column, literal) = if self.column(left).is_some() { (left, right) } else { (right, left) };
        self.comparable(column) && self.literal_for(column, literal)
    }

    fn column<'e>(&self, e: &'e Expr) -> Option<&'e Column> {
        match e {
            Expr::Column(c) => Some(c),
            _ => None,
        }
    }

    fn data_type(&self, e: &Expr) -> Option<&DataType> {
        let column = self.column(e)?;
        self.schema.field_with_name(&column.name).ok().map(|f| f.data_type())
    }

    /// Whether the column `e` compares (equality and order) at the
    /// source as in glaux.
    fn comparable(&self, e: &Expr) -> bool {
        self.data_type(e).is_some_and(|t| comparable(t, self.dialect))
    }

    /// Whether `value` is a non-NULL literal of the type of column `column`.
    fn literal_for(&self, column: &Expr, value: &Expr) -> bool {
        let (Some(wanted), Expr::Literal(value, _)) = (self.data_type(column), value) else { return false };
        !value.is_null()
            && same_type(&value.data_type(), wanted)
            && !matches!(value, ScalarValue::Utf8(Some(s)) if s.contains('\0'))
            && (self.dialect != Dialect::MySql || !fraction_of_second(value))
    }
}

/// Whether a timestamp literal has a fraction of a second, which MySQL's
/// `CAST(... AS DATETIME)` (precision 0) drops.
fn fraction_of_second(value: &ScalarValue) -> bool {
    match value {
        ScalarValue::TimestampSecond(..) => false,
        ScalarValue::TimestampMillisecond(Some(v), _) => v % 1_000 != 0,
        ScalarValue::TimestampMicrosecond(Some(v), _) => v % 1_000_000 != 0,
        ScalarValue::TimestampNanosecond(Some(v), _) => v % 1_000_000_000 != 0,
        _ => false,
    }
}

fn same_type(literal: &DataType, column: &DataType) -> bool {
    use DataType as D;
    match (literal, column) {
        (D::Utf8 | D::LargeUtf8 | D::Utf8View, D::Utf8 | D::LargeUtf8 | D::Utf8View) => true,
        (D::Timestamp(a, None), D::Timestamp(b, None)) => a == b,
        _ => literal == column,
    }
}
