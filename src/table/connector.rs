//! A connector's table as glaux reads it: the filters sent to the source
//! are those `glaux_connector::pushdown` allows (the rest run in glaux),
//! and its scan is a [`ConnectorScan`] that charges what the source sends.
//!
//! The connector's own plan is held inside the scan, not as its child, so
//! no optimizer rule can push anything more into it (a sort the source
//! orders by its own collation); a join's keys reach the source only
//! through `table::join_keys`. EXPLAIN shows that plan's line, with the
//! SQL the source receives. The bytes charged are the Arrow size of the
//! rows received (the metering contract, `table::metered`), to the
//! query's meter and to the scan's `bytes_read`: the bytes their values
//! take ([`received_bytes`]), not the buffers' capacity, so the charge
//! for the same rows does not depend on how they were batched.

use super::metered::{bytes_metric, QueryMeter};
use super::store::ByteCounter;
use super::{join_keys, ScanNotices};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{Result, Statistics};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation, PushedDown,
};
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{displayable, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::{StreamExt, TryStreamExt};
use glaux_connector::connector::RemoteTable;
use glaux_connector::pushdown::{pushable, Dialect};
use glaux_connector::sql::Source;
use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// `catalog.schema.table` of a connector, with glaux's pushdown rules.
#[derive(Debug)]
pub struct ConnectorTable {
    /// The catalog's name: tables of one catalog may be read by one
    /// SELECT (`table::source_query`).
    catalog: String,
    name: String,
    source: Arc<dyn Source>,
    /// Columns the connector left out (name, source type), told to the
    /// client at each scan.
    skipped: Vec<(String, String)>,
    dialect: Dialect,
    /// Whether anything but the columns is sent (the catalog's option
    /// `pushdown`).
    pushdown: bool,
}

impl ConnectorTable {
    pub fn new(catalog: &str, name: String, table: RemoteTable, dialect: Dialect, pushdown: bool) -> ConnectorTable {
        let catalog = catalog.to_string();
        ConnectorTable { catalog, name, source: table.source, skipped: table.skipped, dialect, pushdown }
    }

    /// The table as one SELECT over several of its catalog's tables may
    /// read it: None when only its columns may be sent (`pushdown =
    /// 'off'`), when a column is left out (its NOTICE is the scan's), or
    /// when it is a passthrough query.
    pub fn for_queries(&self) -> Option<(&str, &Arc<dyn Source>, Dialect)> {
        let queried = self.pushdown && self.skipped.is_empty() && self.source.relation().is_some();
        queried.then_some((self.catalog.as_str(), &self.source, self.dialect))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a scan of this table takes a join's keys (pushdown on).
    pub fn takes_keys(&self) -> bool {
        self.pushdown
    }

    fn pushable(&self, filter: &Expr, schema: &Schema) -> bool {
        self.pushdown && pushable(filter, schema, self.dialect)
    }
}

#[async_trait::async_trait]
impl TableProvider for ConnectorTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        self.source.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Exact for what the source evaluates as glaux does; the rest is
    /// not sent (DataFusion applies it above the scan).
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        let schema = self.source.schema();
        Ok(filters
            .iter()
            .map(|f| {
                if self.pushable(f, &schema) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !self.skipped.is_empty() {
            let columns: Vec<String> = self.skipped.iter().map(|(c, t)| format!("{c} ({t})")).collect();
            ScanNotices::notify(
                state.config(),
                format!(
                    "{} is read without columns {}: glaux cannot read their types exactly",
                    self.name,
                    columns.join(", ")
                ),
            );
        }
        let schema = self.source.schema();
        // Only the filters this table accepted reach here; checked again,
        // as nothing else may reach the source.
        let sent: Vec<Expr> = filters.iter().filter(|f| self.pushable(f, &schema)).cloned().collect();
        let limit = if sent.len() == filters.len() && self.pushdown { limit } else { None };
        let all = (0..schema.fields().len()).collect();
        let projection = projection.unwrap_or(&all).clone();
        let reading = Arc::new(Reading {
            source: Arc::clone(&self.source),
            projection,
            filters: sent,
            limit,
            dialect: self.dialect,
            pushdown: self.pushdown,
        });
        let (inner, shown) = reading.plan(&[])?;
        Ok(Arc::new(ConnectorScan { reading: Some(reading), ..ConnectorScan::new(self.name.clone(), shown, inner) }))
    }
}

/// What a scan asks of its source: the columns, the filters sent, the
/// limit.
#[derive(Debug)]
struct Reading {
    source: Arc<dyn Source>,
    projection: Vec<usize>,
    filters: Vec<Expr>,
    limit: Option<usize>,
    dialect: Dialect,
    pushdown: bool,
}

impl Reading {
    /// The connector's plan with `more` conditions sent as well, and its
    /// line as EXPLAIN shows it (with the SQL sent).
    fn plan(&self, more: &[Expr]) -> Result<(Arc<dyn ExecutionPlan>, String)> {
        let filters: Vec<Expr> = self.filters.iter().chain(more).cloned().collect();
        // No columns (count(*)): the first is read and dropped here, as
        // a source's SELECT needs a column.
        let none = self.projection.is_empty() && !self.source.schema().fields().is_empty();
        let asked = if none { vec![0] } else { self.projection.clone() };
        as_read(self.source.plan(&asked, &filters, self.limit)?, none)
    }
}

/// A connector's plan and its line as EXPLAIN shows it (with the SQL
/// sent); with `dropped`, the one column asked for only because a SELECT
/// needs one is dropped from it (`count(*)` reads no column).
pub fn as_read(source: Arc<dyn ExecutionPlan>, dropped: bool) -> Result<(Arc<dyn ExecutionPlan>, String)> {
    let shown = displayable(source.as_ref()).one_line().to_string().trim_end().to_string();
    if !dropped {
        return Ok((source, shown));
    }
    let none = ProjectionExec::try_new(Vec::<datafusion::physical_plan::projection::ProjectionExpr>::new(), source)?;
    Ok((Arc::new(none), shown))
}

/// Reads a connector's plan, charging the rows it returns.
///
/// The connector's plan is held inside, not as a child, so no optimizer
/// rule pushes anything into it (a sort the source would order by its
/// own collation). A join's dynamic filter offered to this scan is kept
/// (`join_filters`): when the scan starts, what glaux can write of it is
/// sent as well (`table::join_keys`), and EXPLAIN ANALYZE shows the SQL
/// sent then.
#[derive(Debug, Clone)]
pub struct ConnectorScan {
    table: String,
    /// The connector's plan as EXPLAIN shows it (with its SQL).
    shown: String,
    inner: Arc<dyn ExecutionPlan>,
    /// What a table's scan asks of its source, to ask again with a
    /// join's keys; None for a SELECT glaux wrote (which takes none).
    reading: Option<Arc<Reading>>,
    join_filters: Vec<Arc<dyn PhysicalExpr>>,
    /// The connector's plan line when join keys were added as it started.
    sent_at_run: Arc<Mutex<Option<String>>>,
    bytes: Arc<ByteCounter>,
    /// Raised when the query is abandoned (`engine::abandon`).
    abandoned: Option<Arc<AtomicBool>>,
}

/// How often a scan waiting for its source looks at the abandoned flag.
const WATCH: std::time::Duration = std::time::Duration::from_millis(100);

impl ConnectorScan {
    /// The scan of `table` (as EXPLAIN names it) reading the connector's
    /// plan `inner`, whose line is `shown`.
    pub fn new(table: String, shown: String, inner: Arc<dyn ExecutionPlan>) -> ConnectorScan {
        ConnectorScan {
            table,
            shown,
            inner,
            reading: None,
            join_filters: Vec::new(),
            sent_at_run: Arc::default(),
            bytes: Arc::default(),
            abandoned: None,
        }
    }

    /// This scan, ending (and so stopping its source's statement) once
    /// `abandoned` is raised.
    pub fn watching(&self, abandoned: Arc<AtomicBool>) -> ConnectorScan {
        ConnectorScan { abandoned: Some(abandoned), ..self.clone() }
    }

    pub fn has_join_filters(&self) -> bool {
        !self.join_filters.is_empty()
    }

    /// This scan without the dynamic filters offered to it.
    pub fn without_join_filters(&self) -> Arc<dyn ExecutionPlan> {
        Arc::new(ConnectorScan { join_filters: Vec::new(), ..self.clone() })
    }

    /// The connector's stream: its plan as planned, or, with join
    /// filters, planned again when it starts with the join's keys.
    fn source_stream(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let Some(reading) = self.reading.as_ref().filter(|_| !self.join_filters.is_empty()) else {
            return self.inner.execute(partition, context);
        };
        let (reading, inner, filters) = (Arc::clone(reading), Arc::clone(&self.inner), self.join_filters.clone());
        let (schema, sent_at_run) = (self.schema(), Arc::clone(&self.sent_at_run));
        let output = Arc::clone(&schema);
        let stream = futures::stream::once(async move {
            let table = reading.source.schema();
            let keys = join_keys::conditions(&filters, &output, &table, reading.dialect).await;
            let plan = if keys.is_empty() {
                inner
            } else {
                let (plan, shown) = reading.plan(&keys)?;
                *sent_at_run.lock().unwrap_or_else(|e| e.into_inner()) = Some(shown);
                plan
            };
            plan.execute(partition, context)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

impl DisplayAs for ConnectorScan {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let sent = self.sent_at_run.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match sent {
            Some(sent) => write!(f, "ConnectorScan: table={}, {sent}", self.table),
            None if !self.join_filters.is_empty() => {
                write!(f, "ConnectorScan: table={}, {}, and a join's keys when it starts", self.table, self.shown)
            }
            None => write!(f, "ConnectorScan: table={}, {}", self.table, self.shown),
        }
    }
}

impl ExecutionPlan for ConnectorScan {
    fn name(&self) -> &str {
        "ConnectorScan"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.inner.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let meter = context.session_config().get_extension::<QueryMeter>().map(|m| Arc::clone(&m.tally));
        if let Some(meter) = &meter {
            meter.check().map_err(crate::error::Error::into_datafusion)?;
        }
        let mut stream = self.source_stream(partition, context)?;
        let schema = stream.schema();
        if let Some(flag) = &self.abandoned {
            stream = until_abandoned(stream, Arc::clone(flag));
        }
        let bytes = Arc::clone(&self.bytes);
        let table = self.table.clone();
        let charged = stream.map(move |batch| {
            let batch = batch.map_err(|e| source_error(&table, e))?;
            let n = received_bytes(&batch);
            bytes.add(n);
            if let Some(meter) = &meter {
                meter.charge(n).map_err(crate::error::Error::into_datafusion)?;
            }
            Ok(batch)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, charged)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(bytes_metric(&self.bytes))
    }

    /// A join's dynamic filter is kept, to send its keys when the scan
    /// starts; none is reported as applied (the join applies its own).
    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        offered: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let dynamic: Vec<Arc<dyn PhysicalExpr>> =
            offered.parent_filters.iter().map(|f| Arc::clone(&f.filter)).filter(join_keys::is_dynamic).collect();
        let none =
            FilterPushdownPropagation::with_parent_pushdown_result(vec![PushedDown::No; offered.parent_filters.len()]);
        // With a LIMIT sent, fewer rows passing would be other rows.
        let takes_keys = self.reading.as_ref().is_some_and(|r| r.limit.is_none() && r.pushdown);
        if dynamic.is_empty() || !takes_keys {
            return Ok(none);
        }
        let mut scan = self.clone();
        scan.join_filters.extend(dynamic);
        Ok(none.with_updated_node(Arc::new(scan)))
    }

    fn partition_statistics(&self, _: Option<usize>) -> Result<Statistics> {
        Ok(Statistics::new_unknown(&self.schema()))
    }
}

/// `stream`, ended with 57014 (and so dropped, which stops the source's
/// statement) once `abandoned` is raised, even while it waits for rows.
fn until_abandoned(stream: SendableRecordBatchStream, abandoned: Arc<AtomicBool>) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let watched = futures::stream::unfold(Some(stream), move |state| {
        let abandoned = Arc::clone(&abandoned);
        async move {
            let mut stream = state?;
            let next = stream.next();
            futures::pin_mut!(next);
            loop {
                tokio::select! {
                    item = &mut next => return item.map(|item| (item, Some(stream))),
                    _ = tokio::time::sleep(WATCH) => {
                        if abandoned.load(Ordering::Relaxed) {
                            let e = crate::error::Error::new(crate::error::SqlState::QueryCanceled, "the query was abandoned");
                            return Some((Err(e.into_datafusion()), None));
                        }
                    }
                }
            }
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, watched))
}

/// The bytes `batch`'s values take in Arrow: each column's data, offsets
/// and validity as far as its rows reach (a builder's spare capacity,
/// which varies with how rows arrived, is not counted).
fn received_bytes(batch: &datafusion::arrow::array::RecordBatch) -> u64 {
    let size = |c: &datafusion::arrow::array::ArrayRef| {
        let data = c.to_data();
        data.get_slice_memory_size().unwrap_or_else(|_| c.get_array_memory_size())
    };
    batch.columns().iter().map(size).sum::<usize>() as u64
}

/// An error the connector's stream raised: what the source or its driver
/// reported as text is HV000 naming the table; a connector's own error
/// about its source (HV00N for a connection lost or not made, 28P01, ...)
/// keeps its code and is prefixed with the table; glaux's other errors (a
/// meter's refusal) and DataFusion's resource errors are as they are.
fn source_error(table: &str, e: datafusion::error::DataFusionError) -> datafusion::error::DataFusionError {
    use crate::error::{Error, SqlState};
    use datafusion::error::DataFusionError as D;
    let one_line = |m: &str| m.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    match e {
        D::Execution(message) => {
            Error::new(SqlState::FdwError, format!("reading {table}: {}", one_line(&message))).into_datafusion()
        }
        D::External(boxed) => match boxed.downcast::<Error>() {
            Ok(error) => match *error {
                Error::Sql { state, message, .. }
                    if matches!(
                        state,
                        SqlState::FdwUnableToEstablishConnection | SqlState::FdwError | SqlState::InvalidPassword
                    ) =>
                {
                    Error::new(state, format!("reading {table}: {}", one_line(&message))).into_datafusion()
                }
                other => other.into_datafusion(),
            },
            Err(other) => D::External(other),
        },
        other => other,
    }
}
