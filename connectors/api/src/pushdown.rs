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
//!   time zone types compare everywhere; strings compare for equality
//!   (and IN) only where the source's default comparison is byte-wise
//!   for every string type (SQLite's BINARY), never their order
//!   (collations sort differently). Not in MySQL, whose default
//!   collations ignore case and accents, nor in PostgreSQL, where a
//!   `char(n)` column (read as the same Arrow string as `text`) compares
//!   and matches LIKE ignoring trailing spaces;
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
}

/// Whether `filter`, on a table of `schema`, may be sent to a source
/// speaking `dialect`.
pub fn pushable(filter: &Expr, schema: &Schema, dialect: Dialect) -> bool {
    Rules { schema, dialect }.condition(filter)
}

struct Rules<'a> {
    schema: &'a Schema,
    dialect: Dialect,
}

/// How a column's values may be compared at the source.
#[derive(PartialEq, Eq)]
enum Comparable {
    /// Equality and order.
    Ordered,
    /// Equality only (strings).
    Equality,
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
                self.kind(expr) == Some(Comparable::Ordered)
                    && self.literal_for(expr, low)
                    && self.literal_for(expr, high)
            }
            Expr::InList(list) => {
                self.kind(&list.expr).is_some() && list.list.iter().all(|v| self.literal_for(&list.expr, v))
            }
            _ => false,
        }
    }

    fn comparison(&self, left: &Expr, op: Operator, right: &Expr) -> bool {
        let equality = matches!(op, Operator::Eq | Operator::NotEq);
        let order = matches!(op, Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq);
        if !equality && !order {
            return false;
        }
        let (column, literal) = if self.column(left).is_some() { (left, right) } else { (right, left) };
        match self.kind(column) {
            Some(Comparable::Ordered) => self.literal_for(column, literal),
            Some(Comparable::Equality) => equality && self.literal_for(column, literal),
            None => false,
        }
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

    /// How the column `e` compares at the source (None: not at all).
    fn kind(&self, e: &Expr) -> Option<Comparable> {
        use DataType as D;
        match self.data_type(e)? {
            D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => {
                Some(Comparable::Ordered)
            }
            D::Decimal128(..) | D::Decimal256(..) | D::Boolean | D::Date32 => Some(Comparable::Ordered),
            D::Timestamp(_, None) => Some(Comparable::Ordered),
            D::Utf8 | D::LargeUtf8 | D::Utf8View => match self.dialect {
                Dialect::Sqlite => Some(Comparable::Equality),
                Dialect::Postgres | Dialect::MySql => None,
            },
            _ => None,
        }
    }

    /// Whether `value` is a non-NULL literal of the type of column `column`.
    fn literal_for(&self, column: &Expr, value: &Expr) -> bool {
        let (Some(wanted), Expr::Literal(value, _)) = (self.data_type(column), value) else { return false };
        !value.is_null()
            && same_type(&value.data_type(), wanted)
            && !matches!(value, ScalarValue::Utf8(Some(s)) if s.contains('\0'))
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
