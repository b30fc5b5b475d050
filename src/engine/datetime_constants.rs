//! Date and timestamp arithmetic on constants that leaves the calendar.
//!
//! DataFusion folds constant expressions while it optimizes a query, and
//! leaves one whose evaluation fails for execution to report. For
//! `DATE '2024-01-01' + INTERVAL '2147483647 days'` that was too late:
//! planning the projection computes the expression's bounds, which have no
//! extreme value for dates, and panicked; `now() + interval '300000
//! years'` failed as XX000. [`DatetimeConstants`], an optimizer rule run
//! after DataFusion's own, evaluates each constant `date or timestamp ±
//! interval` still unfolded and refuses the statement with PostgreSQL's
//! 22008 when it overflows.
//!
//! (The same arithmetic on a column's values that overflows fails when
//! it runs, as XX000.)

use crate::error::{Error, SqlState};
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::error::ArrowError;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::BinaryExpr;
use datafusion::logical_expr::{Expr, LogicalPlan, Operator};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

#[derive(Debug, Default)]
pub struct DatetimeConstants;

impl OptimizerRule for DatetimeConstants {
    fn name(&self) -> &str {
        "glaux_datetime_constants"
    }

    fn rewrite(&self, plan: LogicalPlan, _: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        plan.apply_with_subqueries(|node| node.apply_expressions(|e| e.apply(check)))?;
        Ok(Transformed::no(plan))
    }
}

/// Fails when `expr` is a constant date or timestamp plus or minus
/// something that leaves the representable range.
fn check(expr: &Expr) -> Result<TreeNodeRecursion> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = expr else { return Ok(TreeNodeRecursion::Continue) };
    let (Expr::Literal(l, _), Expr::Literal(r, _)) = (left.as_ref(), right.as_ref()) else {
        return Ok(TreeNodeRecursion::Continue);
    };
    if !matches!(op, Operator::Plus | Operator::Minus) || l.is_null() || r.is_null() {
        return Ok(TreeNodeRecursion::Continue);
    }
    let Some(kind) = [l, r].into_iter().find_map(datetime_kind) else { return Ok(TreeNodeRecursion::Continue) };
    let (a, b) = (l.to_scalar()?, r.to_scalar()?);
    let result = if *op == Operator::Plus { numeric::add(&a, &b) } else { numeric::sub(&a, &b) };
    match result {
        Err(ArrowError::ComputeError(_) | ArrowError::ArithmeticOverflow(_)) => {
            let e = Error::new(SqlState::DatetimeFieldOverflow, format!("{kind} out of range: {l} {op} {r}"));
            Err(e.into_datafusion())
        }
        _ => Ok(TreeNodeRecursion::Continue),
    }
}

/// "date" or "timestamp" for a value of those types.
fn datetime_kind(value: &ScalarValue) -> Option<&'static str> {
    match value.data_type() {
        DataType::Date32 | DataType::Date64 => Some("date"),
        DataType::Timestamp(..) => Some("timestamp"),
        _ => None,
    }
}
