//! Result column names as PostgreSQL chooses them, for columns the query
//! did not name with `AS`: a column reference is its column, a function
//! call its function (`count`), a cast of something unnamed its type
//! (`int4`), `CASE` is `case`, and anything else `?column?`. DataFusion's
//! own names (`Int64(1) + Int64(1)`) stay inside the plan; these are the
//! names clients are shown.

use datafusion::sql::sqlparser::ast::{
    DataType, Expr, ObjectNamePart, Query, Select, SelectItem, SetExpr, Statement, TimezoneInfo,
};

/// Names for the leading and trailing output columns of a query (those
/// before the first and after the last `*`), or None where DataFusion's
/// name stands (`AS` aliases, columns from `*`).
pub struct ColumnNames {
    leading: Vec<Option<String>>,
    trailing: Vec<Option<String>>,
}

impl ColumnNames {
    pub fn of(statement: &Statement) -> Option<ColumnNames> {
        match statement {
            Statement::Query(q) => Self::of_query(q),
            _ => None,
        }
    }

    fn of_query(query: &Query) -> Option<ColumnNames> {
        let items = &leftmost_select(query)?.projection;
        let star = |i: &SelectItem| matches!(i, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..));
        let first = items.iter().position(star).unwrap_or(items.len());
        let last = items.iter().rposition(star).map_or(items.len(), |p| p + 1);
        let name = |i: &SelectItem| match i {
            SelectItem::UnnamedExpr(e) => Some(figure(e).0),
            _ => None,
        };
        Some(ColumnNames {
            leading: items[..first].iter().map(name).collect(),
            trailing: if last < items.len() { items[last..].iter().map(name).collect() } else { Vec::new() },
        })
    }

    /// The client-facing name of output column `i` of `count`, if it
    /// differs from the plan's.
    pub fn name(&self, i: usize, count: usize) -> Option<&str> {
        if i < self.leading.len() {
            return self.leading[i].as_deref();
        }
        let from_end = count - i;
        if from_end <= self.trailing.len() {
            return self.trailing[self.trailing.len() - from_end].as_deref();
        }
        None
    }
}

/// PostgreSQL's FigureColname: a name and how strong it is (2: a real
/// name, 1: a keyword-ish fallback like `case`, 0: `?column?`).
fn figure(expr: &Expr) -> (String, u8) {
    match expr {
        Expr::Identifier(ident) => (ident.value.clone(), 2),
        Expr::CompoundIdentifier(parts) => (parts.last().map(|p| p.value.clone()).unwrap_or_default(), 2),
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => (ident.value.to_lowercase(), 2),
            _ => unnamed(),
        },
        Expr::Cast { expr, data_type, .. } => match figure(expr) {
            named @ (_, 2) => named,
            _ => (type_name(data_type), 1),
        },
        Expr::TypedString(typed) => (type_name(&typed.data_type), 1),
        Expr::Nested(inner) | Expr::Collate { expr: inner, .. } => figure(inner),
        Expr::Case { .. } => ("case".into(), 1),
        Expr::Exists { .. } => ("exists".into(), 2),
        Expr::Array(_) => ("array".into(), 2),
        Expr::Extract { .. } => ("extract".into(), 2),
        Expr::Substring { .. } => ("substring".into(), 2),
        Expr::Position { .. } => ("position".into(), 2),
        Expr::Overlay { .. } => ("overlay".into(), 2),
        Expr::Trim { .. } => ("btrim".into(), 2),
        Expr::Ceil { .. } => ("ceil".into(), 2),
        Expr::Floor { .. } => ("floor".into(), 2),
        Expr::Interval(_) => ("interval".into(), 1),
        Expr::AtTimeZone { .. } => ("timezone".into(), 2),
        Expr::Subquery(q) => first_output(q).unwrap_or_else(unnamed),
        _ => unnamed(),
    }
}

/// The SELECT whose columns name a query's output (the first of a UNION).
fn leftmost_select(query: &Query) -> Option<&Select> {
    let mut body = query.body.as_ref();
    loop {
        body = match body {
            SetExpr::Query(q) => q.body.as_ref(),
            SetExpr::SetOperation { left, .. } => left.as_ref(),
            SetExpr::Select(select) => return Some(select),
            _ => return None,
        }
    }
}

/// A scalar subquery is named after its one column.
fn first_output(query: &Query) -> Option<(String, u8)> {
    match leftmost_select(query)?.projection.first()? {
        SelectItem::UnnamedExpr(e) => Some(figure(e)).filter(|(_, strength)| *strength > 0),
        SelectItem::ExprWithAlias { alias, .. } => Some((alias.value.clone(), 2)),
        _ => None,
    }
}

fn unnamed() -> (String, u8) {
    ("?column?".into(), 0)
}

/// A type's name in pg_type (`integer` is `int4`).
fn type_name(t: &DataType) -> String {
    match t {
        DataType::SmallInt(_) | DataType::Int2(_) => "int2",
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => "int4",
        DataType::BigInt(_) | DataType::Int8(_) => "int8",
        DataType::Real | DataType::Float4 => "float4",
        DataType::Double(_) | DataType::DoublePrecision | DataType::Float8 | DataType::Float(_) => "float8",
        DataType::Numeric(_) | DataType::Decimal(_) | DataType::Dec(_) => "numeric",
        DataType::Boolean | DataType::Bool => "bool",
        DataType::Text | DataType::String(_) => "text",
        DataType::Varchar(_) | DataType::CharacterVarying(_) => "varchar",
        DataType::Char(_) | DataType::Character(_) => "bpchar",
        DataType::Bytea => "bytea",
        DataType::Date => "date",
        DataType::Time(_, _) => "time",
        DataType::Timestamp(_, TimezoneInfo::Tz | TimezoneInfo::WithTimeZone) => "timestamptz",
        DataType::Timestamp(_, _) => "timestamp",
        DataType::Interval { .. } => "interval",
        DataType::Uuid => "uuid",
        DataType::JSON => "json",
        DataType::JSONB => "jsonb",
        DataType::Array(_) => "array",
        other => return other.to_string().to_lowercase(),
    }
    .to_string()
}
