//! MERGE INTO an Iceberg table: the target's rows with their places, and
//! the snapshot the merge's actions make.
//!
//! The statement (`engine::commands::merge`) joins the source with
//! [`MergeTarget`], the target's current snapshot as a table whose rows
//! carry the data file and position they live at ([`FILE`], [`POS`]).
//! The target's live rows are read as DELETE reads them
//! (`super::row_level`): each data file whole, its deletes not applied,
//! the positions its position-delete files delete left out. Conditions of
//! the join's ON clause on the target's own columns reach the scan, and
//! plan only the files they can match.
//!
//! [`Changes`] gathers what the joined rows ask for: the positions that
//! an UPDATE or DELETE clause removes (a second removal of one position
//! is 21000, as the SQL standard says of a target row two source rows
//! match) and the rows UPDATE and INSERT clauses write. [`Changes::delta`]
//! turns them into a row delta as DELETE's: position-delete files, whole
//! files removed, new data files.

use super::row_level::{plan_tasks, read_whole, refuse_equality_deletes, DeletedPositions, Deletions};
use super::snapshot::RowDelta;
use crate::error::{Error, SqlState};
use datafusion::arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use futures::StreamExt;
use iceberg::scan::FileScanTask;
use iceberg::table::Table;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The column of [`MergeTarget`] naming a row's data file.
pub const FILE: &str = "__glaux_file";
/// The column of [`MergeTarget`] holding a row's position in its file.
pub const POS: &str = "__glaux_pos";

/// A data file of the target that the merge read: its scan task, and how
/// many of its rows are live.
#[derive(Debug, Clone)]
struct TargetFile {
    task: FileScanTask,
    live: u64,
}

/// The files the target's scan read, by path.
type ReadFiles = Arc<Mutex<HashMap<String, TargetFile>>>;

/// The current snapshot of Iceberg table `name` (`db.table`) as a table of
/// its columns and [`FILE`] and [`POS`].
#[derive(Debug)]
pub struct MergeTarget {
    name: String,
    table: Table,
    /// The table's columns (the current schema's, as Arrow).
    columns: SchemaRef,
    schema: SchemaRef,
    files: ReadFiles,
}

impl MergeTarget {
    pub fn new(name: String, table: Table, columns: SchemaRef) -> MergeTarget {
        let mut fields: Vec<Field> = columns.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new(FILE, DataType::Utf8, false));
        fields.push(Field::new(POS, DataType::Int64, false));
        let schema = Arc::new(Schema::new(fields));
        MergeTarget { name, table, columns, schema, files: Arc::default() }
    }

    /// The table this target is a snapshot of.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// An empty gathering of the changes the merge's rows ask for.
    pub fn changes(&self) -> Changes {
        Changes { files: Arc::clone(&self.files), removed: HashMap::new(), written: Vec::new(), count: 0 }
    }
}

#[async_trait::async_trait]
impl TableProvider for MergeTarget {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Conditions on the table's own columns plan the files; every
    /// condition is evaluated again on the rows.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        let own = |f: &Expr| f.column_refs().iter().all(|c| self.columns.field_with_name(&c.name).is_ok());
        Ok(filters
            .iter()
            .map(
                |f| {
                    if own(f) {
                        TableProviderFilterPushDown::Inexact
                    } else {
                        TableProviderFilterPushDown::Unsupported
                    }
                },
            )
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let projection = projection.unwrap_or(&all).clone();
        let schema = Arc::new(self.schema.project(&projection)?);
        let mut read: Vec<String> = projection
            .iter()
            .filter(|i| **i < self.columns.fields().len())
            .map(|i| self.columns.field(*i).name().clone())
            .collect();
        // A row count needs a column read; the first, left out after.
        if read.is_empty() {
            read.extend(self.columns.fields().first().map(|f| f.name().clone()));
        }
        let tasks = match self.table.metadata().current_snapshot() {
            Some(snapshot) => plan_tasks(&self.table, snapshot, filters, &read)
                .await
                .map_err(|e| super::df_error(e, &format!("MERGE INTO {}: planning its files", self.name)))?,
            None => Vec::new(),
        };
        let partitions = state.config().target_partitions();
        let groups = super::table::spread(tasks, partitions);
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(groups.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(MergeTargetScan {
            name: self.name.clone(),
            groups,
            projection,
            columns: self.columns.fields().len(),
            schema,
            files: Arc::clone(&self.files),
            properties,
        }))
    }
}

/// The scan of [`MergeTarget`]: each partition reads its files whole.
#[derive(Debug)]
struct MergeTargetScan {
    name: String,
    groups: Vec<Vec<FileScanTask>>,
    /// Indexes into the target's schema (its columns, then file and pos).
    projection: Vec<usize>,
    /// How many of the target's columns there are.
    columns: usize,
    schema: SchemaRef,
    files: ReadFiles,
    properties: Arc<PlanProperties>,
}

impl MergeTargetScan {
    /// The live rows of one file, as the projection asks for them.
    fn file_rows(
        &self,
        file_io: iceberg::io::FileIO,
        task: FileScanTask,
    ) -> impl futures::Stream<Item = Result<RecordBatch>> + Send + 'static {
        let (schema, projection, columns) = (Arc::clone(&self.schema), self.projection.clone(), self.columns);
        let files = Arc::clone(&self.files);
        let statement = format!("MERGE INTO {}", self.name);
        futures::stream::once(async move {
            let context = format!("{statement}: reading {}", task.data_file_path);
            let fail = |e: iceberg::Error| super::df_error(e, &context);
            refuse_equality_deletes(&task, &statement).map_err(Error::into_datafusion)?;
            let already = DeletedPositions::default().of(&file_io, &task).await.map_err(fail)?;
            let rows = task.record_count.unwrap_or(u64::MAX);
            let live = rows.saturating_sub(already.range(..rows.min(i64::MAX as u64) as i64).count() as u64);
            files
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(task.data_file_path.clone(), TargetFile { task: task.clone(), live });
            let path = task.data_file_path.clone();
            let batches = read_whole(&file_io, &task).map_err(fail)?;
            let mut at = 0i64;
            let stream = batches.map(move |batch| {
                let batch = batch.map_err(|e| super::df_error(e, &format!("{statement}: reading {path}")))?;
                let n = batch.num_rows();
                let positions: Vec<i64> = (at..at + n as i64).collect();
                at += n as i64;
                let keep: datafusion::arrow::array::BooleanArray =
                    positions.iter().map(|p| Some(!already.contains(p))).collect();
                let mut out: Vec<ArrayRef> = Vec::new();
                let mut read_columns = batch.columns().iter();
                for i in &projection {
                    out.push(if *i < columns {
                        Arc::clone(read_columns.next().expect("a column read for each projected one"))
                    } else if *i == columns {
                        Arc::new(StringArray::from(vec![path.as_str(); n]))
                    } else {
                        Arc::new(Int64Array::from(positions.clone()))
                    });
                }
                let options = RecordBatchOptions::new().with_row_count(Some(n));
                let all = RecordBatch::try_new_with_options(Arc::clone(&schema), out, &options)?;
                Ok(datafusion::arrow::compute::filter_record_batch(&all, &keep)?)
            });
            Ok::<_, datafusion::error::DataFusionError>(stream)
        })
        .map(|made| match made {
            Ok(stream) => stream.boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        })
        .flatten()
    }
}

impl DisplayAs for MergeTargetScan {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let files: usize = self.groups.iter().map(Vec::len).sum();
        write!(f, "IcebergMergeTarget: table={}, data_files={files}", self.name)
    }
}

impl ExecutionPlan for MergeTargetScan {
    fn name(&self) -> &str {
        "IcebergMergeTarget"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        // The running query's stores, which charge what it reads.
        let file_io = super::io::file_io(Arc::clone(&context.runtime_env().object_store_registry));
        let tasks = self.groups.get(partition).cloned().unwrap_or_default();
        let streams: Vec<_> = tasks.into_iter().map(|task| self.file_rows(file_io.clone(), task)).collect();
        let stream = futures::stream::iter(streams).flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&self.schema), stream)))
    }
}

/// What a merge's joined rows ask of the target.
pub struct Changes {
    files: ReadFiles,
    /// Data file → positions an UPDATE or DELETE clause removes.
    removed: HashMap<String, Vec<i64>>,
    /// Rows UPDATE and INSERT clauses write, with the table's schema.
    written: Vec<RecordBatch>,
    count: u64,
}

impl Changes {
    /// Removes the target row at `pos` of `file` (for an UPDATE or DELETE
    /// clause of `statement`).
    pub fn remove(&mut self, file: &str, pos: i64) {
        self.removed.entry(file.to_string()).or_default().push(pos);
        self.count += 1;
    }

    /// Writes `rows` (with the table's schema); `inserted` of them are
    /// new rows (the others are updated rows, already counted).
    pub fn write(&mut self, rows: RecordBatch, inserted: u64) {
        if rows.num_rows() > 0 {
            self.written.push(rows);
        }
        self.count += inserted;
    }

    /// The rows the merge changes: updated, deleted and inserted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The snapshot's changes: position deletes and removed files for the
    /// removed rows, new data files for the written ones. Two removals of
    /// one target row are 21000.
    pub async fn delta(self, target: &MergeTarget) -> crate::error::Result<RowDelta> {
        let table = target.table();
        let context = format!("MERGE INTO {}", target.name);
        let mut delta = RowDelta::default();
        if !self.removed.is_empty() {
            let snapshot = table
                .metadata()
                .current_snapshot()
                .ok_or_else(|| Error::internal(format!("{context}: rows matched in a table without a snapshot")))?;
            let read = self.files.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let mut deletions = Deletions::new(table, snapshot).await.map_err(|e| super::error(e, &context))?;
            let sorted: BTreeMap<String, Vec<i64>> = self.removed.into_iter().collect();
            for (path, mut positions) in sorted {
                positions.sort_unstable();
                if positions.windows(2).any(|w| w[0] == w[1]) {
                    return Err(Error::new(
                        SqlState::CardinalityViolation,
                        format!("{context}: one target row matched more than one source row"),
                    )
                    .with_hint("make the ON condition match at most one source row for each target row"));
                }
                let file = read.get(&path).ok_or_else(|| {
                    Error::internal(format!("{context}: a row of data file {path}, which the merge did not read"))
                })?;
                deletions.add(&file.task, file.live, positions);
            }
            delta = deletions.into_delta(table, &target.name).await?;
        }
        if !self.written.is_empty() {
            delta.added_data =
                super::write::write_rows(table, self.written).await.map_err(|e| super::error(e, &context))?;
        }
        Ok(delta)
    }
}

/// `column` of `batch` as `T`, or an internal error naming it.
pub fn column<'a, T: 'static>(batch: &'a RecordBatch, column: &str) -> crate::error::Result<&'a T> {
    batch
        .column_by_name(column)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| Error::internal(format!("the merge's rows lack their {column} column")))
}
