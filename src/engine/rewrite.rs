//! Rewrites of a parsed query before DataFusion plans it: PostgreSQL
//! syntax whose meaning DataFusion lacks, expressed in what it has.
//!
//! - `CAST(x AS uuid)`, `x::uuid`, `uuid '...'` become `uuid_in(x)`, and
//!   the same for `json` (`json_in`): DataFusion has no SQL type for them,
//!   glaux's functions ([`super::functions`]) return tagged Arrow values.
//! - Duplicate output column names, which DataFusion refuses, get distinct
//!   aliases when planning fails over them.
//! - The PostgreSQL catalog dialect clients send ([`catalog_dialect`]):
//!   unqualified `pg_class` & co. resolve in pg_catalog (searched first, as
//!   in PostgreSQL), `pg_catalog.f()` is `f()`, `OPERATOR(pg_catalog.~)` is
//!   `~`, `COLLATE pg_catalog.default` is dropped, and casts to the OID
//!   types become functions: `x::regclass` is `regclass(x)` (name to OID)
//!   and `x::regclass::text` is `regclass_name(x)` (OID to name); likewise
//!   regtype, regnamespace, regproc. `::oid` is an unsigned integer,
//!   `::name` and `::"char"` are text (also as array element types).
//! - PostgreSQL expressions DataFusion plans differently or not at all:
//!   `LIKE ... ESCAPE 'c'` (through `like_escape`), `x <> ALL(array)`,
//!   `(composite).field`, set-returning functions in a select list
//!   (`generate_series`, `generate_subscripts`, `_pg_expandarray`:
//!   unnested lists).
//! - Query shapes DataFusion lacks (functions in FROM, `ARRAY(subquery)`,
//!   subqueries in ORDER BY or over always-empty catalogs, `IN (subquery)`
//!   in a select list) are in [`super::reshape`].
//!
//! Correlated subqueries DataFusion refuses are restated separately, only
//! when it refuses them ([`super::decorrelate`]).

use super::reshape;
use crate::pgcatalog::tables;
use datafusion::sql::sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, BinaryOperator, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgumentList, FunctionArguments, Ident, ObjectName, ObjectNamePart, SelectItem, SetExpr, Statement, Value,
    VisitMut,
};
use std::ops::ControlFlow;

/// The statement DataFusion is given for `ast`.
pub fn for_datafusion(ast: &Statement) -> Statement {
    let mut ast = ast.clone();
    catalog_dialect(&mut ast);
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut ast, |expr| {
        rewrite_type_input(expr);
        ControlFlow::<()>::Continue(())
    });
    ast
}

/// Rewrite the PostgreSQL catalog dialect (see the module docs).
fn catalog_dialect(ast: &mut Statement) {
    let _ = datafusion::sql::sqlparser::ast::visit_relations_mut(ast, |name| {
        let last = name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_ascii_lowercase()).unwrap_or_default();
        if name.0.len() == 1 && tables::is_pg_catalog_table(&last) {
            name.0.insert(0, ObjectNamePart::Identifier(Ident::new("pg_catalog")));
        }
        // `pg_catalog.generate_series(...)` in FROM is a table function.
        let in_pg_catalog =
            name.0.len() == 2 && name.0[0].as_ident().is_some_and(|i| i.value.eq_ignore_ascii_case("pg_catalog"));
        if in_pg_catalog && !tables::is_pg_catalog_table(&last) {
            name.0.remove(0);
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = ast.visit(&mut reshape::TableFunctions);
    let _ = ast.visit(&mut reshape::OverEmptyTables);
    let _ = ast.visit(&mut reshape::SubqueriesInOrderBy);
    let _ = ast.visit(&mut reshape::InSubqueriesInSelectLists);
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(ast, |expr| {
        rewrite_catalog_expr(expr);
        ControlFlow::<()>::Continue(())
    });
}

fn rewrite_catalog_expr(expr: &mut Expr) {
    match expr {
        Expr::Function(_) => rewrite_function(expr),
        Expr::BinaryOp { op: BinaryOperator::PGCustomBinaryOperator(parts), .. } => {
            let simple = match parts.last().map(String::as_str) {
                Some("~") => Some(BinaryOperator::PGRegexMatch),
                Some("~*") => Some(BinaryOperator::PGRegexIMatch),
                Some("!~") => Some(BinaryOperator::PGRegexNotMatch),
                Some("!~*") => Some(BinaryOperator::PGRegexNotIMatch),
                Some("=") => Some(BinaryOperator::Eq),
                Some("<>") => Some(BinaryOperator::NotEq),
                Some("~~") => Some(BinaryOperator::PGLikeMatch),
                Some("!~~") => Some(BinaryOperator::PGNotLikeMatch),
                _ => None,
            };
            if let (Some(simple), Expr::BinaryOp { op, .. }) = (simple, &mut *expr) {
                *op = simple;
            }
        }
        Expr::Like { pattern, escape_char: escape @ Some(_), .. }
        | Expr::ILike { pattern, escape_char: escape @ Some(_), .. } => {
            // DataFusion only escapes with a backslash: restate the pattern.
            if matches!(escape.as_ref(), Some(Value::SingleQuotedString(e)) if e == "\\") {
                return;
            }
            let Some(esc) = escape.take() else { return };
            let inner = std::mem::replace(pattern.as_mut(), Expr::value(Value::Null));
            **pattern = call_with("like_escape", vec![inner, Expr::value(esc)]);
        }
        Expr::CompoundFieldAccess { root, access_chain } if matches!(root.as_ref(), Expr::Nested(_)) => {
            // `(composite).field`, as in `(_pg_expandarray(a)).n`.
            let mut names = Vec::new();
            for access in access_chain.iter() {
                match access {
                    AccessExpr::Dot(Expr::Identifier(field)) => names.push(field.value.clone()),
                    _ => return,
                }
            }
            let mut out = std::mem::replace(root.as_mut(), Expr::value(Value::Null));
            for name in names {
                out = call_with("get_field", vec![out, Expr::value(Value::SingleQuotedString(name))]);
            }
            *expr = out;
        }
        Expr::Subquery(query) if reshape::empty_scalar_subquery(query) => *expr = Expr::value(Value::Null),
        Expr::AllOp { left, compare_op: BinaryOperator::NotEq, right }
            if !matches!(right.as_ref(), Expr::Subquery(_)) =>
        {
            // DataFusion has ALL only over subqueries.
            let value = std::mem::replace(left.as_mut(), Expr::value(Value::Null));
            let array = std::mem::replace(right.as_mut(), Expr::value(Value::Null));
            *expr = call_with("glaux_differs_from_all", vec![value, array]);
        }
        Expr::Collate { expr: inner, .. } => {
            *expr = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
        }
        Expr::Cast { data_type: DataType::Array(_), expr: inner, format: None, array: false, .. } if matches!(inner.as_ref(), Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_))) =>
        {
            // `'{a,b}'::text[]`: PostgreSQL's array input, then the element type.
            let text = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
            **inner = call("glaux_array_in", text);
            if let Expr::Cast { data_type: DataType::Array(ArrayElemTypeDef::SquareBracket(element, _)), .. } = expr {
                if let Some(standard) = pg_type_name(element).and_then(|n| standard_type(&n)) {
                    **element = standard;
                }
            }
        }
        Expr::Cast { format: None, array: false, .. } => rewrite_cast(expr),
        _ => {}
    }
}

/// A function call: pg_catalog names unqualified, ARRAY(subquery), and
/// set-returning functions in a select list as their list forms, unnested.
fn rewrite_function(expr: &mut Expr) {
    let Expr::Function(f) = expr else { return };
    unqualify_function(&mut f.name);
    if let Some(aggregated) = reshape::array_subquery(f) {
        *expr = aggregated;
        return;
    }
    // Set-returning functions in a select list: list functions, unnested.
    // (DataFusion's generate_series as a scalar function is the list.)
    let list_form = match f.name.to_string().to_ascii_lowercase().as_str() {
        "_pg_expandarray" => "glaux_expandarray",
        "generate_subscripts" => "glaux_subscripts",
        "generate_series" => "generate_series",
        _ => return,
    };
    f.name = ObjectName::from(vec![Ident::new(list_form)]);
    let inner = std::mem::replace(expr, Expr::value(Value::Null));
    *expr = call("unnest", inner);
}

/// A cast to a PostgreSQL type: reg* casts as functions (and back to their
/// names), PostgreSQL's type names as the standard ones.
fn rewrite_cast(expr: &mut Expr) {
    let Expr::Cast { data_type, expr: inner, .. } = expr else { return };
    let target = pg_type_name(data_type);
    let inner_function = match inner.as_ref() {
        Expr::Function(f) if f.name.0.len() == 1 => f.name.to_string().to_ascii_lowercase(),
        _ => String::new(),
    };
    match target.as_deref() {
        Some(t @ ("regclass" | "regtype" | "regnamespace" | "regproc")) => {
            let arg = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
            *expr = call(t, arg);
        }
        Some("text" | "varchar" | "name" | "character varying")
            if matches!(inner_function.as_str(), "regclass" | "regtype" | "regnamespace" | "regproc") =>
        {
            let Expr::Function(f) = inner.as_mut() else { return };
            let FunctionArguments::List(list) = &mut f.args else { return };
            let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.pop() else { return };
            *expr = call(&format!("{inner_function}_name"), arg);
        }
        Some(name) => {
            if let Some(standard) = standard_type(name) {
                *data_type = standard;
            }
        }
        None => {
            // `x::pg_catalog.int2[]`
            if let DataType::Array(ArrayElemTypeDef::SquareBracket(element, _)) = data_type {
                if let Some(standard) = pg_type_name(element).and_then(|n| standard_type(&n)) {
                    **element = standard;
                }
            }
        }
    }
}

/// `pg_catalog.f` and `information_schema.f` are glaux's `f`.
fn unqualify_function(name: &mut ObjectName) {
    let qualified = name.0.len() == 2
        && name.0[0]
            .as_ident()
            .is_some_and(|i| matches!(i.value.to_ascii_lowercase().as_str(), "pg_catalog" | "information_schema"));
    if qualified {
        name.0.remove(0);
    }
}

/// The PostgreSQL name of a cast's target type when it is one of the
/// catalog types DataFusion lacks (lower-case, schema dropped).
fn pg_type_name(t: &DataType) -> Option<String> {
    match t {
        DataType::Regclass => Some("regclass".into()),
        DataType::Text => Some("text".into()),
        DataType::Varchar(_) | DataType::CharacterVarying(_) => Some("varchar".into()),
        DataType::Custom(name, modifiers) if modifiers.is_empty() => {
            let last = name.0.last()?.as_ident()?;
            Some(if last.quote_style.is_some() && last.value == "char" {
                "\"char\"".to_string()
            } else {
                last.value.to_ascii_lowercase()
            })
        }
        _ => None,
    }
}

/// The type DataFusion knows for a PostgreSQL type name it lacks.
fn standard_type(name: &str) -> Option<DataType> {
    Some(match name {
        "oid" => DataType::IntUnsigned(None),
        "name" | "\"char\"" | "text" => DataType::Text,
        "int2" => DataType::SmallInt(None),
        "int4" => DataType::Int(None),
        "int8" => DataType::BigInt(None),
        "float4" => DataType::Real,
        "float8" => DataType::DoublePrecision,
        "bool" => DataType::Boolean,
        _ => return None,
    })
}

/// The input function of a Postgres type DataFusion cannot cast to.
fn input_function(t: &DataType) -> Option<&'static str> {
    match t {
        DataType::Uuid => Some("uuid_in"),
        DataType::JSON => Some("json_in"),
        _ => None,
    }
}

fn rewrite_type_input(expr: &mut Expr) {
    let (function, arg) = match expr {
        Expr::Cast { data_type, expr: inner, format: None, array: false, .. } => match input_function(data_type) {
            Some(f) => (f, std::mem::replace(inner.as_mut(), Expr::value(Value::Null))),
            None => return,
        },
        Expr::TypedString(typed) => match input_function(&typed.data_type) {
            Some(f) => (f, Expr::Value(typed.value.clone())),
            None => return,
        },
        _ => return,
    };
    *expr = call(function, arg);
}

pub(super) fn call(name: &str, arg: Expr) -> Expr {
    call_with(name, vec![arg])
}

pub(super) fn call_with(name: &str, args: Vec<Expr>) -> Expr {
    call_object(ObjectName::from(vec![Ident::new(name)]), args)
}

/// A plain call of function `name`.
pub(super) fn call_object(name: ObjectName, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name,
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a))).collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// `ast` with every unnamed output column of its top-level SELECTs given a
/// distinct alias (`?column?#2`), for the queries DataFusion refuses over
/// duplicate column names (`SELECT x, x`), which PostgreSQL allows. The
/// names clients see are chosen separately ([`super::colnames`]).
pub fn with_distinct_output_names(ast: &Statement) -> Statement {
    let mut ast = ast.clone();
    if let Statement::Query(q) = &mut ast {
        alias_outputs(q.body.as_mut());
    }
    ast
}

fn alias_outputs(body: &mut SetExpr) {
    match body {
        SetExpr::Query(q) => alias_outputs(q.body.as_mut()),
        SetExpr::SetOperation { left, right, .. } => {
            alias_outputs(left.as_mut());
            alias_outputs(right.as_mut());
        }
        SetExpr::Select(select) => {
            for (i, item) in select.projection.iter_mut().enumerate() {
                if let SelectItem::UnnamedExpr(expr) = item {
                    let expr = std::mem::replace(expr, Expr::value(Value::Null));
                    *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', format!("?column?#{i}")) };
                }
            }
        }
        _ => {}
    }
}
