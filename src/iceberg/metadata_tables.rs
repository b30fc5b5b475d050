//! An Iceberg table's metadata tables, with Trino's and Athena's columns:
//! `"t$snapshots"`, `"t$history"`, `"t$refs"` (from the metadata file),
//! and `"t$manifests"`, `"t$files"`, `"t$partitions"` (from the current
//! snapshot's manifest list and manifests, read when the query scans, so
//! the bytes are metered as every scan's are).
//!
//! Where Trino has a row type whose fields differ between partition
//! specs (a file's `partition`), glaux gives text, `{ts_day=2024-03-05}`.

use super::Loaded;
use crate::table::metered::{metered_state, QueryMeter};
use crate::table::store::ByteCounter;
use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, MapBuilder, StringBuilder,
    StructBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use iceberg::spec::{DataContentType, Datum, ManifestContentType, PrimitiveLiteral, PrimitiveType, Struct, Type};
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which metadata table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataTable {
    Snapshots,
    History,
    Refs,
    Manifests,
    Files,
    Partitions,
}

impl MetadataTable {
    pub const ALL: [MetadataTable; 6] = [
        MetadataTable::Snapshots,
        MetadataTable::History,
        MetadataTable::Refs,
        MetadataTable::Manifests,
        MetadataTable::Files,
        MetadataTable::Partitions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MetadataTable::Snapshots => "snapshots",
            MetadataTable::History => "history",
            MetadataTable::Refs => "refs",
            MetadataTable::Manifests => "manifests",
            MetadataTable::Files => "files",
            MetadataTable::Partitions => "partitions",
        }
    }

    pub fn of_name(name: &str) -> Option<MetadataTable> {
        MetadataTable::ALL.into_iter().find(|t| t.name() == name)
    }

    fn schema(self) -> SchemaRef {
        let at = || DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()));
        let f = |name: &str, t: DataType, nullable: bool| Field::new(name, t, nullable);
        let fields = match self {
            MetadataTable::Snapshots => vec![
                f("committed_at", at(), false),
                f("snapshot_id", DataType::Int64, false),
                f("parent_id", DataType::Int64, true),
                f("operation", DataType::Utf8, true),
                f("manifest_list", DataType::Utf8, true),
                f("summary", string_map(), true),
            ],
            MetadataTable::History => vec![
                f("made_current_at", at(), false),
                f("snapshot_id", DataType::Int64, false),
                f("parent_id", DataType::Int64, true),
                f("is_current_ancestor", DataType::Boolean, false),
            ],
            MetadataTable::Refs => vec![
                f("name", DataType::Utf8, false),
                f("type", DataType::Utf8, false),
                f("snapshot_id", DataType::Int64, false),
                f("max_reference_age_in_ms", DataType::Int64, true),
                f("min_snapshots_to_keep", DataType::Int32, true),
                f("max_snapshot_age_in_ms", DataType::Int64, true),
            ],
            MetadataTable::Manifests => vec![
                f("content", DataType::Int32, false),
                f("path", DataType::Utf8, false),
                f("length", DataType::Int64, false),
                f("partition_spec_id", DataType::Int32, false),
                f("added_snapshot_id", DataType::Int64, false),
                f("added_data_files_count", DataType::Int32, true),
                f("added_rows_count", DataType::Int64, true),
                f("existing_data_files_count", DataType::Int32, true),
                f("existing_rows_count", DataType::Int64, true),
                f("deleted_data_files_count", DataType::Int32, true),
                f("deleted_rows_count", DataType::Int64, true),
                f(
                    "partition_summaries",
                    DataType::List(Arc::new(Field::new_struct("item", summary_fields(), true))),
                    true,
                ),
            ],
            MetadataTable::Files => vec![
                f("content", DataType::Int32, false),
                f("file_path", DataType::Utf8, false),
                f("file_format", DataType::Utf8, false),
                f("spec_id", DataType::Int32, false),
                f("partition", DataType::Utf8, false),
                f("record_count", DataType::Int64, false),
                f("file_size_in_bytes", DataType::Int64, false),
                f("column_sizes", count_map(), true),
                f("value_counts", count_map(), true),
                f("null_value_counts", count_map(), true),
                f("nan_value_counts", count_map(), true),
                f("lower_bounds", bound_map(), true),
                f("upper_bounds", bound_map(), true),
                f("key_metadata", DataType::Binary, true),
                f("split_offsets", DataType::List(Arc::new(Field::new("item", DataType::Int64, true))), true),
                f("equality_ids", DataType::List(Arc::new(Field::new("item", DataType::Int32, true))), true),
                f("sort_order_id", DataType::Int32, true),
            ],
            MetadataTable::Partitions => vec![
                f("partition", DataType::Utf8, false),
                f("spec_id", DataType::Int32, false),
                f("record_count", DataType::Int64, false),
                f("file_count", DataType::Int64, false),
                f("total_size", DataType::Int64, false),
                f("position_delete_record_count", DataType::Int64, false),
                f("position_delete_file_count", DataType::Int64, false),
                f("equality_delete_record_count", DataType::Int64, false),
                f("equality_delete_file_count", DataType::Int64, false),
            ],
        };
        Arc::new(Schema::new(fields))
    }
}

fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![Field::new("keys", key, false), Field::new("values", value, true)]);
    DataType::Map(Arc::new(Field::new_struct("entries", entries, false)), false)
}

fn string_map() -> DataType {
    map_type(DataType::Utf8, DataType::Utf8)
}

fn count_map() -> DataType {
    map_type(DataType::Int32, DataType::Int64)
}

fn bound_map() -> DataType {
    map_type(DataType::Int32, DataType::Utf8)
}

fn summary_fields() -> Fields {
    Fields::from(vec![
        Field::new("contains_null", DataType::Boolean, false),
        Field::new("contains_nan", DataType::Boolean, true),
        Field::new("lower_bound", DataType::Utf8, true),
        Field::new("upper_bound", DataType::Utf8, true),
    ])
}

/// One metadata table of one Iceberg table.
#[derive(Debug)]
pub struct MetadataProvider {
    name: String,
    loaded: Loaded,
    table: MetadataTable,
    schema: SchemaRef,
}

impl MetadataProvider {
    pub fn new(name: String, loaded: Loaded, table: MetadataTable) -> MetadataProvider {
        MetadataProvider { name, loaded, table, schema: table.schema() }
    }

    /// The table's rows, reading manifests through `session`'s stores.
    async fn rows(&self, session: &dyn Session) -> crate::error::Result<RecordBatch> {
        let metadata = &self.loaded.metadata;
        let columns: Vec<ArrayRef> = match self.table {
            MetadataTable::Snapshots => {
                let mut at = TimestampMillisecondBuilder::new();
                let (mut id, mut parent) = (Int64Builder::new(), Int64Builder::new());
                let (mut operation, mut list) = (StringBuilder::new(), StringBuilder::new());
                let mut summary = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
                let mut snapshots: Vec<_> = metadata.snapshots().collect();
                snapshots.sort_by_key(|s| (s.timestamp_ms(), s.sequence_number()));
                for s in snapshots {
                    at.append_value(s.timestamp_ms());
                    id.append_value(s.snapshot_id());
                    parent.append_option(s.parent_snapshot_id());
                    operation.append_value(s.summary().operation.as_str());
                    list.append_value(s.manifest_list());
                    let sorted: BTreeMap<_, _> = s.summary().additional_properties.iter().collect();
                    for (k, v) in sorted {
                        summary.keys().append_value(k);
                        summary.values().append_value(v);
                    }
                    summary.append(true).map_err(DataFusionError::from)?;
                }
                vec![
                    Arc::new(at.finish().with_timezone("+00:00")),
                    Arc::new(id.finish()),
                    Arc::new(parent.finish()),
                    Arc::new(operation.finish()),
                    Arc::new(list.finish()),
                    Arc::new(summary.finish()),
                ]
            }
            MetadataTable::History => {
                let mut ancestors = std::collections::HashSet::new();
                let mut next = metadata.current_snapshot_id();
                while let Some(id) = next.filter(|id| ancestors.insert(*id)) {
                    next = metadata.snapshot_by_id(id).and_then(|s| s.parent_snapshot_id());
                }
                let mut at = TimestampMillisecondBuilder::new();
                let (mut id, mut parent, mut current) =
                    (Int64Builder::new(), Int64Builder::new(), BooleanBuilder::new());
                for entry in metadata.history() {
                    at.append_value(entry.timestamp_ms);
                    id.append_value(entry.snapshot_id);
                    parent
                        .append_option(metadata.snapshot_by_id(entry.snapshot_id).and_then(|s| s.parent_snapshot_id()));
                    current.append_value(ancestors.contains(&entry.snapshot_id));
                }
                vec![
                    Arc::new(at.finish().with_timezone("+00:00")),
                    Arc::new(id.finish()),
                    Arc::new(parent.finish()),
                    Arc::new(current.finish()),
                ]
            }
            MetadataTable::Refs => {
                let (mut name, mut kind, mut id) = (StringBuilder::new(), StringBuilder::new(), Int64Builder::new());
                let (mut ref_age, mut keep, mut snap_age) =
                    (Int64Builder::new(), Int32Builder::new(), Int64Builder::new());
                for r in &self.loaded.refs {
                    name.append_value(&r.name);
                    kind.append_value(&r.kind);
                    id.append_value(r.snapshot_id);
                    ref_age.append_option(r.max_ref_age_ms);
                    keep.append_option(r.min_snapshots_to_keep);
                    snap_age.append_option(r.max_snapshot_age_ms);
                }
                vec![
                    Arc::new(name.finish()),
                    Arc::new(kind.finish()),
                    Arc::new(id.finish()),
                    Arc::new(ref_age.finish()),
                    Arc::new(keep.finish()),
                    Arc::new(snap_age.finish()),
                ]
            }
            MetadataTable::Manifests => self.manifests(session).await?,
            MetadataTable::Files | MetadataTable::Partitions => self.files(session).await?,
        };
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(DataFusionError::from)?)
    }

    /// The current snapshot's manifest list.
    async fn manifest_list(&self, session: &dyn Session) -> crate::error::Result<Vec<iceberg::spec::ManifestFile>> {
        let Some(snapshot) = self.loaded.metadata.current_snapshot() else {
            return Ok(Vec::new());
        };
        let file_io = super::io::file_io(Arc::clone(&session.runtime_env().object_store_registry));
        let context = format!("reading the manifest list {} of {}", snapshot.manifest_list(), self.name);
        let load = async {
            let bytes = file_io.new_input(snapshot.manifest_list())?.read().await?;
            iceberg::spec::ManifestList::parse_with_version(&bytes, self.loaded.metadata.format_version())
        };
        let list = load.await.map_err(|e| super::error(e, &context))?;
        Ok(list.entries().to_vec())
    }

    async fn manifests(&self, session: &dyn Session) -> crate::error::Result<Vec<ArrayRef>> {
        let (mut content, mut path, mut length, mut spec) =
            (Int32Builder::new(), StringBuilder::new(), Int64Builder::new(), Int32Builder::new());
        let (mut added_by, mut added_files, mut added_rows) =
            (Int64Builder::new(), Int32Builder::new(), Int64Builder::new());
        let (mut existing_files, mut existing_rows) = (Int32Builder::new(), Int64Builder::new());
        let (mut deleted_files, mut deleted_rows) = (Int32Builder::new(), Int64Builder::new());
        let mut summaries = ListBuilder::new(StructBuilder::from_fields(summary_fields(), 0));
        let schema = self.loaded.metadata.current_schema();
        for m in self.manifest_list(session).await? {
            content.append_value(if m.content == ManifestContentType::Deletes { 1 } else { 0 });
            path.append_value(&m.manifest_path);
            length.append_value(m.manifest_length);
            spec.append_value(m.partition_spec_id);
            added_by.append_value(m.added_snapshot_id);
            added_files.append_option(m.added_files_count.map(|v| v as i32));
            added_rows.append_option(m.added_rows_count.map(|v| v as i64));
            existing_files.append_option(m.existing_files_count.map(|v| v as i32));
            existing_rows.append_option(m.existing_rows_count.map(|v| v as i64));
            deleted_files.append_option(m.deleted_files_count.map(|v| v as i32));
            deleted_rows.append_option(m.deleted_rows_count.map(|v| v as i64));
            let types: Vec<Option<PrimitiveType>> = self
                .loaded
                .metadata
                .partition_spec_by_id(m.partition_spec_id)
                .and_then(|s| s.partition_type(schema).ok())
                .map(|t| t.fields().iter().map(|f| f.field_type.as_primitive_type().cloned()).collect())
                .unwrap_or_default();
            let items = summaries.values();
            for (i, s) in m.partitions.iter().flatten().enumerate() {
                let bound = |b: Option<&[u8]>| {
                    let t = types.get(i).cloned().flatten()?;
                    Datum::try_from_bytes(b?, t).ok().map(|d| plain(&d))
                };
                items.field_builder::<BooleanBuilder>(0).expect("contains_null").append_value(s.contains_null);
                items.field_builder::<BooleanBuilder>(1).expect("contains_nan").append_option(s.contains_nan);
                items
                    .field_builder::<StringBuilder>(2)
                    .expect("lower_bound")
                    .append_option(bound(s.lower_bound.as_ref().map(|b| b.as_slice())));
                items
                    .field_builder::<StringBuilder>(3)
                    .expect("upper_bound")
                    .append_option(bound(s.upper_bound.as_ref().map(|b| b.as_slice())));
                items.append(true);
            }
            summaries.append(true);
        }
        Ok(vec![
            Arc::new(content.finish()),
            Arc::new(path.finish()),
            Arc::new(length.finish()),
            Arc::new(spec.finish()),
            Arc::new(added_by.finish()),
            Arc::new(added_files.finish()),
            Arc::new(added_rows.finish()),
            Arc::new(existing_files.finish()),
            Arc::new(existing_rows.finish()),
            Arc::new(deleted_files.finish()),
            Arc::new(deleted_rows.finish()),
            Arc::new(summaries.finish()),
        ])
    }

    /// `$files`, or `$partitions` summed from the same entries.
    async fn files(&self, session: &dyn Session) -> crate::error::Result<Vec<ArrayRef>> {
        let file_io = super::io::file_io(Arc::clone(&session.runtime_env().object_store_registry));
        let schema = self.loaded.metadata.current_schema();
        let mut files = FileColumns::new();
        let mut partitions: BTreeMap<(String, i32), [i64; 7]> = BTreeMap::new();
        for m in self.manifest_list(session).await? {
            let manifest = m
                .load_manifest(&file_io)
                .await
                .map_err(|e| super::error(e, &format!("reading the manifest {} of {}", m.manifest_path, self.name)))?;
            let spec = manifest.metadata().partition_spec().clone();
            let types = spec.partition_type(schema).ok();
            for entry in manifest.entries().iter().filter(|e| e.is_alive()) {
                let file = entry.data_file();
                let partition = partition_text(&spec, types.as_ref(), file.partition());
                let sums = partitions.entry((partition.clone(), spec.spec_id())).or_default();
                let (records, size) = (file.record_count() as i64, file.file_size_in_bytes() as i64);
                match file.content_type() {
                    DataContentType::Data => {
                        sums[0] += records;
                        sums[1] += 1;
                        sums[2] += size;
                    }
                    DataContentType::PositionDeletes => {
                        sums[3] += records;
                        sums[4] += 1;
                    }
                    DataContentType::EqualityDeletes => {
                        sums[5] += records;
                        sums[6] += 1;
                    }
                }
                files.add(file, spec.spec_id(), partition);
            }
        }
        if self.table == MetadataTable::Files {
            return Ok(files.finish());
        }
        let (mut partition, mut spec, mut sums) =
            (StringBuilder::new(), Int32Builder::new(), (0..7).map(|_| Int64Builder::new()).collect::<Vec<_>>());
        for ((p, s), values) in partitions {
            partition.append_value(p);
            spec.append_value(s);
            for (builder, v) in sums.iter_mut().zip(values) {
                builder.append_value(v);
            }
        }
        let mut out: Vec<ArrayRef> = vec![Arc::new(partition.finish()), Arc::new(spec.finish())];
        out.extend(sums.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        Ok(out)
    }
}

/// The columns of `$files`, built a file at a time.
struct FileColumns {
    content: Int32Builder,
    path: StringBuilder,
    format: StringBuilder,
    spec: Int32Builder,
    partition: StringBuilder,
    records: Int64Builder,
    size: Int64Builder,
    column_sizes: CountMap,
    value_counts: CountMap,
    null_counts: CountMap,
    nan_counts: CountMap,
    lower: BoundMap,
    upper: BoundMap,
    key_metadata: BinaryBuilder,
    split_offsets: ListBuilder<Int64Builder>,
    equality_ids: ListBuilder<Int32Builder>,
    sort_order: Int32Builder,
}

type CountMap = MapBuilder<Int32Builder, Int64Builder>;
type BoundMap = MapBuilder<Int32Builder, StringBuilder>;

fn counts(builder: &mut CountMap, values: &std::collections::HashMap<i32, u64>) -> Result<()> {
    let sorted: BTreeMap<_, _> = values.iter().collect();
    for (k, v) in sorted {
        builder.keys().append_value(*k);
        builder.values().append_value(*v as i64);
    }
    Ok(builder.append(true)?)
}

fn bounds(builder: &mut BoundMap, values: &std::collections::HashMap<i32, Datum>) -> Result<()> {
    let sorted: BTreeMap<_, _> = values.iter().collect();
    for (k, v) in sorted {
        builder.keys().append_value(*k);
        builder.values().append_value(plain(v));
    }
    Ok(builder.append(true)?)
}

impl FileColumns {
    fn new() -> FileColumns {
        let count_map = || MapBuilder::new(None, Int32Builder::new(), Int64Builder::new());
        let bound_map = || MapBuilder::new(None, Int32Builder::new(), StringBuilder::new());
        FileColumns {
            content: Int32Builder::new(),
            path: StringBuilder::new(),
            format: StringBuilder::new(),
            spec: Int32Builder::new(),
            partition: StringBuilder::new(),
            records: Int64Builder::new(),
            size: Int64Builder::new(),
            column_sizes: count_map(),
            value_counts: count_map(),
            null_counts: count_map(),
            nan_counts: count_map(),
            lower: bound_map(),
            upper: bound_map(),
            key_metadata: BinaryBuilder::new(),
            split_offsets: ListBuilder::new(Int64Builder::new()),
            equality_ids: ListBuilder::new(Int32Builder::new()),
            sort_order: Int32Builder::new(),
        }
    }

    fn add(&mut self, file: &iceberg::spec::DataFile, spec: i32, partition: String) {
        let content = match file.content_type() {
            DataContentType::Data => 0,
            DataContentType::PositionDeletes => 1,
            DataContentType::EqualityDeletes => 2,
        };
        self.content.append_value(content);
        self.path.append_value(file.file_path());
        self.format.append_value(file.file_format().to_string().to_uppercase());
        self.spec.append_value(spec);
        self.partition.append_value(partition);
        self.records.append_value(file.record_count() as i64);
        self.size.append_value(file.file_size_in_bytes() as i64);
        // The builders are fresh per table and the maps well formed, so
        // these appends cannot fail; a failure would be a glaux bug.
        let _ = counts(&mut self.column_sizes, file.column_sizes());
        let _ = counts(&mut self.value_counts, file.value_counts());
        let _ = counts(&mut self.null_counts, file.null_value_counts());
        let _ = counts(&mut self.nan_counts, file.nan_value_counts());
        let _ = bounds(&mut self.lower, file.lower_bounds());
        let _ = bounds(&mut self.upper, file.upper_bounds());
        self.key_metadata.append_option(file.key_metadata());
        match file.split_offsets() {
            Some(offsets) => self.split_offsets.append_value(offsets.iter().map(|o| Some(*o))),
            None => self.split_offsets.append_null(),
        }
        match file.equality_ids() {
            Some(ids) => self.equality_ids.append_value(ids.into_iter().map(Some)),
            None => self.equality_ids.append_null(),
        }
        self.sort_order.append_option(file.sort_order_id());
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.content.finish()),
            Arc::new(self.path.finish()),
            Arc::new(self.format.finish()),
            Arc::new(self.spec.finish()),
            Arc::new(self.partition.finish()),
            Arc::new(self.records.finish()),
            Arc::new(self.size.finish()),
            Arc::new(self.column_sizes.finish()),
            Arc::new(self.value_counts.finish()),
            Arc::new(self.null_counts.finish()),
            Arc::new(self.nan_counts.finish()),
            Arc::new(self.lower.finish()),
            Arc::new(self.upper.finish()),
            Arc::new(self.key_metadata.finish()),
            Arc::new(self.split_offsets.finish()),
            Arc::new(self.equality_ids.finish()),
            Arc::new(self.sort_order.finish()),
        ]
    }
}

/// A value as Trino shows a bound: strings unquoted.
fn plain(d: &Datum) -> String {
    match d.literal() {
        PrimitiveLiteral::String(s) => s.clone(),
        _ => d.to_string(),
    }
}

/// A file's partition as `{name=value, ...}` in its spec's field order.
fn partition_text(
    spec: &iceberg::spec::PartitionSpec,
    types: Option<&iceberg::spec::StructType>,
    values: &Struct,
) -> String {
    let parts: Vec<String> = spec
        .fields()
        .iter()
        .zip(values.iter())
        .enumerate()
        .map(|(i, (field, value))| {
            let ty = types.and_then(|t| t.fields().get(i)).map(|f| f.field_type.as_ref().clone());
            let text = match (value.and_then(|v| v.as_primitive_literal()), ty) {
                (None, _) => "null".to_string(),
                (Some(PrimitiveLiteral::Int(days)), Some(Type::Primitive(PrimitiveType::Date))) => {
                    Datum::date(days).to_string()
                }
                (Some(PrimitiveLiteral::String(s)), _) => s,
                (Some(PrimitiveLiteral::Int(v)), _) => v.to_string(),
                (Some(PrimitiveLiteral::Long(v)), _) => v.to_string(),
                (Some(PrimitiveLiteral::Boolean(v)), _) => v.to_string(),
                (Some(PrimitiveLiteral::Double(v)), _) => v.to_string(),
                (Some(PrimitiveLiteral::Float(v)), _) => v.to_string(),
                (Some(other), _) => format!("{other:?}"),
            };
            format!("{}={text}", field.name)
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

#[async_trait::async_trait]
impl TableProvider for MetadataProvider {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = if crate::table::metered::enabled() {
            let bytes: Arc<ByteCounter> = Arc::default();
            let session = metered_state(state, &bytes)?;
            if let Some(meter) = state.config().get_extension::<QueryMeter>() {
                meter.tally.charge(self.loaded.size).map_err(crate::error::Error::into_datafusion)?;
            }
            self.rows(&session).await
        } else {
            self.rows(state).await
        };
        let batch = batch.map_err(crate::error::Error::into_datafusion)?;
        MemorySourceConfig::try_new_exec(&[vec![batch]], Arc::clone(&self.schema), projection.cloned())
            .map(|exec| exec as Arc<dyn ExecutionPlan>)
    }
}
