//! Metered reads, per query and per scan.
//!
//! # The metering contract
//!
//! Every byte a query reads from table storage is charged, as it is
//! read, to two tallies ([`Tally`]): the query's meter ([`QueryMeter`],
//! which enforces the workgroup's per-query cutoff and from which the
//! ledger and the bill are made), and the counter of the scan that read
//! it (EXPLAIN ANALYZE's `bytes_read`). A read asks [`Tally::check`]
//! before each request (a cutoff already passed refuses it, so a query
//! over its limit stops reading) and calls [`Tally::charge`] with the
//! bytes received. Whichever reader reads, the contract is the same:
//!
//! - DataFusion's file scans meet it through their object stores: a
//!   scan is planned in a [`ScanSession`] and run in a [`ScanContext`]
//!   whose stores are counting stores charging both tallies.
//! - A reader that does its own I/O (a table format's own file reader, a
//!   connector's result stream) must charge the same tallies: the query's
//!   meter is the [`QueryMeter`] extension of the `SessionConfig` it is
//!   planned and run with (absent only when metering is off), and its
//!   scan's counter is its own [`ByteCounter`] reported as
//!   [`bytes_metric`]. Bytes that do not come from storage (a connector's
//!   rows) are charged as the size of the Arrow data received.
//!
//! - Per query: a [`QueryMeter`] (the workgroup meter and memory limit)
//!   rides in the query's `SessionConfig` ([`charged_state`]); the query
//!   runs in a task context whose stores charge it ([`query_context`]).
//! - Per scan, for EXPLAIN ANALYZE's `bytes_read`: a scan is planned in a
//!   [`ScanSession`] and run in a task context ([`ScanContext`]) whose
//!   stores also count into the scan's own counter.
//!
//! [`MeteredTable`] wraps an unpartitioned table's provider so its scan
//! is a [`MeteredScan`]; partitioned tables' `PartitionsScan` does the
//! same itself. Both pass statistics, order, limits and filter pushdown
//! through ([`pass_through_plan`]).

use super::store::{Both, ByteCounter, CountingStore, Tally};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::TableOptions;
use datafusion::common::DFSchema;
use datafusion::common::Result;
use datafusion::datasource::TableType;
use datafusion::execution::context::ExecutionProps;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{AggregateUDF, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::PhysicalExpr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion::prelude::SessionConfig;
use object_store::ObjectStore;
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use url::Url;

/// Whether per-query and per-scan metering is on: always, except when
/// `GLAUX_UNMETERED=1` is set for the metering benchmark
/// (`bench/metering.sh`), which measures what metering costs.
pub fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("GLAUX_UNMETERED").map_or(true, |v| v != "1"))
}

/// What one query's reads are charged to, and the memory it may use. It
/// rides in the query's `SessionConfig`: its scans are planned
/// ([`metered_state`]) and it runs ([`query_context`]) with stores that
/// charge it, without a `SessionState` of its own.
#[derive(Debug)]
pub struct QueryMeter {
    pub tally: Arc<dyn Tally>,
    pub memory_limit: Option<u64>,
}

/// `state` for running one query under `meter`.
pub fn charged_state(state: &SessionState, meter: QueryMeter) -> SessionState {
    let mut state = state.clone();
    state.config_mut().set_extension(Arc::new(meter));
    state
}

/// The runtime a query runs with: `runtime`, with the stores and memory
/// pool of its meter when it has one.
pub fn query_runtime(config: &SessionConfig, runtime: &Arc<RuntimeEnv>) -> Result<Arc<RuntimeEnv>> {
    match config.get_extension::<QueryMeter>() {
        Some(meter) => metered_runtime(runtime, Arc::clone(&meter.tally), meter.memory_limit),
        None => Ok(Arc::clone(runtime)),
    }
}

/// A query's task context: `context` with [`query_runtime`].
pub fn query_context(context: Arc<TaskContext>) -> Result<Arc<TaskContext>> {
    if context.session_config().get_extension::<QueryMeter>().is_none() {
        return Ok(context);
    }
    let runtime = query_runtime(context.session_config(), &context.runtime_env())?;
    Ok(match Arc::try_unwrap(context) {
        Ok(own) => Arc::new(own.with_runtime(runtime)),
        Err(shared) => with_runtime(&shared, runtime),
    })
}

/// A task context whose object stores also count into `counter`.
pub fn metered_context(context: &Arc<TaskContext>, counter: &Arc<ByteCounter>) -> Result<Arc<TaskContext>> {
    let runtime = metered_runtime(&context.runtime_env(), Arc::clone(counter) as Arc<dyn Tally>, None)?;
    Ok(with_runtime(context, runtime))
}

/// The metered task context a scan's partitions share: made for the first
/// partition, and reused while the partitions run in the same context
/// (each copy of a context copies its function lists).
#[derive(Debug, Default)]
pub struct ScanContext(std::sync::Mutex<Option<(Arc<TaskContext>, Arc<TaskContext>)>>);

impl ScanContext {
    pub fn get(&self, context: &Arc<TaskContext>, counter: &Arc<ByteCounter>) -> Result<Arc<TaskContext>> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((from, made)) = slot.as_ref() {
            if Arc::ptr_eq(from, context) {
                return Ok(Arc::clone(made));
            }
        }
        let made = metered_context(context, counter)?;
        *slot = Some((Arc::clone(context), Arc::clone(&made)));
        Ok(made)
    }
}

fn with_runtime(context: &TaskContext, runtime: Arc<RuntimeEnv>) -> Arc<TaskContext> {
    Arc::new(TaskContext::new(
        context.task_id(),
        context.session_id(),
        context.session_config().clone(),
        context.scalar_functions().clone(),
        context.aggregate_functions().clone(),
        context.window_functions().clone(),
        runtime,
    ))
}

/// A session for planning one scan: `state` with object stores that also
/// count into `counter`, and into the query's meter. Parquet scans take
/// their store when they are planned, other formats when they run (see
/// [`metered_context`]).
pub fn metered_state(state: &dyn Session, counter: &Arc<ByteCounter>) -> Result<ScanSession> {
    let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
        return Err(datafusion::error::DataFusionError::Internal("a scan was planned outside a SessionState".into()));
    };
    let scan = Arc::clone(counter) as Arc<dyn Tally>;
    let tally = match state.config().get_extension::<QueryMeter>() {
        Some(meter) => Arc::new(Both(scan, Arc::clone(&meter.tally))) as Arc<dyn Tally>,
        None => scan,
    };
    let runtime = metered_runtime(state.runtime_env(), tally, None)?;
    Ok(ScanSession { inner: state.clone(), runtime })
}

/// A session state with a runtime of its own. It is what a scan is
/// planned in, and costs a copy of the state, where building a new
/// `SessionState` would register every function again.
#[derive(Clone)]
pub struct ScanSession {
    inner: SessionState,
    runtime: Arc<RuntimeEnv>,
}

#[async_trait::async_trait]
impl Session for ScanSession {
    fn session_id(&self) -> &str {
        self.inner.session_id()
    }

    fn config(&self) -> &SessionConfig {
        self.inner.config()
    }

    async fn create_physical_plan(&self, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.create_physical_plan(plan).await
    }

    fn create_physical_expr(&self, expr: Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>> {
        Session::create_physical_expr(&self.inner, expr, schema)
    }

    fn scalar_functions(&self) -> &HashMap<String, Arc<ScalarUDF>> {
        self.inner.scalar_functions()
    }

    fn aggregate_functions(&self) -> &HashMap<String, Arc<AggregateUDF>> {
        self.inner.aggregate_functions()
    }

    fn window_functions(&self) -> &HashMap<String, Arc<WindowUDF>> {
        self.inner.window_functions()
    }

    fn runtime_env(&self) -> &Arc<RuntimeEnv> {
        &self.runtime
    }

    fn execution_props(&self) -> &ExecutionProps {
        self.inner.execution_props()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_options(&self) -> &TableOptions {
        self.inner.table_options()
    }

    fn table_options_mut(&mut self) -> &mut TableOptions {
        self.inner.table_options_mut()
    }

    fn task_ctx(&self) -> Arc<TaskContext> {
        Arc::new(TaskContext::new(
            None,
            self.inner.session_id().to_string(),
            self.inner.config().clone(),
            self.inner.scalar_functions().clone(),
            self.inner.aggregate_functions().clone(),
            self.inner.window_functions().clone(),
            Arc::clone(&self.runtime),
        ))
    }
}

/// `runtime` with object stores that also charge `tally`, and (with
/// `memory_limit`) a memory pool of its own.
fn metered_runtime(runtime: &RuntimeEnv, tally: Arc<dyn Tally>, memory_limit: Option<u64>) -> Result<Arc<RuntimeEnv>> {
    let registry: Arc<dyn ObjectStoreRegistry> =
        Arc::new(MeteredRegistry { inner: Arc::clone(&runtime.object_store_registry), counter: tally });
    let mut builder = RuntimeEnvBuilder::from_runtime_env(runtime).with_object_store_registry(registry);
    if let Some(limit) = memory_limit {
        builder = builder.with_memory_limit(limit as usize, 1.0);
    }
    builder.build_arc()
}

/// How many files the scans under `plan` read.
pub fn files_in(plan: &Arc<dyn ExecutionPlan>) -> usize {
    use datafusion::datasource::physical_plan::FileScanConfig;
    use datafusion::datasource::source::DataSourceExec;
    let own = plan
        .as_any()
        .downcast_ref::<DataSourceExec>()
        .and_then(|d| d.data_source().as_any().downcast_ref::<FileScanConfig>())
        .map_or(0, |c| c.file_groups.iter().map(|g| g.len()).sum());
    own + plan.children().into_iter().map(files_in).sum::<usize>()
}

/// The `bytes_read` metric with a counter's value.
pub fn bytes_metric(counter: &ByteCounter) -> MetricsSet {
    let set = ExecutionPlanMetricsSet::new();
    MetricBuilder::new(&set).global_counter("bytes_read").add(counter.get() as usize);
    set.clone_inner()
}

#[derive(Debug)]
struct MeteredRegistry {
    inner: Arc<dyn ObjectStoreRegistry>,
    counter: Arc<dyn Tally>,
}

impl ObjectStoreRegistry for MeteredRegistry {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        Ok(Arc::new(CountingStore::new(self.inner.get_store(url)?, Arc::clone(&self.counter))))
    }
}

/// A table whose scans report the bytes they read.
#[derive(Debug)]
pub struct MeteredTable {
    inner: Arc<dyn TableProvider>,
    name: String,
    /// The catalog entry INSERT writes to (`super::write`), if writable.
    writes_to: Option<crate::catalog::Table>,
}

impl MeteredTable {
    pub fn new(inner: Arc<dyn TableProvider>, name: String) -> Self {
        MeteredTable { inner, name, writes_to: None }
    }

    /// The table, taking INSERT as new files of `table`.
    pub fn writable(self, table: crate::catalog::Table) -> Self {
        MeteredTable { writes_to: Some(table), ..self }
    }
}

#[async_trait::async_trait]
impl TableProvider for MeteredTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    /// INSERT: new files under the table's location (`super::write`).
    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: datafusion::logical_expr::dml::InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(table) = &self.writes_to else {
            return Err(datafusion::error::DataFusionError::NotImplemented(format!("INSERT into {}", self.name)));
        };
        super::write::insert(table.clone(), None, self.schema(), input, op)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let bytes = Arc::default();
        if !enabled() {
            let input = self.inner.scan(state, projection, filters, limit).await?;
            return super::selective::pushdown_if_selective(input, filters, state);
        }
        let metered = metered_state(state, &bytes)?;
        let input = self.inner.scan(&metered, projection, filters, limit).await?;
        let input = super::selective::pushdown_if_selective(input, filters, state)?;
        Ok(Arc::new(MeteredScan { table: self.name.clone(), input, bytes, context: ScanContext::default() }))
    }
}

/// The `ExecutionPlan` methods of a node that passes its one input's
/// batches on unchanged (a scan wrapper): statistics, order, limits and
/// filter pushdown see through it, so wrapping a scan changes no plan
/// (`count(*)` is still answered from Parquet statistics, dynamic filters
/// still reach the files).
macro_rules! pass_through_plan {
    () => {
        fn partition_statistics(
            &self,
            partition: Option<usize>,
        ) -> datafusion::common::Result<datafusion::common::Statistics> {
            self.input.partition_statistics(partition)
        }

        fn maintains_input_order(&self) -> Vec<bool> {
            vec![true]
        }

        fn benefits_from_input_partitioning(&self) -> Vec<bool> {
            vec![false]
        }

        fn cardinality_effect(&self) -> datafusion::physical_plan::execution_plan::CardinalityEffect {
            datafusion::physical_plan::execution_plan::CardinalityEffect::Equal
        }

        fn supports_limit_pushdown(&self) -> bool {
            true
        }

        fn gather_filters_for_pushdown(
            &self,
            _phase: datafusion::physical_plan::filter_pushdown::FilterPushdownPhase,
            parent_filters: Vec<Arc<dyn datafusion::physical_plan::PhysicalExpr>>,
            _config: &datafusion::common::config::ConfigOptions,
        ) -> datafusion::common::Result<datafusion::physical_plan::filter_pushdown::FilterDescription> {
            datafusion::physical_plan::filter_pushdown::FilterDescription::from_children(
                parent_filters,
                &self.children(),
            )
        }

        fn handle_child_pushdown_result(
            &self,
            _phase: datafusion::physical_plan::filter_pushdown::FilterPushdownPhase,
            child_pushdown_result: datafusion::physical_plan::filter_pushdown::ChildPushdownResult,
            _config: &datafusion::common::config::ConfigOptions,
        ) -> datafusion::common::Result<
            datafusion::physical_plan::filter_pushdown::FilterPushdownPropagation<Arc<dyn ExecutionPlan>>,
        > {
            Ok(datafusion::physical_plan::filter_pushdown::FilterPushdownPropagation::if_all(child_pushdown_result))
        }
    };
}
pub(crate) use pass_through_plan;

/// A scan that counts the bytes its input reads.
#[derive(Debug)]
pub struct MeteredScan {
    table: String,
    input: Arc<dyn ExecutionPlan>,
    bytes: Arc<ByteCounter>,
    context: ScanContext,
}

impl DisplayAs for MeteredScan {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "TableScan: table={}, files={}", self.table, files_in(&self.input))
    }
}

impl ExecutionPlan for MeteredScan {
    fn name(&self) -> &str {
        "TableScan"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(self: Arc<Self>, mut children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.pop().ok_or_else(|| datafusion::error::DataFusionError::Internal("no input".into()))?;
        Ok(Arc::new(MeteredScan {
            table: self.table.clone(),
            input,
            bytes: Arc::clone(&self.bytes),
            context: ScanContext::default(),
        }))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, self.context.get(&context, &self.bytes)?)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(bytes_metric(&self.bytes))
    }

    pass_through_plan!();
}
