//! Row filters inside the Parquet reader for selective scans.
//!
//! DataFusion applies a scan's conditions in two places: the Parquet
//! reader prunes row groups and pages with them (statistics, page index,
//! bloom filters), then a filter above the scan drops the rows that do
//! not match, after every column of the surviving pages was decoded. The
//! reader can also evaluate the conditions itself, row by row, and
//! decode the other columns only for the rows that pass
//! (`datafusion.execution.parquet.pushdown_filters`). That costs a second
//! pass over the filter columns, so over whole tables it is slower (the
//! TPC-H run in docs/benchmarks.md: 2.18 times DuckDB against 1.59), but
//! for a lookup it saves decoding thousands of rows of every column to
//! keep one.
//!
//! [`pushdown_if_selective`] turns it on for one scan when the scan's
//! statistics say its conditions keep at most [`SELECTIVE`] of its rows
//! (DataFusion's own estimate, from each column's minimum and maximum: an
//! equality on a key of 150,000 rows keeps 1/150,000); everything else
//! reads as before. The answer is the same either way.

use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::intervals::utils::check_support;
use datafusion::physical_expr::{analyze, AnalysisContext};
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;

/// The largest share of a scan's rows its conditions may keep for the
/// Parquet reader to evaluate them row by row: one in a thousand.
pub const SELECTIVE: f64 = 0.001;

/// `plan` (a table's scan, reading with `filters`), with its Parquet
/// sources evaluating the filters row by row when they are selective.
pub fn pushdown_if_selective(
    plan: Arc<dyn ExecutionPlan>,
    filters: &[Expr],
    state: &dyn Session,
) -> Result<Arc<dyn ExecutionPlan>> {
    if filters.is_empty()
        || state.config_options().execution.parquet.pushdown_filters
        || !selective(&plan, filters, state)
    {
        return Ok(plan);
    }
    let rewritten = plan.transform_up(|node| {
        let Some(scan) = node.as_any().downcast_ref::<DataSourceExec>() else {
            return Ok(Transformed::no(node));
        };
        let Some(config) = scan.data_source().as_any().downcast_ref::<FileScanConfig>() else {
            return Ok(Transformed::no(node));
        };
        let Some(parquet) = config.file_source().as_any().downcast_ref::<ParquetSource>() else {
            return Ok(Transformed::no(node));
        };
        let source = parquet.clone().with_pushdown_filters(true).with_reorder_filters(true);
        let config = FileScanConfigBuilder::from(config.clone()).with_source(Arc::new(source)).build();
        Ok(Transformed::yes(DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>))
    })?;
    Ok(rewritten.data)
}

/// Whether `filters` keep at most [`SELECTIVE`] of the rows `plan`'s
/// statistics say it reads (false when they cannot say).
fn selective(plan: &Arc<dyn ExecutionPlan>, filters: &[Expr], state: &dyn Session) -> bool {
    let estimate = || -> Result<Option<f64>> {
        let schema = plan.schema();
        let Some(predicate) = filters.iter().cloned().map(unnormalize_col).reduce(Expr::and) else {
            return Ok(None);
        };
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let predicate = state.create_physical_expr(predicate, &df_schema)?;
        if !check_support(&predicate, &schema) {
            return Ok(None);
        }
        let statistics = plan.partition_statistics(None)?;
        let context = AnalysisContext::try_from_statistics(&schema, &statistics.column_statistics)?;
        Ok(analyze(&predicate, context, &schema)?.selectivity)
    };
    // A condition the analysis cannot take (a column the scan does not
    // return, a function it does not model) leaves the scan as it was.
    matches!(estimate(), Ok(Some(share)) if share <= SELECTIVE)
}
