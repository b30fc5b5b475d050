//! Work that stops when its query is abandoned.
//!
//! Dropping a query's stream stops an operator only when it next yields.
//! A nested-loop join whose filter drops every row never returns a batch
//! and never yields: a cancelled `t1, t2, t3 WHERE t1.id + t2.id + t3.id
//! < 0` kept a core busy for seconds after its client had its 57014. Each
//! such join's filter is wrapped in [`Abandonable`], which fails at its
//! next evaluation (one chunk of rows) once the query's [`Abandoned`]
//! flag is up; the flag goes up when the query's stream is dropped.
//! (A sort's keys cannot be wrapped the same way: operators above it
//! check its ordering by its expressions. A cancelled sort still finishes
//! the batch it is sorting.)

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::joins::utils::JoinFilter;
use datafusion::physical_plan::joins::{NestedLoopJoinExec, NestedLoopJoinExecBuilder};
use datafusion::physical_plan::ExecutionPlan;
use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Raised when a query's stream is dropped (cancel, timeout, a client
/// gone); the guard raises it when dropped.
#[derive(Debug, Default)]
pub struct Abandoned(Arc<AtomicBool>);

impl Abandoned {
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

impl Drop for Abandoned {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `plan` with every nested-loop join's filter made [`Abandonable`].
pub fn abandonable(plan: Arc<dyn ExecutionPlan>, flag: &Arc<AtomicBool>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(join) = node.as_any().downcast_ref::<NestedLoopJoinExec>() else { return Ok(Transformed::no(node)) };
        let Some(filter) = join.filter() else { return Ok(Transformed::no(node)) };
        let expression: Arc<dyn PhysicalExpr> =
            Arc::new(Abandonable { inner: Arc::clone(filter.expression()), abandoned: Arc::clone(flag) });
        let filter = JoinFilter::new(expression, filter.column_indices().to_vec(), Arc::clone(filter.schema()));
        let rebuilt = NestedLoopJoinExecBuilder::new(Arc::clone(join.left()), Arc::clone(join.right()), *join.join_type())
            .with_projection_ref(join.projection().clone())
            .with_filter(Some(filter))
            .build()?;
        Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}

/// An expression that fails once its query is abandoned.
#[derive(Debug)]
struct Abandonable {
    inner: Arc<dyn PhysicalExpr>,
    abandoned: Arc<AtomicBool>,
}

impl PartialEq for Abandonable {
    fn eq(&self, other: &Self) -> bool {
        self.inner.as_ref() == other.inner.as_ref()
    }
}

impl Eq for Abandonable {}

impl Hash for Abandonable {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.as_ref().hash(state);
    }
}

impl fmt::Display for Abandonable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

impl PhysicalExpr for Abandonable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn data_type(&self, input_schema: &Schema) -> Result<DataType> {
        self.inner.data_type(input_schema)
    }

    fn nullable(&self, input_schema: &Schema) -> Result<bool> {
        self.inner.nullable(input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        if self.abandoned.load(Ordering::Relaxed) {
            let e = crate::error::Error::new(crate::error::SqlState::QueryCanceled, "canceling statement: the query was abandoned");
            return Err(e.into_datafusion());
        }
        self.inner.evaluate(batch)
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.inner]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn PhysicalExpr>>) -> Result<Arc<dyn PhysicalExpr>> {
        let inner = children.into_iter().next().unwrap_or_else(|| Arc::clone(&self.inner));
        Ok(Arc::new(Abandonable { inner, abandoned: Arc::clone(&self.abandoned) }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt_sql(f)
    }
}
