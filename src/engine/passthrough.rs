//! Passthrough queries (Athena's and Trino's): `SELECT ... FROM
//! TABLE(pg.system.query(query => 'SELECT ...'))`, or the same call
//! without `TABLE(...)`, runs the native SQL at the source of the
//! connector catalog `pg` and answers with its rows.
//!
//! The call is rewritten before planning into the table
//! `pg.system."query:<the SQL>"`, which the connector catalog resolves by
//! asking its connector to describe the query (`Connector::query`), as
//! `FOR VERSION AS OF` becomes a table part (`time_travel`). Only a
//! string literal is accepted as the query.

use crate::error::{Error, Result, SqlState};
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, ObjectNamePart, Statement, TableFactor,
    Value, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// The table-name prefix that carries a passthrough query.
pub use crate::catalog::connectors::PASSTHROUGH;

/// `statement` with each passthrough call made its table (42601 for a
/// call whose argument is not one string).
pub fn rewrite(statement: &mut Statement) -> Result<()> {
    let mut calls = Calls(None);
    let _ = statement.visit(&mut calls);
    match calls.0 {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

struct Calls(Option<Error>);

impl VisitorMut for Calls {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let (name, args, alias) = match factor {
            TableFactor::TableFunction { expr: Expr::Function(f), alias } => {
                let FunctionArguments::List(list) = &f.args else { return ControlFlow::Continue(()) };
                (f.name.clone(), list.args.clone(), alias.take())
            }
            TableFactor::Table { name, args: Some(args), alias, .. } => (name.clone(), args.args.clone(), alias.take()),
            _ => return ControlFlow::Continue(()),
        };
        let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.clone()).collect();
        let [catalog, schema, function] = parts.as_slice() else {
            restore(factor, alias);
            return ControlFlow::Continue(());
        };
        if !schema.eq_ignore_ascii_case("system") || !function.eq_ignore_ascii_case("query") {
            restore(factor, alias);
            return ControlFlow::Continue(());
        }
        let sql = match args.as_slice() {
            [FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. }]
                if name.value.eq_ignore_ascii_case("query") =>
            {
                string(e)
            }
            [FunctionArg::ExprNamed { name: Expr::Identifier(name), arg: FunctionArgExpr::Expr(e), .. }]
                if name.value.eq_ignore_ascii_case("query") =>
            {
                string(e)
            }
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => string(e),
            _ => None,
        };
        let Some(sql) = sql else {
            self.0 = Some(Error::new(
                SqlState::SyntaxError,
                format!("{catalog}.system.query takes one argument, query => 'native SQL', as a string constant"),
            ));
            return ControlFlow::Break(());
        };
        let table = ObjectName(vec![
            ObjectNamePart::Identifier(Ident::with_quote('"', catalog)),
            ObjectNamePart::Identifier(Ident::with_quote('"', "system")),
            ObjectNamePart::Identifier(Ident::with_quote('"', format!("{PASSTHROUGH}{sql}"))),
        ]);
        *factor = TableFactor::Table {
            name: table,
            alias,
            args: None,
            with_hints: vec![],
            version: None,
            with_ordinality: false,
            partitions: vec![],
            json_path: None,
            sample: None,
            index_hints: vec![],
        };
        ControlFlow::Continue(())
    }
}

/// Put back the alias taken from a factor that is not a passthrough call.
fn restore(factor: &mut TableFactor, taken: Option<datafusion::sql::sqlparser::ast::TableAlias>) {
    match factor {
        TableFactor::TableFunction { alias, .. } | TableFactor::Table { alias, .. } => *alias = taken,
        _ => {}
    }
}

fn string(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(s.clone()),
            Value::DollarQuotedString(d) => Some(d.value.clone()),
            _ => None,
        },
        _ => None,
    }
}
