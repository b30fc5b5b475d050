//! One Iceberg snapshot as a DataFusion table, and its scan.
//!
//! [`IcebergTable`] is a table's metadata and the snapshot it reads (the
//! current one, or one chosen by time travel), with that snapshot's
//! schema. Its `scan` plans the files there and then, through the
//! query's metered stores: iceberg-rust prunes manifests by their
//! partition summaries and data files by partition values (hidden
//! transforms included, for every partition spec) and column metrics,
//! evaluating the query's filters. [`IcebergScan`] then reads only the
//! files kept, with iceberg-rust's Arrow reader, which resolves columns
//! by field id, applies position and equality deletes, and prunes Parquet
//! row groups and pages (ORC data files are read by `super::orc`
//! instead). It meters as every scan does
//! (`table::metered`): the metadata file, manifests and data files are
//! charged to the query and counted as the scan's `bytes_read`.

use super::{df_error, Loaded};
use crate::catalog::Metastore;
use crate::error::{Error, SqlState};
use crate::table::factories::{millis_text, TablePart};
use crate::table::metered::{bytes_metric, metered_state, QueryMeter, ScanContext};
use crate::table::store::ByteCounter;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{Result, Statistics};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use futures::{StreamExt, TryStreamExt};
use iceberg::scan::FileScanTask;
use iceberg::spec::{Manifest, ManifestList, SnapshotRef, TableMetadata};
use iceberg::TableIdent;
use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

/// One snapshot of an Iceberg table (or its empty state, before any).
#[derive(Debug, Clone)]
pub struct IcebergTable {
    /// `db.table`, for messages and EXPLAIN.
    name: String,
    loaded: Loaded,
    snapshot: Option<SnapshotRef>,
    /// The schema the table is read with: the current schema for the
    /// current snapshot, a snapshot's own schema when time travelling.
    iceberg_schema: iceberg::spec::SchemaRef,
    schema: SchemaRef,
    /// The catalog the current snapshot is written through (none for an
    /// old snapshot, which is read-only).
    writer: Option<Arc<dyn Metastore>>,
}

impl IcebergTable {
    /// The table at its current snapshot, with the current schema.
    /// (A schema change needs no snapshot, so the current schema may be
    /// newer than the current snapshot's.)
    pub fn current(name: String, loaded: Loaded) -> crate::error::Result<IcebergTable> {
        let snapshot = loaded.metadata.current_snapshot().cloned();
        let schema = Arc::clone(loaded.metadata.current_schema());
        IcebergTable::with_schema(name, loaded, snapshot, schema)
    }

    /// The table at the snapshot `part` names (time travel): by id, or
    /// the snapshot that was current at a time, from the table's
    /// snapshot log (as Iceberg readers choose it).
    pub fn of_part(name: String, loaded: Loaded, part: TablePart) -> crate::error::Result<IcebergTable> {
        let metadata = Arc::clone(&loaded.metadata);
        let snapshot = match part {
            TablePart::Current => return IcebergTable::current(name, loaded),
            TablePart::Metadata(_) => return Err(Error::internal("a metadata table was built as a snapshot")),
            TablePart::Snapshot(id) => metadata.snapshot_by_id(id).cloned().ok_or_else(|| {
                Error::new(SqlState::InvalidParameterValue, format!("Iceberg table {name} has no snapshot {id}"))
                    .with_hint(format!(
                        "its snapshots are listed by SELECT snapshot_id, committed_at FROM \"{name}$snapshots\""
                    ))
            })?,
            TablePart::AsOfMillis(ms) => {
                let log = metadata.history().iter().rev().find(|entry| entry.timestamp_ms <= ms);
                let first = metadata.history().first().map(|e| e.timestamp_ms);
                let missing = || match first {
                    Some(first) => format!(
                        "Iceberg table {name} has no snapshot at {}: its first was committed at {}",
                        millis_text(ms),
                        millis_text(first)
                    ),
                    None => format!("Iceberg table {name} has no snapshots"),
                };
                let id = log
                    .map(|entry| entry.snapshot_id)
                    .ok_or_else(|| Error::new(SqlState::InvalidParameterValue, missing()))?;
                metadata.snapshot_by_id(id).cloned().ok_or_else(|| {
                    Error::new(
                        SqlState::DataCorrupted,
                        format!(
                            "the snapshot log of {name} names snapshot {id}, which its metadata file {} lacks",
                            loaded.location
                        ),
                    )
                })?
            }
        };
        IcebergTable::at(name, loaded, Some(snapshot))
    }

    /// The table at `snapshot`, with the schema that snapshot had.
    pub fn at(name: String, loaded: Loaded, snapshot: Option<SnapshotRef>) -> crate::error::Result<IcebergTable> {
        let iceberg_schema = match &snapshot {
            Some(s) => snapshot_schema(&name, &loaded, s)?,
            None => Arc::clone(loaded.metadata.current_schema()),
        };
        IcebergTable::with_schema(name, loaded, snapshot, iceberg_schema)
    }

    fn with_schema(
        name: String,
        loaded: Loaded,
        snapshot: Option<SnapshotRef>,
        iceberg_schema: iceberg::spec::SchemaRef,
    ) -> crate::error::Result<IcebergTable> {
        let schema = iceberg::arrow::schema_to_arrow_schema(&iceberg_schema)
            .map_err(|e| super::error(e, &format!("the schema of {name} (metadata file {})", loaded.location)))?;
        Ok(IcebergTable { name, loaded, snapshot, iceberg_schema, schema: Arc::new(schema), writer: None })
    }

    /// The table, written through `metastore` (the current snapshot only).
    pub fn writable(mut self, metastore: Arc<dyn Metastore>) -> IcebergTable {
        let current = self.snapshot.as_ref().map(|s| s.snapshot_id()) == self.loaded.metadata.current_snapshot_id();
        if current {
            self.writer = Some(metastore);
        }
        self
    }

    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// Plans the files of `snapshot` that `filters` may match, with the
    /// manifests the planning read (for [`chunk_bytes`], if the estimate
    /// is asked for).
    async fn plan_files(
        &self,
        session: &dyn Session,
        columns: Option<Vec<String>>,
        filters: &[Expr],
    ) -> Result<(Vec<FileScanTask>, Option<Manifests>)> {
        let Some(snapshot) = &self.snapshot else {
            return Ok((Vec::new(), None));
        };
        let (file_io, kept) = super::io::keeping_file_io(Arc::clone(&session.runtime_env().object_store_registry));
        let tasks = self.plan_with(file_io, snapshot, columns, filters).await?;
        Ok((
            tasks,
            Some(Manifests { kept, metadata: Arc::clone(&self.loaded.metadata), snapshot: Arc::clone(snapshot) }),
        ))
    }

    async fn plan_with(
        &self,
        file_io: iceberg::io::FileIO,
        snapshot: &SnapshotRef,
        columns: Option<Vec<String>>,
        filters: &[Expr],
    ) -> Result<Vec<FileScanTask>> {
        let context = || format!("planning the scan of {} (metadata file {})", self.name, self.loaded.location);
        let runtime = iceberg::Runtime::try_current().map_err(|e| df_error(e, &context()))?;
        let (database, table) = self.name.split_once('.').unwrap_or(("", &self.name));
        let table = iceberg::table::Table::builder()
            .metadata(Arc::clone(&self.loaded.metadata))
            .metadata_location(self.loaded.location.clone())
            .identifier(TableIdent::from_strs([database, table]).map_err(|e| df_error(e, &context()))?)
            .file_io(file_io)
            .runtime(runtime)
            .readonly(true)
            .disable_cache()
            .build()
            .map_err(|e| df_error(e, &context()))?;
        let mut scan = table.scan().snapshot_id(snapshot.snapshot_id());
        let planned_with = snapshot_schema(&self.name, &self.loaded, snapshot).map_err(Error::into_datafusion)?;
        if planned_with.schema_id() != self.iceberg_schema.schema_id() {
            // The schema changed after the snapshot was written: plan with
            // the snapshot's schema and the filters whose columns are the
            // same fields in both, then read with the newer schema.
            let wanted = self.field_ids(columns.as_deref());
            let known = wanted.iter().filter_map(|id| planned_with.name_by_field_id(*id)).map(str::to_string);
            let same = |name: &str| {
                let id = self.iceberg_schema.field_id_by_name(name);
                id.is_some() && id == planned_with.field_id_by_name(name)
            };
            let usable: Vec<Expr> =
                filters.iter().filter(|f| f.column_refs().iter().all(|c| same(&c.name))).cloned().collect();
            scan = scan.select(known.collect::<Vec<_>>());
            if let Some(predicate) = iceberg_datafusion::physical_plan::convert_filters_to_predicate(&usable) {
                scan = scan.with_filter(predicate);
            }
            let tasks: Vec<FileScanTask> = scan
                .with_row_selection_enabled(true)
                .build()
                .map_err(|e| df_error(e, &context()))?
                .plan_files()
                .await
                .map_err(|e| df_error(e, &context()))?
                .try_collect()
                .await
                .map_err(|e| df_error(e, &context()))?;
            let mut tasks: Vec<FileScanTask> = tasks
                .into_iter()
                .map(|mut task| {
                    task.schema = Arc::clone(&self.iceberg_schema);
                    task.project_field_ids = wanted.clone();
                    task
                })
                .collect();
            super::with_partition_spec(&self.loaded.metadata, &mut tasks);
            without_partition_columns(&mut tasks, &usable, &planned_with);
            return Ok(tasks);
        }
        scan = match columns {
            Some(columns) => scan.select(columns),
            None => scan.select_all(),
        };
        if let Some(predicate) = iceberg_datafusion::physical_plan::convert_filters_to_predicate(filters) {
            scan = scan.with_filter(predicate);
        }
        let scan = scan.with_row_selection_enabled(true).build().map_err(|e| df_error(e, &context()))?;
        let tasks = scan.plan_files().await.map_err(|e| df_error(e, &context()))?;
        let mut tasks: Vec<FileScanTask> = tasks.try_collect().await.map_err(|e| df_error(e, &context()))?;
        super::with_partition_spec(&self.loaded.metadata, &mut tasks);
        without_partition_columns(&mut tasks, filters, &self.iceberg_schema);
        Ok(tasks)
    }

    /// The field ids of `columns` (all top-level columns when None) in the
    /// schema the table is read with.
    fn field_ids(&self, columns: Option<&[String]>) -> Vec<i32> {
        let fields = self.iceberg_schema.as_struct().fields();
        match columns {
            None => fields.iter().map(|f| f.id).collect(),
            Some(names) => names.iter().filter_map(|n| self.iceberg_schema.field_id_by_name(n)).collect(),
        }
    }
}

/// The tasks' row filter without the conditions on identity-partitioned
/// columns, for tasks read with their partition spec: a converted Hive
/// table's files hold no such columns, and the reader would evaluate the
/// condition on the file's (missing, so NULL) column instead of the
/// partition's value. Those conditions already chose the files by their
/// partitions, and every filter is applied again above the scan (the
/// pushdown is inexact), so leaving them out changes no answer.
fn without_partition_columns(tasks: &mut [FileScanTask], filters: &[Expr], schema: &iceberg::spec::Schema) {
    let Some(spec) = tasks.first().and_then(|t| t.partition_spec.clone()) else { return };
    let identity: Vec<&str> = spec
        .fields()
        .iter()
        .filter(|f| f.transform == iceberg::spec::Transform::Identity)
        .filter_map(|f| schema.name_by_field_id(f.source_id))
        .collect();
    if identity.is_empty() {
        return;
    }
    let kept: Vec<Expr> = filters
        .iter()
        .filter(|f| f.column_refs().iter().all(|c| !identity.contains(&c.name.as_str())))
        .cloned()
        .collect();
    let predicate = iceberg_datafusion::physical_plan::convert_filters_to_predicate(&kept)
        .and_then(|p| iceberg::expr::Bind::bind(&p, Arc::new(schema.clone()), true).ok());
    for task in tasks {
        task.predicate = predicate.clone();
    }
}

/// What reading each planned data file is expected to need: its footer
/// read and, from the manifest entry's `column_sizes`, the column chunks
/// of the fields read (a nested field's leaves). Manifests are not read
/// again: the planning kept them. (A file smaller than the footer read
/// is read whole, then its chunks.) A file whose manifest entry records no
/// column sizes, or that is read in part, is left out (counted whole).
fn chunk_bytes<'a>(
    kept: &super::io::Kept,
    metadata: &TableMetadata,
    snapshot: &SnapshotRef,
    tasks: impl Iterator<Item = &'a FileScanTask>,
) -> HashMap<String, u64> {
    let wanted: HashMap<&str, &FileScanTask> = tasks
        .filter(|t| t.start == 0 && t.length == t.file_size_in_bytes)
        .map(|t| (t.data_file_path.as_str(), t))
        .collect();
    let mut out = HashMap::new();
    let Some(list) = kept.get(snapshot.manifest_list()) else {
        return out;
    };
    let Ok(list) = ManifestList::parse_with_version(&list, metadata.format_version()) else {
        return out;
    };
    let manifests = list.entries().iter().filter_map(|m| kept.get(&m.manifest_path));
    for manifest in manifests.filter_map(|bytes| Manifest::parse_avro(&bytes).ok()) {
        for entry in manifest.entries().iter().filter(|e| e.is_alive()) {
            let file = entry.data_file();
            let Some(task) = wanted.get(file.file_path()) else { continue };
            if file.column_sizes().is_empty() {
                continue;
            }
            let mut leaves = Vec::new();
            task.project_field_ids.iter().for_each(|id| leaf_ids(&task.schema, *id, &mut leaves));
            let chunks: u64 = leaves.iter().filter_map(|id| file.column_sizes().get(id)).sum();
            let footer = (crate::table::format::PARQUET_FOOTER_READ as u64).min(task.file_size_in_bytes);
            out.insert(file.file_path().to_string(), chunks + footer);
        }
    }
    out
}

/// The primitive fields at or under field `id` of `schema`, into `out`.
fn leaf_ids(schema: &iceberg::spec::Schema, id: i32, out: &mut Vec<i32>) {
    use iceberg::spec::Type;
    let Some(field) = schema.field_by_id(id) else { return };
    match field.field_type.as_ref() {
        Type::Primitive(_) => out.push(id),
        Type::Struct(s) => s.fields().iter().for_each(|f| leaf_ids(schema, f.id, out)),
        Type::List(l) => leaf_ids(schema, l.element_field.id, out),
        Type::Map(m) => {
            leaf_ids(schema, m.key_field.id, out);
            leaf_ids(schema, m.value_field.id, out);
        }
    }
}

/// The schema `snapshot` was written with.
fn snapshot_schema(
    name: &str,
    loaded: &Loaded,
    snapshot: &SnapshotRef,
) -> crate::error::Result<iceberg::spec::SchemaRef> {
    snapshot.schema(&loaded.metadata).map_err(|e| {
        super::error(e, &format!("snapshot {} of {name} (metadata file {})", snapshot.snapshot_id(), loaded.location))
    })
}

#[async_trait::async_trait]
impl TableProvider for IcebergTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters prune files and row groups; DataFusion still applies them.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    /// Appends (`super::write`).
    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(metastore) = &self.writer else {
            let why = format!("cannot write to {}: an old snapshot is read-only", self.name);
            return Err(Error::new(SqlState::FeatureNotSupported, why).into_datafusion());
        };
        super::write::insert(state, metastore, &self.name, &self.loaded.metadata, Arc::clone(&self.schema), input, op)
    }

    /// UPDATE (`super::row_level`), run when its plan runs.
    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(metastore) = &self.writer else {
            let why = format!("cannot update {}: an old snapshot is read-only", self.name);
            return Err(Error::new(SqlState::FeatureNotSupported, why).into_datafusion());
        };
        let stores = Arc::clone(&state.runtime_env().object_store_registry);
        let update = super::row_level::RowChange::new(
            self.name.clone(),
            Some(assignments),
            Arc::clone(metastore),
            stores,
            Arc::clone(&self.schema),
            filters,
        );
        Ok(Arc::new(update))
    }

    /// DELETE (`super::row_level`), run when its plan runs.
    async fn delete_from(&self, state: &dyn Session, filters: Vec<Expr>) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(metastore) = &self.writer else {
            let why = format!("cannot delete from {}: an old snapshot is read-only", self.name);
            return Err(Error::new(SqlState::FeatureNotSupported, why).into_datafusion());
        };
        let stores = Arc::clone(&state.runtime_env().object_store_registry);
        let delete = super::row_level::RowChange::new(
            self.name.clone(),
            None,
            Arc::clone(metastore),
            stores,
            Arc::clone(&self.schema),
            filters,
        );
        Ok(Arc::new(delete))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let bytes: Arc<ByteCounter> = Arc::default();
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => Arc::clone(&self.schema),
        };
        let columns = projection.map(|_| schema.fields().iter().map(|f| f.name().clone()).collect());
        let planned = if crate::table::metered::enabled() {
            let session = metered_state(state, &bytes)?;
            // The metadata file was read when the table was built; its
            // bytes are this query's as much as the manifests are.
            let size = self.loaded.size;
            bytes.add(size);
            if let Some(meter) = state.config().get_extension::<QueryMeter>() {
                meter.tally.charge(size).map_err(crate::error::Error::into_datafusion)?;
            }
            self.plan_files(&session, columns, filters).await?
        } else {
            self.plan_files(state, columns, filters).await?
        };
        let (tasks, manifests) = planned;
        let partitions = state.config().target_partitions().max(1);
        let mut scan =
            IcebergScan::new(self, schema, (tasks, manifests), partitions, limit, bytes, !filters.is_empty());
        scan.unfiltered = filters.is_empty();
        scan.narrowed = projection.is_some_and(|p| p.len() < self.schema.fields().len());
        Ok(Arc::new(scan))
    }
}

/// The manifest list and manifests a scan's planning read, kept for the
/// estimate.
#[derive(Debug)]
struct Manifests {
    kept: super::io::Kept,
    metadata: Arc<TableMetadata>,
    snapshot: SnapshotRef,
}

/// Reads the files an Iceberg scan planned, spread over partitions.
#[derive(Debug)]
pub struct IcebergScan {
    table: String,
    snapshot: Option<i64>,
    /// The planned files, one list per output partition.
    groups: Vec<Vec<FileScanTask>>,
    /// The manifests the planning read, and what each data file is
    /// expected to need where they say (`chunk_bytes`, worked out when
    /// the estimate is first asked for); the others count whole.
    manifests: Option<Manifests>,
    expected: OnceLock<HashMap<String, u64>>,
    /// Fewer columns than the table's are read.
    narrowed: bool,
    /// Data and delete files in the snapshot, for EXPLAIN (from its
    /// summary, when the writer recorded it).
    total_data_files: Option<u64>,
    total_delete_files: Option<u64>,
    limit: Option<usize>,
    /// Whether row-group pruning (a filter) may make the reader read less.
    may_read_less: bool,
    /// No condition reached the reader (which prunes row groups with it).
    unfiltered: bool,
    properties: Arc<PlanProperties>,
    /// Every byte the scan read: metadata and manifests while planning,
    /// then data and delete files.
    bytes: Arc<ByteCounter>,
    /// The planning part of `bytes`.
    metadata_bytes: u64,
    context: ScanContext,
}

impl IcebergScan {
    fn new(
        table: &IcebergTable,
        schema: SchemaRef,
        (tasks, manifests): (Vec<FileScanTask>, Option<Manifests>),
        partitions: usize,
        limit: Option<usize>,
        bytes: Arc<ByteCounter>,
        may_read_less: bool,
    ) -> IcebergScan {
        let groups = spread(tasks, partitions);
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(groups.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        let total =
            |key: &str| table.snapshot.as_ref().and_then(|s| s.summary().additional_properties.get(key)?.parse().ok());
        IcebergScan {
            table: table.name.clone(),
            snapshot: table.snapshot.as_ref().map(|s| s.snapshot_id()),
            groups,
            manifests,
            expected: OnceLock::new(),
            narrowed: false,
            total_data_files: total("total-data-files"),
            total_delete_files: total("total-delete-files"),
            limit,
            may_read_less,
            unfiltered: false,
            properties,
            metadata_bytes: bytes.get(),
            bytes,
            context: ScanContext::default(),
        }
    }

    fn tasks(&self) -> impl Iterator<Item = &FileScanTask> {
        self.groups.iter().flatten()
    }

    /// The delete files the kept data files need.
    fn delete_files(&self) -> BTreeSet<&str> {
        self.tasks().flat_map(|t| t.deletes.iter().map(|d| d.file_path.as_str())).collect()
    }

    /// What the scan is expected to read: the metadata it read planning,
    /// the footers and column chunks of the data files it kept (whole
    /// where the manifests give no column sizes), and their delete files
    /// whole (`table::estimate`).
    pub fn estimated_bytes(&self) -> u64 {
        let expected = self.expected();
        let data: u64 = self.tasks().map(|t| expected.get(&t.data_file_path).copied().unwrap_or(t.length)).sum();
        let mut deletes = std::collections::BTreeMap::new();
        for d in self.tasks().flat_map(|t| &t.deletes) {
            deletes.insert(d.file_path.as_str(), d.file_size_in_bytes);
        }
        self.metadata_bytes + data + deletes.values().sum::<u64>()
    }

    /// Whether the reader may read less than [`Self::estimated_bytes`]
    /// (row-group pruning with a filter, a limit, or fewer columns of a
    /// file the estimate counts whole).
    pub fn may_read_less(&self) -> bool {
        let counted_whole = || self.tasks().any(|t| !self.expected().contains_key(&t.data_file_path));
        self.may_read_less || self.limit.is_some() || (self.narrowed && counted_whole())
    }

    fn expected(&self) -> &HashMap<String, u64> {
        self.expected.get_or_init(|| match &self.manifests {
            Some(m) => chunk_bytes(&m.kept, &m.metadata, &m.snapshot, self.tasks()),
            None => HashMap::new(),
        })
    }
}

/// `tasks` spread over at most `partitions` lists of near-equal bytes.
pub(super) fn spread(mut tasks: Vec<FileScanTask>, partitions: usize) -> Vec<Vec<FileScanTask>> {
    let n = partitions.min(tasks.len()).max(1);
    let mut groups: Vec<(u64, Vec<FileScanTask>)> = (0..n).map(|_| (0, Vec::new())).collect();
    tasks.sort_by(|a, b| b.length.cmp(&a.length).then_with(|| a.data_file_path.cmp(&b.data_file_path)));
    for task in tasks {
        let smallest = groups.iter_mut().min_by_key(|(size, _)| *size).expect("at least one group");
        smallest.0 += task.length;
        smallest.1.push(task);
    }
    groups.into_iter().map(|(_, tasks)| tasks).collect()
}

impl DisplayAs for IcebergScan {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let of = |total: Option<u64>| total.map(|t| format!(" of {t}")).unwrap_or_default();
        write!(f, "IcebergScan: table={}, snapshot=", self.table)?;
        match self.snapshot {
            Some(id) => write!(f, "{id}")?,
            None => write!(f, "none")?,
        }
        write!(
            f,
            ", data_files={}{}, delete_files={}{}",
            self.tasks().count(),
            of(self.total_data_files),
            self.delete_files().len(),
            of(self.total_delete_files)
        )?;
        if let Some(limit) = self.limit {
            write!(f, ", limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for IcebergScan {
    fn name(&self) -> &str {
        "IcebergScan"
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
        let context = if crate::table::metered::enabled() { self.context.get(&context, &self.bytes)? } else { context };
        let tasks = self.groups.get(partition).cloned().unwrap_or_default();
        let file_io = super::io::file_io(Arc::clone(&context.runtime_env().object_store_registry));
        let schema = self.schema();
        let what = format!("reading {}", self.table);
        let runtime = iceberg::Runtime::try_current().map_err(|e| df_error(e, &what))?;
        let reader = iceberg::arrow::ArrowReaderBuilder::new(file_io.clone(), runtime)
            .with_batch_size(context.session_config().batch_size())
            // Footer reads are billed: as small as a Hive table's.
            .with_metadata_size_hint(crate::table::format::PARQUET_FOOTER_READ)
            .with_data_file_concurrency_limit(2)
            .with_row_group_filtering_enabled(true)
            .with_row_selection_enabled(true)
            .build();
        let batch_size = context.session_config().batch_size();
        let batches = super::orc::read(reader, &file_io, tasks, batch_size).map_err(|e| df_error(e, &what))?;
        let output = Arc::clone(&schema);
        let mut left = self.limit;
        let stream = batches
            .map(move |batch| {
                let batch = batch.and_then(|b| super::plain_batch(b, &output)).map_err(|e| df_error(e, &what))?;
                // The reader's batches carry its own field metadata; the
                // plan's schema is the table's.
                RecordBatch::try_new_with_options(
                    Arc::clone(&output),
                    batch.columns().to_vec(),
                    &datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
                )
                .map_err(Into::into)
            })
            .try_take_while(move |batch| {
                let go = left.is_none_or(|l| l > 0);
                if let Some(l) = left.as_mut() {
                    *l = l.saturating_sub(batch.num_rows());
                }
                futures::future::ready(Ok(go))
            });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        let mut metrics = bytes_metric(&self.bytes);
        let set = ExecutionPlanMetricsSet::new();
        MetricBuilder::new(&set).global_counter("metadata_bytes_read").add(self.metadata_bytes as usize);
        set.clone_inner().iter().for_each(|m| metrics.push(Arc::clone(m)));
        Some(metrics)
    }

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Statistics> {
        let tasks: Vec<&FileScanTask> = match partition {
            Some(p) => self.groups.get(p).map(|g| g.iter().collect()).unwrap_or_default(),
            None => self.tasks().collect(),
        };
        let mut stats = Statistics::new_unknown(&self.schema());
        // Deletes and the reader's pruning make these upper bounds; without
        // either the manifests' counts are the rows read (so count(*)
        // is answered from them, reading no data file).
        if tasks.iter().all(|t| t.record_count.is_some()) {
            let rows = tasks.iter().filter_map(|t| t.record_count).sum::<u64>() as usize;
            let exact = self.unfiltered && self.limit.is_none() && tasks.iter().all(|t| t.deletes.is_empty());
            stats.num_rows = if exact { Precision::Exact(rows) } else { Precision::Inexact(rows) };
        }
        stats.total_byte_size = Precision::Inexact(tasks.iter().map(|t| t.length).sum::<u64>() as usize);
        Ok(stats)
    }
}
