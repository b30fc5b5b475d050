//! DELETE and UPDATE on an Iceberg table: merge-on-read, as Athena
//! writes them.
//!
//! A statement runs when its plan ([`RowChange`]) runs, never while it is
//! planned:
//!
//! 1. the current snapshot's files are planned with the WHERE clause, so
//!    manifests and files it cannot match are never opened;
//! 2. each data file left is read without its deletes (with only the
//!    columns the clause names, for DELETE), so a row's position in the
//!    file is its place in the output; the clause is evaluated on every
//!    row, and the positions the file's position-delete files already
//!    delete are left out, so a row changes (and counts) once;
//! 3. a file whose live rows all match leaves the table; the other
//!    positions are written as position-delete files, one per partition;
//! 4. UPDATE writes the matched rows again with their new values as new
//!    data files, partitioned by the current spec (a row whose partition
//!    column changes moves), through [`super::write::write_rows`];
//! 5. [`super::snapshot::commit`] makes the snapshot (`delete`, or
//!    `overwrite` for UPDATE). If another statement committed first, all
//!    of it runs again on the new snapshot, up to
//!    [`super::snapshot::ATTEMPTS`] times, then
//!    40001; the files of a failed attempt are referenced by no snapshot.
//!
//! A data file with equality deletes that holds matching rows is refused
//! (0A000): which of them are live needs those deletes evaluated, which
//! glaux does not do here yet.

use super::commit::TableCatalog;
use super::snapshot::RowDelta;
use crate::catalog::Metastore;
use crate::error::{Error, SqlState};
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{DFSchema, Result};
use datafusion::execution::context::ExecutionProps;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{create_physical_expr, EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use futures::{StreamExt, TryStreamExt};
use iceberg::io::FileIO;
use iceberg::scan::ArrowRecordBatchStream;
use iceberg::scan::FileScanTask;
use iceberg::spec::SnapshotRef;
use iceberg::spec::{DataContentType, NestedField, PrimitiveType, Struct, Type};
use iceberg::table::Table;
use iceberg::writer::file_writer::{FileWriter, FileWriterBuilder, ParquetWriterBuilder};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Field ids and names of a position-delete file's columns (the spec's).
const FILE_PATH: (i32, &str) = (2147483546, "file_path");
const POS: (i32, &str) = (2147483545, "pos");

/// The plan of `DELETE FROM name WHERE filters`, or of `UPDATE name SET
/// assignments WHERE filters`.
#[derive(Debug)]
pub struct RowChange {
    name: String,
    /// UPDATE's `column = value`s; None for DELETE.
    assignments: Option<Vec<(String, Expr)>>,
    metastore: Arc<dyn Metastore>,
    stores: Arc<dyn ObjectStoreRegistry>,
    /// The table's schema, which the filters are on.
    schema: SchemaRef,
    filters: Vec<Expr>,
    properties: Arc<PlanProperties>,
}

impl RowChange {
    pub fn new(
        name: String,
        assignments: Option<Vec<(String, Expr)>>,
        metastore: Arc<dyn Metastore>,
        stores: Arc<dyn ObjectStoreRegistry>,
        schema: SchemaRef,
        filters: Vec<Expr>,
    ) -> RowChange {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(count_schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        RowChange { name, assignments, metastore, stores, schema, filters, properties }
    }

    /// The statement, for messages: `DELETE FROM t` or `UPDATE t`.
    fn statement(&self) -> String {
        match self.assignments {
            None => format!("DELETE FROM {}", self.name),
            Some(_) => format!("UPDATE {}", self.name),
        }
    }

    /// Runs the statement; the rows it deleted or updated.
    async fn run(self: Arc<Self>) -> crate::error::Result<u64> {
        let (database, table) = self.name.split_once('.').unwrap_or(("", &self.name));
        let catalog = TableCatalog::new(Arc::clone(&self.metastore), Arc::clone(&self.stores), database, table);
        super::snapshot::commit_retrying(&catalog, &self.statement(), |table| {
            let this = Arc::clone(&self);
            async move { this.changes(&table).await }
        })
        .await
    }

    /// What the statement changes in `table`'s current snapshot, and how
    /// many rows that is.
    async fn changes(&self, table: &Table) -> crate::error::Result<(RowDelta, u64)> {
        let Some(snapshot) = table.metadata().current_snapshot() else {
            return Ok((RowDelta::default(), 0));
        };
        let context = self.statement();
        let fail = |e: iceberg::Error| super::error(e, &context);
        let columns: BTreeSet<String> =
            self.filters.iter().flat_map(|f| f.column_refs()).map(|c| c.name.clone()).collect();
        let read: Vec<String> = if self.assignments.is_some() {
            // UPDATE writes whole rows again.
            self.schema.fields().iter().map(|f| f.name().clone()).collect()
        } else if columns.is_empty() {
            self.schema.fields().first().map(|f| vec![f.name().clone()]).unwrap_or_default()
        } else {
            columns.into_iter().collect()
        };
        let tasks = plan_tasks(table, snapshot, &self.filters, &read).await.map_err(fail)?;
        let read_schema = Arc::new(Schema::new(
            read.iter()
                .map(|n| self.schema.field_with_name(n).cloned())
                .collect::<Result<Vec<_>, _>>()
                .map_err(datafusion::error::DataFusionError::from)?,
        ));
        let predicate = self.predicate(&read_schema)?;
        let mut deleted_positions = DeletedPositions::default();
        let mut deletions = Deletions::new(table, snapshot).await.map_err(fail)?;
        let mut updated = Vec::new();
        for task in tasks {
            let already = deleted_positions.of(table.file_io(), &task).await.map_err(fail)?;
            let (rows, new, rows_matched) =
                self.matching(table, &task, &read_schema, predicate.as_ref(), &already).await?;
            updated.extend(rows_matched);
            if new.is_empty() {
                continue;
            }
            refuse_equality_deletes(&task, &context)?;
            // Positions past the file's end (a foreign writer's) delete nothing.
            let live = rows - already.range(..rows as i64).count() as u64;
            deletions.add(&task, live, new);
        }
        let count = deletions.count();
        let mut delta = deletions.into_delta(table, &self.name).await?;
        if let Some(assignments) = &self.assignments {
            let rows = self.assign(assignments, &read_schema, updated)?;
            delta.added_data = super::write::write_rows(table, rows).await.map_err(fail)?;
        }
        Ok((delta, count))
    }

    /// The updated rows: `rows` (of `schema`, the table's) with
    /// `assignments` evaluated on them, as the table's column types.
    fn assign(
        &self,
        assignments: &[(String, Expr)],
        schema: &SchemaRef,
        rows: Vec<RecordBatch>,
    ) -> crate::error::Result<Vec<RecordBatch>> {
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let props = ExecutionProps::new();
        let mut values: Vec<Option<Arc<dyn PhysicalExpr>>> = Vec::new();
        for field in schema.fields() {
            let assigned = assignments.iter().find(|(c, _)| c == field.name());
            values.push(match assigned {
                Some((_, e)) => Some(create_physical_expr(e, &df_schema, &props)?),
                None => None,
            });
        }
        let mut out = Vec::new();
        for batch in rows {
            let mut columns = Vec::new();
            for ((field, value), old) in schema.fields().iter().zip(&values).zip(batch.columns()) {
                let column = match value {
                    Some(e) => e.evaluate(&batch)?.into_array(batch.num_rows())?,
                    None => Arc::clone(old),
                };
                let column = if column.data_type() == field.data_type() {
                    column
                } else {
                    datafusion::arrow::compute::cast(&column, field.data_type())
                        .map_err(datafusion::error::DataFusionError::from)?
                };
                columns.push(column);
            }
            let batch =
                RecordBatch::try_new(Arc::clone(schema), columns).map_err(datafusion::error::DataFusionError::from);
            out.push(super::write::as_table_schema(schema, &self.name, batch?)?);
        }
        Ok(out)
    }

    /// The WHERE clause on batches of `schema` (None: every row).
    fn predicate(&self, schema: &SchemaRef) -> Result<Option<Arc<dyn PhysicalExpr>>> {
        let Some(clause) = self.filters.iter().cloned().reduce(Expr::and) else { return Ok(None) };
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        Ok(Some(create_physical_expr(&clause, &df_schema, &ExecutionProps::new())?))
    }

    /// The rows of `task`'s data file, the positions of the live ones the
    /// clause matches, and (for UPDATE) those rows.
    async fn matching(
        &self,
        table: &Table,
        task: &FileScanTask,
        schema: &SchemaRef,
        predicate: Option<&Arc<dyn PhysicalExpr>>,
        already: &BTreeSet<i64>,
    ) -> crate::error::Result<(u64, Vec<i64>, Vec<RecordBatch>)> {
        let context = format!("{}: reading {}", self.statement(), task.data_file_path);
        let mut batches = read_whole(table.file_io(), task).map_err(|e| super::error(e, &context))?;
        let (mut rows, mut matched, mut kept) = (0u64, Vec::new(), Vec::new());
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(|e| super::error(e, &context))?;
            let batch = RecordBatch::try_new(Arc::clone(schema), batch.columns().to_vec())
                .map_err(datafusion::error::DataFusionError::from)?;
            let n = batch.num_rows();
            let hits = match predicate {
                Some(predicate) => {
                    let value = predicate.evaluate(&batch)?.into_array(n)?;
                    let hits = value.as_any().downcast_ref::<BooleanArray>().cloned();
                    hits.ok_or_else(|| {
                        Error::internal(format!("the WHERE clause of {} is not a condition", self.statement()))
                    })?
                }
                None => BooleanArray::from(vec![true; n]),
            };
            let live: BooleanArray = (0..n)
                .map(|i| Some(hits.is_valid(i) && hits.value(i) && !already.contains(&(rows as i64 + i as i64))))
                .collect();
            matched.extend((0..n).filter(|i| live.value(*i)).map(|i| rows as i64 + i as i64));
            if self.assignments.is_some() && live.true_count() > 0 {
                let taken = datafusion::arrow::compute::filter_record_batch(&batch, &live)
                    .map_err(datafusion::error::DataFusionError::from)?;
                kept.push(taken);
            }
            rows += n as u64;
        }
        Ok((rows, matched, kept))
    }
}

/// The data files of `snapshot` that `filters` may match, each to be read
/// with the current schema's columns `read` (by field id).
///
/// Names are the current schema's; the snapshot may have been written
/// with an older one (a schema change makes no snapshot). Files are
/// planned with the snapshot's schema and the conditions on columns that
/// are the same fields in both.
pub(super) async fn plan_tasks(
    table: &Table,
    snapshot: &SnapshotRef,
    filters: &[Expr],
    read: &[String],
) -> iceberg::Result<Vec<FileScanTask>> {
    let current = Arc::clone(table.metadata().current_schema());
    let planned_with = snapshot.schema(table.metadata())?;
    let same_field = |name: &str| {
        let id = current.field_id_by_name(name);
        id.is_some() && id == planned_with.field_id_by_name(name)
    };
    let usable: Vec<Expr> =
        filters.iter().filter(|f| f.column_refs().iter().all(|c| same_field(&c.name))).cloned().collect();
    let mut scan = table.scan().snapshot_id(snapshot.snapshot_id()).select_empty();
    if let Some(predicate) = iceberg_datafusion::physical_plan::convert_filters_to_predicate(&usable) {
        scan = scan.with_filter(predicate);
    }
    let mut tasks: Vec<FileScanTask> = scan.build()?.plan_files().await?.try_collect().await?;
    let ids: Vec<i32> = read.iter().filter_map(|n| current.field_id_by_name(n)).collect();
    for task in &mut tasks {
        task.schema = Arc::clone(&current);
        task.project_field_ids = ids.clone();
    }
    super::with_partition_spec(table.metadata(), &mut tasks);
    Ok(tasks)
}

/// Every row of `task`'s data file, its deletes not applied and nothing
/// filtered out, so that a row's position in the file is its place in
/// the stream.
pub(super) fn read_whole(file_io: &FileIO, task: &FileScanTask) -> iceberg::Result<ArrowRecordBatchStream> {
    let whole = FileScanTask { deletes: Vec::new(), predicate: None, ..task.clone() };
    let reader = iceberg::arrow::ArrowReaderBuilder::new(file_io.clone(), iceberg::Runtime::try_current()?)
        .with_row_group_filtering_enabled(false)
        .with_row_selection_enabled(false)
        .build();
    // The columns read, as the table has them (for the columns filled
    // from partition values).
    let fields = task
        .project_field_ids
        .iter()
        .map(|id| {
            let field = task.schema.field_by_id(*id).ok_or_else(|| {
                iceberg::Error::new(iceberg::ErrorKind::DataInvalid, format!("field {id} is not in the schema"))
            })?;
            let data_type = iceberg::arrow::type_to_arrow_type(&field.field_type)?;
            Ok(datafusion::arrow::datatypes::Field::new(field.name.clone(), data_type, true))
        })
        .collect::<iceberg::Result<Vec<_>>>()?;
    let target = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
    let batches = super::orc::read(reader, file_io, vec![whole], super::orc::BATCH_ROWS)?;
    Ok(batches.map(move |batch| batch.and_then(|b| super::plain_batch(b, &target))).boxed())
}

/// Refuses a change to rows of a data file that has equality deletes:
/// which of its rows are live needs those deletes evaluated, which glaux
/// does not do when it changes rows.
pub(super) fn refuse_equality_deletes(task: &FileScanTask, statement: &str) -> crate::error::Result<()> {
    if task.deletes.iter().any(|d| d.file_type == DataContentType::EqualityDeletes) {
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            format!(
                "{statement} is not supported here: data file {} holds matching rows and has equality deletes, which glaux does not apply when it changes rows",
                task.data_file_path
            ),
        ));
    }
    Ok(())
}

/// The rows a statement deletes, gathered file by file, and the changes
/// to the table that delete them: a file whose live rows all go leaves
/// the table; the other positions are written as position-delete files,
/// one per partition (of its own spec, which a position-delete file
/// shares with its data files).
pub(super) struct Deletions {
    specs: Specs,
    by_partition: HashMap<(i32, Struct), BTreeMap<String, Vec<i64>>>,
    removed: HashSet<String>,
    count: u64,
}

impl Deletions {
    pub async fn new(table: &Table, snapshot: &SnapshotRef) -> iceberg::Result<Deletions> {
        let specs = spec_ids(table, snapshot).await?;
        Ok(Deletions { specs, by_partition: HashMap::new(), removed: HashSet::new(), count: 0 })
    }

    /// Deletes `positions` (sorted, live) of `task`'s file, which has
    /// `live` live rows.
    pub fn add(&mut self, task: &FileScanTask, live: u64, positions: Vec<i64>) {
        self.count += positions.len() as u64;
        if positions.len() as u64 == live {
            self.removed.insert(task.data_file_path.clone());
        } else {
            let spec = self.specs.of(&task.data_file_path);
            let partition = task.partition.clone().unwrap_or_else(Struct::empty);
            self.by_partition.entry((spec, partition)).or_default().insert(task.data_file_path.clone(), positions);
        }
    }

    /// The rows deleted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Writes the position-delete files: the snapshot's changes so far
    /// (`name` is the table's, for messages).
    pub async fn into_delta(self, table: &Table, name: &str) -> crate::error::Result<RowDelta> {
        let mut delta = RowDelta { removed: self.removed, ..RowDelta::default() };
        for ((spec, partition), positions) in self.by_partition {
            let context = format!("writing a position-delete file of {name}");
            let mut file = write_position_deletes(table, positions).await.map_err(|e| super::error(e, &context))?;
            let file = file.partition(partition).partition_spec_id(spec).build().map_err(|e| {
                Error::internal(format!("a position-delete file of {name} could not be described: {e}"))
            })?;
            delta.added_deletes.push((spec, file));
        }
        Ok(delta)
    }
}

/// The partition spec of each data file of a snapshot (iceberg-rust's
/// scan tasks do not carry it): one spec for all when every data
/// manifest has the same, else read from the manifests.
pub(super) enum Specs {
    One(i32),
    ByFile(HashMap<String, i32>),
}

impl Specs {
    pub fn of(&self, path: &str) -> i32 {
        match self {
            Specs::One(id) => *id,
            Specs::ByFile(map) => map.get(path).copied().unwrap_or_default(),
        }
    }
}

pub(super) async fn spec_ids(table: &Table, snapshot: &iceberg::spec::SnapshotRef) -> iceberg::Result<Specs> {
    let metadata = table.metadata();
    let bytes = table.file_io().new_input(snapshot.manifest_list())?.read().await?;
    let list = iceberg::spec::ManifestList::parse_with_version(&bytes, metadata.format_version())?;
    let data = || list.entries().iter().filter(|m| m.content == iceberg::spec::ManifestContentType::Data);
    let ids: BTreeSet<i32> = data().map(|m| m.partition_spec_id).collect();
    if ids.len() <= 1 {
        return Ok(Specs::One(ids.into_iter().next().unwrap_or_else(|| metadata.default_partition_spec_id())));
    }
    let mut out = HashMap::new();
    for manifest in data() {
        let read = manifest.load_manifest(table.file_io()).await?;
        for entry in read.entries() {
            out.insert(entry.file_path().to_string(), manifest.partition_spec_id);
        }
    }
    Ok(Specs::ByFile(out))
}

/// The positions each data file's position-delete files delete, read
/// once per delete file.
#[derive(Default)]
pub(super) struct DeletedPositions {
    /// Delete file → data file → positions.
    read: HashMap<String, HashMap<String, Vec<i64>>>,
}

impl DeletedPositions {
    pub async fn of(&mut self, file_io: &FileIO, task: &FileScanTask) -> iceberg::Result<BTreeSet<i64>> {
        let mut out = BTreeSet::new();
        for delete in task.deletes.iter().filter(|d| d.file_type == DataContentType::PositionDeletes) {
            if !self.read.contains_key(&delete.file_path) {
                let positions = read_position_deletes(file_io, &delete.file_path).await?;
                self.read.insert(delete.file_path.clone(), positions);
            }
            if let Some(positions) = self.read.get(&delete.file_path).and_then(|m| m.get(&task.data_file_path)) {
                out.extend(positions.iter().copied());
            }
        }
        Ok(out)
    }
}

/// The (data file, position) pairs of a position-delete file.
pub(super) async fn read_position_deletes(file_io: &FileIO, path: &str) -> iceberg::Result<HashMap<String, Vec<i64>>> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bytes = file_io.new_input(path)?.read().await?;
    let invalid = |e: &dyn std::fmt::Display| {
        iceberg::Error::new(
            iceberg::ErrorKind::DataInvalid,
            format!("position-delete file {path} is not readable: {e}"),
        )
    };
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| invalid(&e))?.build().map_err(|e| invalid(&e))?;
    let mut out: HashMap<String, Vec<i64>> = HashMap::new();
    for batch in reader {
        let batch = batch.map_err(|e| invalid(&e))?;
        let files = batch.column_by_name(FILE_PATH.1).and_then(|c| c.as_any().downcast_ref::<StringArray>());
        let positions = batch.column_by_name(POS.1).and_then(|c| c.as_any().downcast_ref::<Int64Array>());
        let (Some(files), Some(positions)) = (files, positions) else {
            return Err(invalid(&"it has no file_path and pos columns"));
        };
        for i in 0..batch.num_rows() {
            out.entry(files.value(i).to_string()).or_default().push(positions.value(i));
        }
    }
    Ok(out)
}

/// Writes one position-delete file of `positions` (data file → sorted
/// positions), in file path and position order as the spec asks.
async fn write_position_deletes(
    table: &Table,
    positions: BTreeMap<String, Vec<i64>>,
) -> iceberg::Result<iceberg::spec::DataFileBuilder> {
    let schema = Arc::new(
        iceberg::spec::Schema::builder()
            .with_fields(vec![
                Arc::new(NestedField::required(FILE_PATH.0, FILE_PATH.1, Type::Primitive(PrimitiveType::String))),
                Arc::new(NestedField::required(POS.0, POS.1, Type::Primitive(PrimitiveType::Long))),
            ])
            .build()?,
    );
    let arrow = Arc::new(iceberg::arrow::schema_to_arrow_schema(&schema)?);
    let (mut files, mut pos) = (Vec::new(), Vec::new());
    for (file, list) in &positions {
        for p in list {
            files.push(file.as_str());
            pos.push(*p);
        }
    }
    let columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(files)), Arc::new(Int64Array::from(pos))];
    let batch = RecordBatch::try_new(arrow, columns)
        .map_err(|e| iceberg::Error::new(iceberg::ErrorKind::Unexpected, format!("position deletes: {e}")))?;
    let location = format!("{}/data/{}-deletes.parquet", table.metadata().location(), uuid::Uuid::new_v4());
    let output = table.file_io().new_output(location)?;
    let properties = datafusion::parquet::file::properties::WriterProperties::builder()
        .set_compression(datafusion::parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut writer = ParquetWriterBuilder::new(properties, schema).build(output).await?;
    writer.write(&batch).await?;
    let mut built = writer.close().await?;
    let file = built
        .pop()
        .ok_or_else(|| iceberg::Error::new(iceberg::ErrorKind::Unexpected, "no position-delete file was written"))?;
    let mut file = file;
    file.content(DataContentType::PositionDeletes);
    if positions.len() == 1 {
        file.referenced_data_file(positions.keys().next().cloned());
    }
    Ok(file)
}

pub(super) fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("count", DataType::UInt64, false)]))
}

impl DisplayAs for RowChange {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let what = if self.assignments.is_some() { "update" } else { "delete" };
        write!(f, "IcebergRowChange: {what} table={}", self.name)?;
        if let Some(clause) = self.filters.iter().cloned().reduce(Expr::and) {
            write!(f, ", where={clause}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for RowChange {
    fn name(&self) -> &str {
        "IcebergRowChange"
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

    fn execute(&self, _: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        // The running query's stores, which charge what it reads to its
        // workgroup as a query's reads are.
        let this = Arc::new(RowChange::new(
            self.name.clone(),
            self.assignments.clone(),
            Arc::clone(&self.metastore),
            Arc::clone(&context.runtime_env().object_store_registry),
            Arc::clone(&self.schema),
            self.filters.clone(),
        ));
        let stream = futures::stream::once(async move {
            let changed = this.run().await.map_err(Error::into_datafusion)?;
            let count: ArrayRef = Arc::new(UInt64Array::from(vec![changed]));
            Ok(RecordBatch::try_new(count_schema(), vec![count])?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(count_schema(), stream)))
    }
}
