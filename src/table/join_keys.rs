//! The keys of a join, sent to a connector's source as conditions.
//!
//! When a hash join has read its build side, DataFusion fills a dynamic
//! filter for the probe side: the range of the build side's keys and, for
//! a small build side (up to
//! `datafusion.optimizer.hash_join_inlist_pushdown_max_distinct_values`
//! keys, 150 by default), the keys themselves as an IN list; with the
//! join split in partitions, a CASE choosing one such condition per
//! partition. A connector's scan on the probe side reads that filter when
//! it starts and sends to its source what glaux can write of it:
//! comparisons and IN lists of one column with literals, AND and OR of
//! them, a CASE as the OR of its branches; whatever else it holds (a
//! hash-table lookup) is left out. Each condition sent is one every row
//! the join keeps satisfies, so the source returns fewer rows and the
//! join's answer is the same: the join itself still compares the keys.
//! Only what `glaux_connector::pushdown` allows for the source is sent.
//! [`KeysFromJoins`] keeps a scan's dynamic filters only where such a
//! join reads it.

use super::connector::ConnectorScan;
use datafusion::arrow::datatypes::Schema;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column as LogicalColumn, JoinType, NullEquality, Result};
use datafusion::logical_expr::utils::split_conjunction_owned;
use datafusion::logical_expr::{BinaryExpr as LogicalBinary, Expr, Operator};
use datafusion::physical_expr::expressions::{
    BinaryExpr, CaseExpr, Column, DynamicFilterPhysicalExpr, InListExpr, Literal,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::snapshot_physical_expr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::{with_new_children_if_necessary, ExecutionPlan};
use glaux_connector::pushdown::{pushable, Dialect};
use std::sync::Arc;
use std::time::Duration;

/// How long a scan waits for a join's filter that is not complete when
/// the scan starts. A hash join completes its filter before it reads its
/// probe side, but its partitions start probing as soon as all have read
/// their build side, while one of them is still writing the filter. A
/// filter that is never completed first (a top-k's or an aggregate's,
/// which change with the rows this scan returns) costs this wait once.
const WAIT: Duration = Duration::from_millis(20);

/// Whether `filter` holds a dynamic filter (one filled while the query
/// runs).
pub fn is_dynamic(filter: &Arc<dyn PhysicalExpr>) -> bool {
    filter.exists(|e| Ok(e.as_any().is::<DynamicFilterPhysicalExpr>())).unwrap_or(false)
}

/// The conditions of `filters`, as they are now, that a source speaking
/// `dialect` may evaluate. `output` is the scan's schema (the columns the
/// filters name, by index), `table` the source table's.
pub async fn conditions(
    filters: &[Arc<dyn PhysicalExpr>],
    output: &Schema,
    table: &Schema,
    dialect: Dialect,
) -> Vec<Expr> {
    let _ = tokio::time::timeout(WAIT, completed(filters)).await;
    let mut out = Vec::new();
    for filter in filters {
        let Ok(now) = snapshot_physical_expr(Arc::clone(filter)) else { continue };
        let Some(implied) = implied(&now, output) else { continue };
        out.extend(split_conjunction_owned(implied).into_iter().filter(|c| pushable(c, table, dialect)));
    }
    out
}

/// Returns once every dynamic filter in `filters` is complete.
async fn completed(filters: &[Arc<dyn PhysicalExpr>]) {
    let mut dynamic = Vec::new();
    for filter in filters {
        let _ = filter.apply(|e| {
            if e.as_any().is::<DynamicFilterPhysicalExpr>() {
                dynamic.push(Arc::clone(e));
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        });
    }
    for filter in &dynamic {
        if let Some(filter) = filter.as_any().downcast_ref::<DynamicFilterPhysicalExpr>() {
            filter.wait_complete().await;
        }
    }
}

/// A condition glaux can write that every row passing `e` satisfies;
/// None when there is none but TRUE.
fn implied(e: &Arc<dyn PhysicalExpr>, output: &Schema) -> Option<Expr> {
    let any = e.as_any();
    if let Some(b) = any.downcast_ref::<BinaryExpr>() {
        return match b.op() {
            Operator::And => match (implied(b.left(), output), implied(b.right(), output)) {
                (Some(l), Some(r)) => Some(l.and(r)),
                (one, other) => one.or(other),
            },
            Operator::Or => Some(implied(b.left(), output)?.or(implied(b.right(), output)?)),
            op @ (Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq) => {
                let (left, right) = (implied_operand(b.left(), output)?, implied_operand(b.right(), output)?);
                let one_column = matches!(
                    (&left, &right),
                    (Expr::Column(_), Expr::Literal(..)) | (Expr::Literal(..), Expr::Column(_))
                );
                one_column.then(|| Expr::BinaryExpr(LogicalBinary::new(Box::new(left), *op, Box::new(right))))
            }
            _ => None,
        };
    }
    if let Some(list) = any.downcast_ref::<InListExpr>() {
        if list.negated() {
            return None;
        }
        let column = implied_operand(list.expr(), output).filter(|c| matches!(c, Expr::Column(_)))?;
        // A NULL key matches nothing: leaving it out keeps the same rows.
        let values: Vec<Expr> = list
            .list()
            .iter()
            .map(|v| implied_operand(v, output).filter(|v| matches!(v, Expr::Literal(..))))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .filter(|v| !matches!(v, Expr::Literal(s, _) if s.is_null()))
            .collect();
        return (!values.is_empty()).then(|| column.in_list(values, false));
    }
    if let Some(case) = any.downcast_ref::<CaseExpr>() {
        // TRUE only through a branch whose result is TRUE, when no ELSE
        // can be TRUE.
        let otherwise_false = match case.else_expr() {
            None => true,
            Some(e) => {
                e.as_any().downcast_ref::<Literal>().is_some_and(|l| l.value().is_null() || l.value() == &false.into())
            }
        };
        if !otherwise_false {
            return None;
        }
        let mut branches = case.when_then_expr().iter().map(|(_, then)| implied(then, output));
        let first = branches.next()??;
        return branches.try_fold(first, |acc, b| Some(acc.or(b?)));
    }
    None
}

/// A column (named as in the source) or a literal.
fn implied_operand(e: &Arc<dyn PhysicalExpr>, output: &Schema) -> Option<Expr> {
    let any = e.as_any();
    if let Some(column) = any.downcast_ref::<Column>() {
        let field = output.fields().get(column.index())?;
        return (field.name() == column.name()).then(|| Expr::Column(LogicalColumn::new_unqualified(column.name())));
    }
    any.downcast_ref::<Literal>().map(|l| Expr::Literal(l.value().clone(), None))
}

/// The physical optimizer rule, run after DataFusion's: a connector
/// scan keeps the dynamic filters offered to it only on the probe side of
/// an inner hash join whose NULL keys match nothing (whose keys every
/// kept row has among the build side's). Elsewhere it drops them: a
/// filter from a top-k or an aggregate alone, which changes with the
/// scan's own rows, would only make the scan wait ([`WAIT`]); and under a
/// join matching NULL keys (`IS NOT DISTINCT FROM`) a range or IN list
/// would drop the rows of NULL keys.
#[derive(Debug)]
pub struct KeysFromJoins;

impl PhysicalOptimizerRule for KeysFromJoins {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        keep_under_joins(plan, false)
    }

    fn name(&self) -> &str {
        "glaux_keys_from_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `node` with the join filters of scans not under a join that sends
/// keys (`probe` says whether `node` is) dropped.
fn keep_under_joins(node: Arc<dyn ExecutionPlan>, probe: bool) -> Result<Arc<dyn ExecutionPlan>> {
    if let Some(scan) = node.as_any().downcast_ref::<ConnectorScan>() {
        return Ok(if probe || !scan.has_join_filters() { node } else { scan.without_join_filters() });
    }
    let join = node.as_any().downcast_ref::<HashJoinExec>();
    let children: Vec<Arc<dyn ExecutionPlan>> = node.children().into_iter().cloned().collect();
    let mut rebuilt = Vec::with_capacity(children.len());
    for (i, child) in children.iter().enumerate() {
        let probe = match join {
            Some(join) if join.null_equality() == NullEquality::NullEqualsNull => false,
            Some(join) if i == 1 && *join.join_type() == JoinType::Inner => true,
            _ => probe,
        };
        rebuilt.push(keep_under_joins(Arc::clone(child), probe)?);
    }
    with_new_children_if_necessary(node, rebuilt)
}
