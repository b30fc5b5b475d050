//! Work that stops when its query is abandoned.
//!
//! Dropping a query's stream stops an operator only when it next yields.
//! A nested-loop join whose filter drops every row never returns a batch
//! and never yields: a cancelled `t1, t2, t3 WHERE t1.id + t2.id + t3.id
//! < 0` kept a core busy for seconds after its client had its 57014. Each
//! such join's filter is wrapped in [`Abandonable`], which fails at its
//! next evaluation (one chunk of rows) once the query's [`Abandoned`]
//! flag is up; the flag goes up when the query's stream is dropped.
//!
//! A full sort sorts each buffered batch in a task of its own, and all
//! of them are queued on the query runtime at once. Cancelling the query
//! aborts those tasks only when the sort that spawned them is next run,
//! which is behind every queued batch: `ORDER BY` over 1000 expressions
//! kept both cores for 9 s after its 57014. Each full sort therefore runs
//! as an [`AbandonableSort`]: a sort whose keys are [`Abandonable`], so a
//! queued batch fails at its first key once the flag is up. It shows its
//! parents the original sort's properties, because operators above a sort
//! check its ordering by its expressions, which the wrapped keys are not.
//!
//! A connector's scan may wait minutes for its source's next rows, inside
//! a repartition task that outlives the dropped stream; it checks the flag
//! while it waits and then ends, which stops the statement at the source.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::execution_plan::PlanProperties;
use datafusion::physical_plan::joins::utils::JoinFilter;
use datafusion::physical_plan::joins::{NestedLoopJoinExec, NestedLoopJoinExecBuilder};
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, Distribution, SendableRecordBatchStream};
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

/// `plan` with every nested-loop join's filter made [`Abandonable`],
/// every full sort an [`AbandonableSort`], and every connector's scan
/// watching the flag (a source's rows may be minutes apart, and the
/// scan's statement at the source is stopped only when it ends).
pub fn abandonable(plan: Arc<dyn ExecutionPlan>, flag: &Arc<AtomicBool>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        if let Some(scan) = node.as_any().downcast_ref::<crate::table::connector::ConnectorScan>() {
            return Ok(Transformed::yes(Arc::new(scan.watching(Arc::clone(flag))) as Arc<dyn ExecutionPlan>));
        }
        if let Some(sort) = node.as_any().downcast_ref::<SortExec>() {
            // A top-k sort works a batch at a time, and its dynamic filter
            // is already pushed into the scans: it stays as it is.
            if sort.fetch().is_none() {
                let sort = AbandonableSort::new(Arc::new(sort.clone()), Arc::clone(flag))?;
                return Ok(Transformed::yes(Arc::new(sort) as Arc<dyn ExecutionPlan>));
            }
            return Ok(Transformed::no(node));
        }
        let Some(join) = node.as_any().downcast_ref::<NestedLoopJoinExec>() else { return Ok(Transformed::no(node)) };
        let Some(filter) = join.filter() else { return Ok(Transformed::no(node)) };
        let expression: Arc<dyn PhysicalExpr> =
            Arc::new(Abandonable { inner: Arc::clone(filter.expression()), abandoned: Arc::clone(flag) });
        let filter = JoinFilter::new(expression, filter.column_indices().to_vec(), Arc::clone(filter.schema()));
        let rebuilt =
            NestedLoopJoinExecBuilder::new(Arc::clone(join.left()), Arc::clone(join.right()), *join.join_type())
                .with_projection_ref(join.projection().clone())
                .with_filter(Some(filter))
                .build()?;
        Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}

/// A full sort whose keys fail once the query is abandoned; to its
/// parents it is the `original` sort.
#[derive(Debug)]
struct AbandonableSort {
    original: Arc<SortExec>,
    running: SortExec,
    abandoned: Arc<AtomicBool>,
}

impl AbandonableSort {
    fn new(original: Arc<SortExec>, abandoned: Arc<AtomicBool>) -> Result<Self> {
        let keys = original.expr().iter().map(|key| {
            let expr: Arc<dyn PhysicalExpr> =
                Arc::new(Abandonable { inner: Arc::clone(&key.expr), abandoned: Arc::clone(&abandoned) });
            PhysicalSortExpr::new(expr, key.options)
        });
        let Some(keys) = LexOrdering::new(keys) else {
            return Err(DataFusionError::Internal("a sort without keys".to_string()));
        };
        let running = SortExec::new(keys, Arc::clone(original.input()))
            .with_preserve_partitioning(original.preserve_partitioning());
        Ok(AbandonableSort { original, running, abandoned })
    }
}

impl DisplayAs for AbandonableSort {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        self.running.fmt_as(t, f)
    }
}

impl ExecutionPlan for AbandonableSort {
    fn name(&self) -> &str {
        self.original.name()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.original.properties()
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        self.original.required_input_distribution()
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        self.original.benefits_from_input_partitioning()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.original.input()]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let original = Arc::clone(&self.original).with_new_children(children)?;
        let Some(original) = original.as_any().downcast_ref::<SortExec>() else {
            return Err(DataFusionError::Internal("a sort's new children made it another operator".to_string()));
        };
        Ok(Arc::new(AbandonableSort::new(Arc::new(original.clone()), Arc::clone(&self.abandoned))?))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        self.running.execute(partition, context)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        self.running.metrics()
    }

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Statistics> {
        self.original.partition_statistics(partition)
    }
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
            let e = crate::error::Error::new(
                crate::error::SqlState::QueryCanceled,
                "canceling statement: the query was abandoned",
            );
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
