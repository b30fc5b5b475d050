//! Whether a statement reads the system catalogs: names a pg_catalog or
//! information_schema relation, calls a catalog function (`pg_*`,
//! `obj_description`, `to_regclass`, ...) or casts to `regclass` or
//! `regnamespace`. Decided on the statement's tree, so a string constant
//! or a column that merely contains `pg_` does not count; the session
//! takes a catalog snapshot only for a statement that does.

use datafusion::sql::sqlparser::ast::{visit_expressions, visit_relations, DataType, Expr, ObjectName, Statement};
use std::ops::ControlFlow;

/// Whether `statement` reads the system catalogs.
pub fn reads_catalog(statement: &Statement) -> bool {
    let relations = visit_relations(statement, |name| match names_catalog_relation(name) {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    });
    if relations.is_break() {
        return true;
    }
    visit_expressions(statement, |e| match reads_catalog_expr(e) {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    })
    .is_break()
}

fn parts(name: &ObjectName) -> impl Iterator<Item = String> + '_ {
    name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.to_ascii_lowercase())
}

/// `pg_class`, `pg_catalog.pg_namespace`, `information_schema.tables`,
/// and table functions such as `pg_get_keywords()`.
fn names_catalog_relation(name: &ObjectName) -> bool {
    parts(name).any(|p| p.starts_with("pg_") || p == "information_schema")
}

fn reads_catalog_expr(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => parts(&f.name).any(|p| is_catalog_function(&p)),
        Expr::Cast { data_type, .. }
        | Expr::TypedString(datafusion::sql::sqlparser::ast::TypedString { data_type, .. }) => {
            is_catalog_type(data_type)
        }
        _ => false,
    }
}

fn is_catalog_function(name: &str) -> bool {
    name.starts_with("pg_")
        || name.ends_with("_description")
        || name.contains("regclass")
        || name.contains("regnamespace")
}

/// `regclass` and `regnamespace` (and arrays of them) look names up in
/// the catalog; `regtype` and `regproc` do not need a snapshot.
fn is_catalog_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Regclass => true,
        DataType::Custom(name, _) => parts(name).any(|p| p == "regclass" || p == "regnamespace"),
        DataType::Array(datafusion::sql::sqlparser::ast::ArrayElemTypeDef::SquareBracket(inner, _))
        | DataType::Array(datafusion::sql::sqlparser::ast::ArrayElemTypeDef::AngleBracket(inner))
        | DataType::Array(datafusion::sql::sqlparser::ast::ArrayElemTypeDef::Parenthesis(inner)) => {
            is_catalog_type(inner)
        }
        _ => false,
    }
}
