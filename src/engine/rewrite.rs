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
//! - PostgreSQL forms DataFusion plans differently or not at all:
//!   `LIKE ... ESCAPE 'c'` (through `like_escape`), `x <> ALL(array)`,
//!   `(composite).field`, `ARRAY(subquery)` (an `array_agg` subquery),
//!   set-returning functions in a select list (`generate_series`,
//!   `generate_subscripts`, `_pg_expandarray`: unnested lists), `IN
//!   (subquery)` in a select list, subqueries in ORDER BY (a hidden
//!   column), and in FROM: table functions planned with their argument
//!   errors reported, `unnest`, a scalar function as a one-row table, and
//!   `f(...) AS a` naming the column `a`.
//! - Queries over pg_catalog tables glaux always leaves empty (pg_policy,
//!   pg_attrdef ...): their subqueries, never evaluated, are NULL.
//!
//! Correlated subqueries DataFusion refuses are restated separately, only
//! when it refuses them ([`super::decorrelate`]).

use crate::pgcatalog::tables;
use datafusion::sql::sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, BinaryOperator, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArgumentList, FunctionArguments, OrderByKind,
    Ident, JoinOperator, ObjectName, ObjectNamePart, SelectItem, SetExpr, Statement, TableAlias, TableAliasColumnDef, TableFactor, Value, VisitMut, VisitorMut,
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
    let _ = ast.visit(&mut TableFunctions);
    let _ = ast.visit(&mut OverEmptyTables);
    let _ = ast.visit(&mut SubqueriesInOrderBy);
    let _ = ast.visit(&mut InSubqueriesInSelectLists);
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(ast, |expr| {
        rewrite_catalog_expr(expr);
        ControlFlow::<()>::Continue(())
    });
}

/// A query reading a pg_catalog table that glaux always leaves empty
/// (psql's `\d+` reads pg_policy with an `ARRAY(subquery)` correlated by
/// `= ANY`, which DataFusion cannot decorrelate) computes its select list
/// for no row: its subqueries there become NULL, which changes no answer.
struct OverEmptyTables;

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
        is_empty_table(&t.relation) || t.joins.iter().any(|j| inner_join(&j.join_operator) && is_empty_table(&j.relation))
    })
}

/// A scalar subquery with no rows and no aggregate is NULL.
fn empty_scalar_subquery(query: &datafusion::sql::sqlparser::ast::Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else { return false };
    let ungrouped = matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    let aggregates = select.projection.iter().any(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => super::decorrelate::mentions_aggregate(e),
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
struct SubqueriesInOrderBy;

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
        let Ok(Statement::Query(mut outer)) = datafusion::sql::sqlparser::parser::Parser::new(
            &datafusion::sql::sqlparser::dialect::GenericDialect {},
        )
        .try_with_sql(&template)
        .and_then(|mut p| p.parse_statement()) else {
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
            if let Some(TableFactor::Derived { subquery, .. }) = outer_select.from.first_mut().map(|t| &mut t.relation) {
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
struct InSubqueriesInSelectLists;

impl VisitorMut for InSubqueriesInSelectLists {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut datafusion::sql::sqlparser::ast::Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
        for item in select.projection.iter_mut() {
            let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(item, |e| {
                if let Expr::InSubquery { expr, subquery, negated } = e {
                    let template = "(SELECT array_agg(\"?v\") FROM (SELECT 1) AS \"?in\"(\"?v\"))";
                    let Ok(mut aggregated) =
                        datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
                            .try_with_sql(template)
                            .and_then(|mut p| p.parse_expr())
                    else {
                        return ControlFlow::Continue(());
                    };
                    if let Expr::Subquery(q) = &mut aggregated {
                        if let SetExpr::Select(s) = q.body.as_mut() {
                            if let Some(TableFactor::Derived { subquery: inner, .. }) = s.from.first_mut().map(|t| &mut t.relation) {
                                *inner = subquery.clone();
                            }
                        }
                    }
                    let value = std::mem::replace(expr.as_mut(), Expr::value(Value::Null));
                    let test = call_with("glaux_in_array", vec![value, aggregated]);
                    *e = if *negated { Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr: Box::new(test) } } else { test };
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
struct TableFunctions;

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
            TableFactor::UNNEST { alias, array_exprs: exprs, with_offset: false, with_offset_alias: None, with_ordinality: false }
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
            let value = Expr::Function(Function {
                name: name.clone(),
                uses_odbc_syntax: false,
                parameters: FunctionArguments::None,
                args: FunctionArguments::List(FunctionArgumentList {
                    duplicate_treatment: None,
                    args: exprs.into_iter().map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e))).collect(),
                    clauses: vec![],
                }),
                filter: None,
                null_treatment: None,
                over: None,
                within_group: vec![],
            });
            let sql = format!("SELECT {value} AS {column}");
            let Ok(Statement::Query(query)) =
                datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
                    .try_with_sql(&sql)
                    .and_then(|mut p| p.parse_statement())
            else {
                return ControlFlow::Continue(());
            };
            TableFactor::Derived { lateral: false, subquery: query, alias: Some(TableAlias { columns: vec![], ..alias }), sample: None }
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


fn rewrite_catalog_expr(expr: &mut Expr) {
    match expr {
        Expr::Function(f) => {
            unqualify_function(&mut f.name);
            if let Some(aggregated) = array_subquery(f) {
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
        Expr::Like { pattern, escape_char: escape @ Some(_), .. } | Expr::ILike { pattern, escape_char: escape @ Some(_), .. } => {
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
        Expr::Subquery(query) if empty_scalar_subquery(query) => *expr = Expr::value(Value::Null),
        Expr::AllOp { left, compare_op: BinaryOperator::NotEq, right } if !matches!(right.as_ref(), Expr::Subquery(_)) => {
            // DataFusion has ALL only over subqueries.
            let value = std::mem::replace(left.as_mut(), Expr::value(Value::Null));
            let array = std::mem::replace(right.as_mut(), Expr::value(Value::Null));
            *expr = call_with("glaux_differs_from_all", vec![value, array]);
        }
        Expr::Collate { expr: inner, .. } => {
            *expr = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
        }
        Expr::Cast { data_type, expr: inner, format: None, array: false, .. } => {
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
        _ => {}
    }
}

/// `ARRAY(SELECT e FROM ... ORDER BY o)` as the scalar subquery
/// `(SELECT array_agg(e ORDER BY o) FROM ...)`.
fn array_subquery(f: &Function) -> Option<Expr> {
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
    let [SelectItem::UnnamedExpr(value) | SelectItem::ExprWithAlias { expr: value, .. }] = select.projection.as_mut_slice()
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
    if query.order_by.is_some() || select.selection.is_some() || select.from.len() != 1 || !select.from[0].joins.is_empty() {
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

fn call_with(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
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
