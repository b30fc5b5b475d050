//! Correlated scalar subqueries restated in the shapes DataFusion can
//! decorrelate. Catalog queries are full of `(SELECT x FROM t WHERE
//! t.k = outer.k AND outer.flag)`, which DataFusion refuses: it needs the
//! subquery aggregated, and its correlated conditions to be equalities
//! between inner and outer columns. For each scalar subquery:
//!
//! - an outer column that an equality ties to an inner expression
//!   (`c.oid = a.attcollation`) is replaced by that expression in the other
//!   conditions (`a.attcollation <> t.typcollation` becomes
//!   `c.oid <> t.typcollation`): the equality holds on every row that
//!   qualifies, so the meaning is unchanged;
//! - a subquery selecting one plain value (no aggregate, GROUP BY,
//!   DISTINCT or LIMIT) is aggregated by `single_value`, which keeps
//!   PostgreSQL's meaning: NULL for no row, the value for one, error 21000
//!   for more;
//! - in such a subquery, conditions on outer columns alone move out, to
//!   `CASE WHEN outer.flag THEN (SELECT ...) END`: both are NULL when
//!   the condition is false.
//!
//! Columns are told apart by their qualifiers: `t.k` is inner when `t` is
//! a table or alias of the subquery's FROM, outer otherwise; an
//! unqualified column is taken as inner, so it is never moved.

use super::rewrite::call;
use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    visit_expressions, visit_expressions_mut, BinaryOperator, CaseWhen, Expr, GroupByExpr, Ident, Query, Select,
    SelectItem, SetExpr, Statement, TableFactor, Value,
};
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

/// `ast` with its scalar subqueries restated (see the module docs).
pub fn scalar_subqueries(ast: &Statement) -> Statement {
    let mut ast = ast.clone();
    let _ = visit_expressions_mut(&mut ast, |expr| {
        if let Expr::Subquery(query) = expr {
            if let Some(condition) = restate(query) {
                let subquery = std::mem::replace(expr, Expr::value(Value::Null));
                *expr = Expr::Case {
                    case_token: AttachedToken::empty(),
                    end_token: AttachedToken::empty(),
                    operand: None,
                    conditions: vec![CaseWhen { condition, result: subquery }],
                    else_result: None,
                };
            }
        }
        ControlFlow::<()>::Continue(())
    });
    ast
}

/// Whether a statement has a scalar subquery (one this module restates).
pub fn has_scalar_subquery(ast: &Statement) -> bool {
    let mut found = false;
    let _ = visit_expressions(ast, |e| {
        found |= matches!(e, Expr::Subquery(_));
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Restate one scalar subquery; return the outer-only condition taken out
/// of it, if any.
fn restate(query: &mut Query) -> Option<Expr> {
    if query.limit_clause.is_some() || query.fetch.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_mut() else { return None };
    let inner = relation_names(select);
    let single = plain_value(select).is_some();
    let mut lifted = Vec::new();
    if let Some(selection) = select.selection.take() {
        let mut conjuncts = Vec::new();
        split_and(selection, &mut conjuncts);
        substitute_outer(&mut conjuncts, &inner);
        let mut kept = Vec::new();
        for c in conjuncts {
            match sides(&c, &inner) {
                Some(Sides { inner: false, outer: true }) if single => lifted.push(c),
                _ => kept.push(c),
            }
        }
        select.selection = join_and(kept);
    }
    if let Some(value) = plain_value(select) {
        let inner_value = std::mem::replace(value, Expr::value(Value::Null));
        *value = call(super::single_value::NAME, inner_value);
    }
    join_and(lifted)
}

/// The one plain value a subquery selects, if it selects one.
fn plain_value(select: &mut Select) -> Option<&mut Expr> {
    let ungrouped = matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if select.distinct.is_some() || select.having.is_some() || !ungrouped || select.projection.len() != 1 {
        return None;
    }
    match &mut select.projection[0] {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } if !mentions_aggregate(e) => Some(e),
        _ => None,
    }
}

/// Whether an expression calls a (likely) aggregate function.
pub(super) fn mentions_aggregate(expr: &Expr) -> bool {
    const AGGREGATES: &[&str] = &[
        "count",
        "sum",
        "min",
        "max",
        "avg",
        "array_agg",
        "string_agg",
        "bool_and",
        "bool_or",
        "every",
        "json_agg",
        "stddev",
        "variance",
    ];
    let mut found = false;
    let _ = visit_expressions(expr, |e| {
        if let Expr::Function(f) = e {
            let name = f.name.to_string().to_ascii_lowercase();
            if AGGREGATES.contains(&name.rsplit('.').next().unwrap_or_default()) {
                found = true;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// The names (tables and aliases, lower-case) the subquery's FROM binds.
fn relation_names(select: &Select) -> HashSet<String> {
    let mut names = HashSet::new();
    let factors =
        select.from.iter().flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    for factor in factors {
        let (name, alias) = match factor {
            TableFactor::Table { name, alias, .. } | TableFactor::Function { name, alias, .. } => {
                (name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.clone()), alias.as_ref())
            }
            TableFactor::Derived { alias, .. } | TableFactor::UNNEST { alias, .. } => (None, alias.as_ref()),
            _ => (None, None),
        };
        names.extend(name.map(|n| n.to_ascii_lowercase()));
        names.extend(alias.map(|a| a.name.value.to_ascii_lowercase()));
    }
    names
}

fn split_and(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            split_and(*left, out);
            split_and(*right, out);
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: BinaryOperator::And, .. }) => {
            split_and(*inner, out)
        }
        other => out.push(other),
    }
}

fn join_and(conjuncts: Vec<Expr>) -> Option<Expr> {
    conjuncts.into_iter().reduce(|left, right| Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    })
}

/// Which side's columns an expression reads.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sides {
    inner: bool,
    outer: bool,
}

/// The sides `expr` reads; `None` when it holds a subquery of its own.
fn sides(expr: &Expr, inner: &HashSet<String>) -> Option<Sides> {
    let mut found = Sides { inner: false, outer: false };
    let mut opaque = false;
    let _ = visit_expressions(expr, |e| {
        match e {
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => opaque = true,
            Expr::Identifier(_) => found.inner = true,
            Expr::CompoundIdentifier(parts) => {
                if is_outer(parts, inner) {
                    found.outer = true;
                } else {
                    found.inner = true;
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    (!opaque).then_some(found)
}

fn is_outer(parts: &[Ident], inner: &HashSet<String>) -> bool {
    parts.len() >= 2 && !inner.contains(&parts[parts.len() - 2].value.to_ascii_lowercase())
}

fn key(parts: &[Ident]) -> String {
    parts.iter().map(|p| p.value.to_ascii_lowercase()).collect::<Vec<_>>().join(".")
}

/// Replace outer columns tied to inner expressions by equalities with
/// those expressions, in the conditions that read both sides.
fn substitute_outer(conjuncts: &mut [Expr], inner: &HashSet<String>) {
    let mut tied: HashMap<String, Expr> = HashMap::new();
    for c in conjuncts.iter() {
        let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = c else { continue };
        for (column, other) in [(left, right), (right, left)] {
            let Expr::CompoundIdentifier(parts) = column.as_ref() else { continue };
            let inner_only = sides(other, inner) == Some(Sides { inner: true, outer: false });
            if is_outer(parts, inner) && inner_only {
                tied.entry(key(parts)).or_insert_with(|| other.as_ref().clone());
            }
        }
    }
    if tied.is_empty() {
        return;
    }
    for c in conjuncts.iter_mut() {
        if sides(c, inner) != Some(Sides { inner: true, outer: true }) || is_tie(c, inner) {
            continue;
        }
        let mut all_tied = true;
        let _ = visit_expressions(&*c, |e| {
            if let Expr::CompoundIdentifier(parts) = e {
                all_tied &= !is_outer(parts, inner) || tied.contains_key(&key(parts));
            }
            ControlFlow::<()>::Continue(())
        });
        if !all_tied {
            continue;
        }
        let _ = visit_expressions_mut(c, |e| {
            if let Expr::CompoundIdentifier(parts) = e {
                if let Some(replacement) = tied.get(&key(parts)) {
                    *e = Expr::Nested(Box::new(replacement.clone()));
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }
}

/// Whether `c` is itself an equality tying an outer column.
fn is_tie(c: &Expr, inner: &HashSet<String>) -> bool {
    let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = c else { return false };
    [left, right].iter().any(|side| matches!(side.as_ref(), Expr::CompoundIdentifier(p) if is_outer(p, inner)))
}
