//! Query shapes DataFusion plans differently or not at all, restated
//! before planning (part of [`super::rewrite`]):
//!
//! - in FROM: table functions planned so their argument errors are
//!   reported, `unnest`, a scalar function as a one-row table, and
//!   `f(...) AS a` naming the column `a` ([`TableFunctions`]);
//! - queries over pg_catalog tables glaux always leaves empty: their
//!   subqueries, never evaluated, are NULL ([`OverEmptyTables`],
//!   [`empty_scalar_subquery`]);
//! - subqueries in ORDER BY ([`SubqueriesInOrderBy`]) and `IN (subquery)`
//!   in a select list ([`InSubqueriesInSelectLists`]);
//! - `ARRAY(subquery)` ([`array_subquery`]).

use super::rewrite::{call, call_object, call_with};
use crate::pgcatalog::tables;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments, Ident,
    JoinOperator, OrderByKind, SelectItem, SetExpr, Statement, TableAlias, TableAliasColumnDef, TableFactor, Value,
    VisitorMut,
};
use std::ops::ControlFlow;

/// A query reading a pg_catalog table that glaux always leaves empty
/// (psql's `\d+` reads pg_policy with an `ARRAY(subquery)` correlated by
/// `= ANY`, which DataFusion cannot decorrelate) computes its select list
/// for no row: its subqueries there become NULL, which changes no answer.
pub(super) struct OverEmptyTables;

impl VisitorMut for OverEmptyTables {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut datafusion::sql::sqlparser::ast::Query) -> ControlFlow<()> {
        nothing_over_empty_tables(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

/// Whether a SELECT reads an always-empty table that every row must come
/// from (the table itself or an inner join of it): it has no rows.
fn selects_nothing(select: &datafusion::sql::sqlparser::ast::Select) -> bool {
    let inner_join =
        |op: &JoinOperator| matches!(op, JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_));
    select.from.iter().any(|t| {
        is_empty_table(&t.relation)
            || t.joins.iter().any(|j| inner_join(&j.join_operator) && is_empty_table(&j.relation))
    })
}

/// A scalar subquery with no rows and no aggregate is NULL.
pub(super) fn empty_scalar_subquery(query: &datafusion::sql::sqlparser::ast::Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else { return false };
    let ungrouped =
        matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    let aggregates = select.projection.iter().any(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            super::decorrelate::mentions_aggregate(e)
        }
        _ => true,
    });
    ungrouped && select.having.is_none() && !aggregates && selects_nothing(select)
}

fn nothing_over_empty_tables(body: &mut SetExpr) {
    let select = match body {
        SetExpr::SetOperation { left, right, .. } => {
            nothing_over_empty_tables(left);
            nothing_over_empty_tables(right);
            return;
        }
        SetExpr::Select(select) => select,
        _ => return,
    };
    if !selects_nothing(select) {
        return;
    }
    for item in select.projection.iter_mut() {
        let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(item, |e| {
            let subquery = matches!(e, Expr::Subquery(_))
                || matches!(e, Expr::Function(f) if matches!(f.args, FunctionArguments::Subquery(_)));
            if subquery {
                *e = Expr::value(Value::Null);
            }
            ControlFlow::<()>::Continue(())
        });
    }
}

/// `ORDER BY` over a subquery (Grafana sorts by `x IN (SELECT ...)`),
/// which DataFusion refuses in a sort: the expression becomes a hidden
/// output column of the query, sorted on by an outer query that drops it.
pub(super) struct SubqueriesInOrderBy;

impl VisitorMut for SubqueriesInOrderBy {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut datafusion::sql::sqlparser::ast::Query) -> ControlFlow<()> {
        let Some(OrderByKind::Expressions(items)) = query.order_by.as_mut().map(|o| &mut o.kind) else {
            return ControlFlow::Continue(());
        };
        let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
        let grouped = !matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
        if select.distinct.is_some() || grouped || select.having.is_some() {
            return ControlFlow::Continue(());
        }
        let mut hidden = Vec::new();
        for item in items.iter_mut() {
            if !has_subquery(&item.expr) {
                continue;
            }
            let alias = Ident::with_quote('"', format!("?order?{}", hidden.len() + 1));
            let expr = std::mem::replace(&mut item.expr, Expr::Identifier(alias.clone()));
            select.projection.push(SelectItem::ExprWithAlias { expr, alias: alias.clone() });
            hidden.push(alias);
        }
        if hidden.is_empty() {
            return ControlFlow::Continue(());
        }
        let excluded = hidden.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ");
        let template = format!("SELECT * EXCLUDE ({excluded}) FROM (SELECT 1) AS \"?ordered\"");
        // The generic dialect parses `* EXCLUDE (...)`; DataFusion plans it.
        let Ok(Statement::Query(mut outer)) =
            datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::GenericDialect {})
                .try_with_sql(&template)
                .and_then(|mut p| p.parse_statement())
        else {
            return ControlFlow::Continue(());
        };
        let inner = datafusion::sql::sqlparser::ast::Query {
            with: None,
            body: std::mem::replace(&mut query.body, outer.body.clone()),
            order_by: None,
            limit_clause: None,
            fetch: None,
            locks: vec![],
            for_clause: None,
            settings: None,
            format_clause: None,
            pipe_operators: vec![],
        };
        if let SetExpr::Select(outer_select) = outer.body.as_mut() {
            if let Some(TableFactor::Derived { subquery, .. }) = outer_select.from.first_mut().map(|t| &mut t.relation)
            {
                **subquery = inner;
            }
        }
        query.body = outer.body;
        ControlFlow::Continue(())
    }
}

/// `x IN (SELECT y ...)` in a select list, which DataFusion plans only in
/// WHERE: `glaux_in_array(x, (SELECT array_agg(y) ...))`, a scalar
/// subquery and a function with IN's meaning, NULLs included.
pub(super) struct InSubqueriesInSelectLists;

impl VisitorMut for InSubqueriesInSelectLists {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut datafusion::sql::sqlparser::ast::Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
        for item in select.projection.iter_mut() {
            let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(item, |e| {
                if let Expr::InSubquery { expr, subquery, negated } = e {
                    let template = "(SELECT array_agg(\"?v\") FROM (SELECT 1) AS \"?in\"(\"?v\"))";
                    let Ok(mut aggregated) = datafusion::sql::sqlparser::parser::Parser::new(
                        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
                    )
                    .try_with_sql(template)
                    .and_then(|mut p| p.parse_expr()) else {
                        return ControlFlow::Continue(());
                    };
                    if let Expr::Subquery(q) = &mut aggregated {
                        if let SetExpr::Select(s) = q.body.as_mut() {
                            if let Some(TableFactor::Derived { subquery: inner, .. }) =
                                s.from.first_mut().map(|t| &mut t.relation)
                            {
                                *inner = subquery.clone();
                            }
                        }
                    }
                    let value = std::mem::replace(expr.as_mut(), Expr::value(Value::Null));
                    let test = call_with("glaux_in_array", vec![value, aggregated]);
                    *e = if *negated {
                        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr: Box::new(test) }
                    } else {
                        test
                    };
                }
                ControlFlow::<()>::Continue(())
            });
        }
        ControlFlow::Continue(())
    }
}

fn has_subquery(expr: &Expr) -> bool {
    let mut found = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| {
        found |= matches!(e, Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. });
        ControlFlow::<()>::Continue(())
    });
    found
}

fn is_empty_table(factor: &TableFactor) -> bool {
    let TableFactor::Table { name, args: None, .. } = factor else { return false };
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.to_ascii_lowercase()).collect();
    match parts.as_slice() {
        [table] => tables::is_always_empty(table),
        [schema, table] => schema == "pg_catalog" && tables::is_always_empty(table),
        _ => false,
    }
}

/// Turns `FROM f(args)` into the form DataFusion plans with its argument
/// errors reported: planned as a plain table with arguments, an argument
/// that fails to plan (an unknown function) is silently dropped.
pub(super) struct TableFunctions;

impl VisitorMut for TableFunctions {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, alias, args: Some(args), with_ordinality: false, .. } = factor else {
            return ControlFlow::Continue(());
        };
        let function = name.to_string().to_ascii_lowercase();
        let mut exprs = Vec::new();
        for arg in std::mem::take(&mut args.args) {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => exprs.push(e),
                other => {
                    args.args.push(other);
                    return ControlFlow::Continue(());
                }
            }
        }
        let alias = alias.take();
        *factor = if function == "unnest" {
            let alias = if exprs.len() == 1 { column_named_as(alias) } else { alias };
            TableFactor::UNNEST {
                alias,
                array_exprs: exprs,
                with_offset: false,
                with_offset_alias: None,
                with_ordinality: false,
            }
        } else if super::table_functions::is_table_function(&function) {
            let alias = if function == "generate_series" { column_named_as(alias) } else { alias };
            let args = exprs.into_iter().map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e))).collect();
            TableFactor::Function { lateral: false, name: name.clone(), args, alias }
        } else {
            // A scalar function in FROM is a one-row table of its value.
            let alias = alias.unwrap_or_else(|| TableAlias {
                explicit: true,
                name: Ident::new(function.clone()),
                columns: vec![],
            });
            let column = alias.columns.first().map_or_else(|| alias.name.clone(), |c| c.name.clone());
            let value = call_object(name.clone(), exprs);
            let sql = format!("SELECT {value} AS {column}");
            let Ok(Statement::Query(query)) = datafusion::sql::sqlparser::parser::Parser::new(
                &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
            )
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_statement()) else {
                return ControlFlow::Continue(());
            };
            TableFactor::Derived {
                lateral: false,
                subquery: query,
                alias: Some(TableAlias { columns: vec![], ..alias }),
                sample: None,
            }
        };
        ControlFlow::Continue(())
    }
}

/// A function returning one column, aliased without a column list, names
/// its column after the alias (`generate_series(1, 3) AS i` has column `i`).
fn column_named_as(alias: Option<TableAlias>) -> Option<TableAlias> {
    alias.map(|mut a| {
        if a.columns.is_empty() {
            a.columns.push(TableAliasColumnDef::from_name(a.name.value.clone()));
        }
        a
    })
}

/// `ARRAY(SELECT e FROM ... ORDER BY o)` as the scalar subquery
/// `(SELECT array_agg(e ORDER BY o) FROM ...)`.
pub(super) fn array_subquery(f: &Function) -> Option<Expr> {
    let FunctionArguments::Subquery(query) = &f.args else { return None };
    if !f.name.to_string().eq_ignore_ascii_case("array") || query.limit_clause.is_some() || query.fetch.is_some() {
        return None;
    }
    if let Some(mapped) = prefix_each(query) {
        return Some(mapped);
    }
    let mut query = query.clone();
    let order_by = match query.order_by.take().map(|o| o.kind) {
        None => Vec::new(),
        Some(OrderByKind::Expressions(list)) => list,
        Some(OrderByKind::All(_)) => return None,
    };
    let SetExpr::Select(select) = query.body.as_mut() else { return None };
    let [SelectItem::UnnamedExpr(value) | SelectItem::ExprWithAlias { expr: value, .. }] =
        select.projection.as_mut_slice()
    else {
        return None;
    };
    let order_by = order_by
        .into_iter()
        .map(|mut o| {
            // `ORDER BY 1` is the selected value.
            if matches!(&o.expr, Expr::Value(v) if v.value == Value::Number("1".into(), false)) {
                o.expr = value.clone();
            }
            o
        })
        .collect::<Vec<_>>();
    let mut aggregate = call("array_agg", std::mem::replace(value, Expr::value(Value::Null)));
    if let (Expr::Function(agg), false) = (&mut aggregate, order_by.is_empty()) {
        if let FunctionArguments::List(list) = &mut agg.args {
            list.clauses.push(FunctionArgumentClause::OrderBy(order_by));
        }
    }
    *value = aggregate;
    Some(Expr::Subquery(query))
}

/// `ARRAY(SELECT 'p' || x FROM unnest(a) x)` (psql's `\d+` lists toast
/// options so) as `glaux_prefix_each('p', a)`: DataFusion cannot
/// decorrelate an unnest of an outer column.
fn prefix_each(query: &datafusion::sql::sqlparser::ast::Query) -> Option<Expr> {
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    if query.order_by.is_some()
        || select.selection.is_some()
        || select.from.len() != 1
        || !select.from[0].joins.is_empty()
    {
        return None;
    }
    let TableFactor::UNNEST { alias: Some(alias), array_exprs, with_offset: false, with_ordinality: false, .. } =
        &select.from[0].relation
    else {
        return None;
    };
    let column = alias.columns.first().map_or(&alias.name, |c| &c.name);
    let [SelectItem::UnnamedExpr(Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right })] =
        select.projection.as_slice()
    else {
        return None;
    };
    match (left.as_ref(), right.as_ref(), array_exprs.as_slice()) {
        (prefix @ Expr::Value(_), Expr::Identifier(x), [array]) if x.value == column.value => {
            Some(call_with("glaux_prefix_each", vec![prefix.clone(), array.clone()]))
        }
        _ => None,
    }
}
