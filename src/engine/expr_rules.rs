//! The walk shared by glaux's analyzer rules that rewrite expressions
//! ([`super::literals::UnknownLiterals`],
//! [`super::checked_arithmetic::CheckedArithmetic`]).

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan};

/// `plan` with `rewrite` applied bottom-up to every expression of every
/// node, subqueries included. `rewrite` sees the schema the expression is
/// evaluated against (the node's inputs, or the node's own for a leaf),
/// and each rewritten expression keeps its column name.
pub fn rewrite_expressions(
    plan: LogicalPlan,
    rewrite: impl Fn(Expr, &DFSchema) -> Result<Transformed<Expr>>,
) -> Result<LogicalPlan> {
    plan.transform_up_with_subqueries(|plan| {
        let mut schema = DFSchema::empty();
        for input in plan.inputs() {
            schema.merge(input.schema());
        }
        if plan.inputs().is_empty() {
            schema.merge(plan.schema());
        }
        let names = NamePreserver::new(&plan);
        plan.map_expressions(|e| {
            let name = names.save(&e);
            Ok(e.transform_up(|e| rewrite(e, &schema))?.update_data(|e| name.restore(e)))
        })
    })
    .map(|t| t.data)
}
