//! The keys of an `IN (subquery)` or `EXISTS` sent to a connector's
//! source, as those of an inner join are (`table::join_keys`).
//!
//! DataFusion turns `x IN (SELECT k ...)` into a left semi-join, and
//! fills the dynamic filter that carries a join's keys to the probe side
//! for inner joins only. So [`SemiJoinKeys`] rewrites a semi-join whose
//! left side reads a connector table,
//!
//! `L SEMI JOIN R ON L.a = R.b`, into
//! `SELECT L.* FROM (SELECT DISTINCT R.b FROM R) keys JOIN L ON keys.b = L.a`,
//!
//! the distinct keys on the build side. The answer is the same: each row
//! of L matches at most one distinct key (tuple of keys), so it is kept
//! once if the subquery has its key and not at all otherwise; NULL keys
//! match nothing in either form (the rule takes only joins whose NULLs
//! match nothing, with no condition besides the keys). The source then
//! receives the keys (TPC-H Q18: the 57 order keys of its subquery).

use super::connector::ConnectorTable;
use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{JoinType, NullEquality, Result};
use datafusion::logical_expr::logical_plan::{Join, LogicalPlan, LogicalPlanBuilder};
use datafusion::logical_expr::Expr;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// Rewrites a semi-join over a connector table into an inner join with
/// the subquery's distinct keys.
#[derive(Debug)]
pub struct SemiJoinKeys;

/// The name of the distinct keys in the rewritten plan.
const KEYS: &str = "glaux_semi_keys";

impl OptimizerRule for SemiJoinKeys {
    fn name(&self) -> &str {
        "glaux_semi_join_keys"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(&self, plan: LogicalPlan, _: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up_with_subqueries(|plan| match plan {
            LogicalPlan::Join(join) if rewritable(&join)? => inner_join(join).map(Transformed::yes),
            other => Ok(Transformed::no(other)),
        })
    }
}

/// A left semi-join on keys alone, NULLs matching nothing, whose left
/// side reads a connector table that takes a join's keys.
fn rewritable(join: &Join) -> Result<bool> {
    if join.join_type != JoinType::LeftSemi
        || join.filter.is_some()
        || join.on.is_empty()
        || join.null_equality != NullEquality::NullEqualsNothing
    {
        return Ok(false);
    }
    // One subquery column matched by two of L's (a correlated IN): its
    // distinct keys would group by one column twice.
    let right: Vec<&Expr> = join.on.iter().map(|(_, r)| r).collect();
    if right.iter().enumerate().any(|(i, r)| right[..i].contains(r)) {
        return Ok(false);
    }
    let mut reads = false;
    join.left.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let provider = source_as_provider(&scan.source).ok();
            reads =
                provider.is_some_and(|p| p.as_any().downcast_ref::<ConnectorTable>().is_some_and(|t| t.takes_keys()));
        }
        Ok(if reads { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    })?;
    Ok(reads)
}

/// `SELECT L.* FROM (SELECT DISTINCT <R's keys> FROM R) JOIN L ON ...`.
fn inner_join(join: Join) -> Result<LogicalPlan> {
    let (left_keys, right_keys): (Vec<Expr>, Vec<Expr>) = join.on.into_iter().unzip();
    // Named glaux_semi_keys.key_<n>: no name of L's is the same.
    let grouped = LogicalPlanBuilder::from(join.right.as_ref().clone()).aggregate(right_keys, Vec::<Expr>::new())?;
    let named: Vec<Expr> = grouped
        .schema()
        .columns()
        .into_iter()
        .enumerate()
        .map(|(i, c)| Expr::Column(c).alias(format!("key_{i}")))
        .collect();
    let keys = grouped.project(named)?.alias(KEYS)?.build()?;
    let distinct: Vec<Expr> = keys.schema().columns().into_iter().map(Expr::Column).collect();
    let columns: Vec<Expr> = join.left.schema().columns().into_iter().map(Expr::Column).collect();
    LogicalPlanBuilder::from(keys)
        .join_with_expr_keys(join.left.as_ref().clone(), JoinType::Inner, (distinct, left_keys), None)?
        .project(columns)?
        .build()
}
