//! Rewrites of a parsed query before DataFusion plans it: PostgreSQL
//! syntax whose meaning DataFusion lacks, expressed in what it has.
//!
//! - `CAST(x AS uuid)`, `x::uuid`, `uuid '...'` become `uuid_in(x)`, and
//!   the same for `json` (`json_in`): DataFusion has no SQL type for them,
//!   glaux's functions ([`super::functions`]) return tagged Arrow values.
//! - Duplicate output column names, which DataFusion refuses, get distinct
//!   aliases when planning fails over them.

use datafusion::sql::sqlparser::ast::{
    DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    ObjectName, SelectItem, SetExpr, Statement, Value,
};
use std::ops::ControlFlow;

/// The statement DataFusion is given for `ast`.
pub fn for_datafusion(ast: &Statement) -> Statement {
    let mut ast = ast.clone();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut ast, |expr| {
        rewrite_type_input(expr);
        ControlFlow::<()>::Continue(())
    });
    ast
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

fn call(name: &str, arg: Expr) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))],
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
