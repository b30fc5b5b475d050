//! INSERT INTO an external (Hive) table, as Athena writes one.
//!
//! The rows are written as new files in the table's own format, never
//! touching the files already there: under the table's LOCATION, or for
//! a `PARTITIONED BY` table under each partition's location (a registered
//! partition's own, or Hive's `k=v/` folders under the table's, values
//! escaped as Hive escapes them, NULL or empty as
//! `__HIVE_DEFAULT_PARTITION__`). One file per partition per statement,
//! named `<statement uuid>-<n>` with the format's extension (and the
//! text compression's).
//!
//! - Parquet: the table's `write_compression` or `parquet.compression`
//!   property (SNAPPY by default), pages of at most [`PARQUET_PAGE_BYTES`],
//!   streamed to the store.
//! - ORC: orc-rust's writer (numbers, strings, booleans and binary only;
//!   other columns are 0A000 before anything is written).
//! - LazySimpleSerDe text: the table's field and collection delimiters,
//!   its NULL marker (`\N`), Hive's text forms of values (timestamps as
//!   `yyyy-MM-dd HH:mm:ss.fff`); a value holding a delimiter or a line
//!   break is 22P04, as the file could not be read back (glaux writes no
//!   escapes). OpenCSVSerde text: quoted CSV.
//!   JsonSerDe: one JSON object per line. Text files take the table's
//!   `compressionType`, and start with a header line when the table
//!   skips one (`skip.header.line.count` = 1), so no row is lost to it.
//!
//! A file appears only when it is complete (the store's put or multipart
//! upload). If the statement fails (or is cancelled, or times out), the
//! files it completed are deleted again, and no partition is registered:
//! nothing of it is visible. A partition registered at another location
//! meanwhile is 40001; one with its own column list is 0A000.
//! After the last file, the partitions that were not registered are
//! added to the catalog in one call. Partition projection tables are
//! 0A000 (their partitions are computed, not registered), as is INSERT
//! OVERWRITE.

mod files;

pub use files::{parquet_codec, parquet_properties};

/// The largest data page and dictionary page of the Parquet files glaux
/// writes (the format's defaults are 1 MiB each). A lookup decompresses
/// each column's dictionary page and the one data page the page index
/// picks: with 64 KiB pages a one-row lookup in a 150,000-row file reads
/// 0.7 MB instead of 4.4 MB and runs three times as fast, while full scans
/// take the same time (docs/benchmarks.md).
pub const PARQUET_PAGE_BYTES: usize = 64 * 1024;

use super::format::COMPRESSION_KEY;
use super::partitioned::DEFAULT_PARTITION;
use crate::catalog::model::now;
use crate::catalog::{Metastore, Partition, Table};
use crate::error::{Error, SqlState};
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array, UInt64Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_expr::{Distribution, EquivalenceProperties, LexOrdering, OrderingRequirements};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use files::{Encoding, FileOut, HIVE_TIMESTAMP};
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// The plan that appends `input`'s rows (with the columns of `schema`:
/// the table's data columns, then its partition keys) to `table`;
/// `catalog` registers new partitions.
pub fn insert(
    table: Table,
    catalog: Option<Arc<dyn Metastore>>,
    schema: SchemaRef,
    input: Arc<dyn ExecutionPlan>,
    op: InsertOp,
) -> Result<Arc<dyn ExecutionPlan>> {
    let name = format!("{}.{}", table.database_name, table.name);
    let refuse = |why: String| Err(Error::new(SqlState::FeatureNotSupported, why).into_datafusion());
    if op != InsertOp::Append {
        return refuse(format!("cannot overwrite table {name}: INSERT into a Hive table appends files"));
    }
    if super::projection::is_enabled(&table) {
        return refuse(format!(
            "cannot insert into table {name}: its partitions are projected (projection.enabled), not registered"
        ));
    }
    let format = Encoding::of(&table).map_err(Error::into_datafusion)?;
    let data = schema.fields().len() - table.partition_keys.len();
    for field in &schema.fields()[..data] {
        format.check(&name, field).map_err(Error::into_datafusion)?;
    }
    let properties = Arc::new(PlanProperties::new(
        EquivalenceProperties::new(count_schema()),
        Partitioning::UnknownPartitioning(1),
        EmissionType::Final,
        Boundedness::Bounded,
    ));
    let ordering = input.properties().output_ordering().cloned();
    Ok(Arc::new(HiveInsert { name, table, catalog, schema, format, input, ordering, properties }))
}

fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("count", DataType::UInt64, false)]))
}

/// INSERT INTO a Hive table, run when its plan runs; answers the rows
/// written.
#[derive(Debug, Clone)]
struct HiveInsert {
    name: String,
    table: Table,
    catalog: Option<Arc<dyn Metastore>>,
    schema: SchemaRef,
    format: Encoding,
    input: Arc<dyn ExecutionPlan>,
    /// The order the query gave its rows (`ORDER BY`), kept in the files:
    /// the optimizer may not trade it for parallelism.
    ordering: Option<LexOrdering>,
    properties: Arc<PlanProperties>,
}

impl HiveInsert {
    async fn run(&self, context: Arc<TaskContext>) -> crate::error::Result<u64> {
        let keys = self.table.partition_keys.len();
        let data = self.schema.fields().len() - keys;
        let registered: HashMap<Vec<String>, Partition> = match (&self.catalog, keys) {
            (Some(catalog), 1..) => catalog
                .list_partitions(&self.table.database_name, &self.table.name)
                .await?
                .into_iter()
                .map(|p| (p.values.clone(), p))
                .collect(),
            _ => HashMap::new(),
        };
        let statement = uuid::Uuid::new_v4();
        let mut files = Files { open: HashMap::new(), done: Vec::new(), kept: false };
        let outcome = async {
            // One stream of every input row, however the optimizer
            // partitioned the input.
            let input: Arc<dyn ExecutionPlan> = match self.input.properties().output_partitioning().partition_count() {
                1 => Arc::clone(&self.input),
                _ => Arc::new(CoalescePartitionsExec::new(Arc::clone(&self.input))),
            };
            let mut stream = input.execute(0, Arc::clone(&context))?;
            let mut rows = 0u64;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                for (values, indices) in partitions_of(&batch, data)? {
                    let part = if indices.len() == batch.num_rows() {
                        batch.clone()
                    } else {
                        take_record_batch(&batch, &UInt32Array::from(indices)).map_err(DataFusionError::from)?
                    };
                    let part = part.project(&(0..data).collect::<Vec<_>>()).map_err(DataFusionError::from)?;
                    if !files.open.contains_key(&values) {
                        let n = files.open.len() + files.done.len();
                        let folder = self.folder(&values, registered.get(&values))?;
                        let location = format!("{folder}{statement}-{n:05}{}", self.format.extension());
                        let file = FileOut::open(&context, &location, &self.format, part.schema()).await?;
                        files.open.insert(values.clone(), (folder, file));
                    }
                    let (_, file) = files.open.get_mut(&values).expect("opened above");
                    file.write(&self.format, &part).await?;
                }
            }
            let open: Vec<(Vec<String>, (String, FileOut))> = files.open.drain().collect();
            let mut written = Vec::new();
            for (values, (folder, file)) in open {
                let (store, path) = (Arc::clone(&file.store), file.path.clone());
                file.close().await?;
                files.done.push((store, path));
                written.push((values, folder));
            }
            Ok::<_, crate::error::Error>((rows, written))
        }
        .await;
        let (rows, written) = match outcome {
            Ok(done) => done,
            Err(e) => {
                files.discard().await;
                return Err(e);
            }
        };
        let new: Vec<(Vec<String>, String)> =
            written.into_iter().filter(|(values, _)| !registered.contains_key(values)).collect();
        if let Err(e) = self.register(new).await {
            files.discard().await;
            return Err(e);
        }
        files.keep();
        Ok(rows)
    }

    /// Registers the partitions that were new when the statement began,
    /// with the folders written (`written`). They are read again first:
    /// one another statement registered meanwhile at the folder written is
    /// left as it is, one registered elsewhere is 40001 (the rows written
    /// would not be read there).
    async fn register(&self, written: Vec<(Vec<String>, String)>) -> crate::error::Result<()> {
        let Some(catalog) = self.catalog.as_ref().filter(|_| !written.is_empty()) else {
            return Ok(());
        };
        let (database, table) = (&self.table.database_name, &self.table.name);
        let now_registered: HashMap<Vec<String>, Partition> =
            catalog.list_partitions(database, table).await?.into_iter().map(|p| (p.values.clone(), p)).collect();
        let mut new = Vec::new();
        for (values, folder) in written {
            match now_registered.get(&values) {
                None => new.push(Partition { values, create_time: now(), ..Partition::default() }),
                Some(partition) if self.folder(&values, Some(partition))? == folder => {}
                Some(_) => {
                    return Err(Error::new(
                        SqlState::SerializationFailure,
                        format!(
                            "a partition of {} ({}) was registered at another location while the INSERT wrote it; \
                             nothing was written, run it again",
                            self.name,
                            values.join(", ")
                        ),
                    ))
                }
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        catalog.add_partitions(database, table, new).await
    }

    /// Where the files of the partition with `values` go (ending in `/`).
    fn folder(&self, values: &[String], registered: Option<&Partition>) -> crate::error::Result<String> {
        let no_location =
            || Error::new(SqlState::InvalidParameterValue, format!("table {} has no LOCATION", self.name));
        if values.is_empty() {
            let base = self.table.storage_descriptor.location.as_deref().ok_or_else(no_location)?;
            return Ok(format!("{}/", base.trim_end_matches('/')));
        }
        let partition = match registered {
            Some(p) => p.clone(),
            None => Partition { values: values.to_vec(), ..Partition::default() },
        };
        let own = &partition.storage_descriptor.columns;
        if !own.is_empty() && *own != self.table.storage_descriptor.columns {
            // Its files have columns of their own (schema drift); rows of
            // the table's columns would not read back through them.
            return Err(Error::new(
                SqlState::FeatureNotSupported,
                format!(
                    "cannot insert into partition ({}) of {}: it has columns of its own, unlike the table's",
                    values.join(", "),
                    self.name
                ),
            ));
        }
        let location = self.table.partition_location(&partition).ok_or_else(no_location)?;
        Ok(format!("{}/", location.trim_end_matches('/')))
    }
}

/// The rows of `batch` per partition: the Hive text of the key columns
/// (after the first `data` columns) and the rows' indices.
fn partitions_of(batch: &RecordBatch, data: usize) -> Result<Vec<(Vec<String>, Vec<u32>)>> {
    if batch.num_columns() == data {
        return Ok(vec![(Vec::new(), (0..batch.num_rows() as u32).collect())]);
    }
    let options = FormatOptions::default().with_timestamp_format(Some(HIVE_TIMESTAMP));
    let keys: Vec<(&ArrayRef, ArrayFormatter)> = batch.columns()[data..]
        .iter()
        .map(|c| Ok((c, ArrayFormatter::try_new(c.as_ref(), &options)?)))
        .collect::<Result<_>>()?;
    let mut groups: Vec<(Vec<String>, Vec<u32>)> = Vec::new();
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    for row in 0..batch.num_rows() {
        let values: Vec<String> = keys
            .iter()
            .map(|(column, format)| {
                let text = if column.is_null(row) { String::new() } else { format.value(row).to_string() };
                if text.is_empty() {
                    DEFAULT_PARTITION.to_string()
                } else {
                    text
                }
            })
            .collect();
        let at = *index.entry(values.clone()).or_insert_with(|| {
            groups.push((values, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(row as u32);
    }
    Ok(groups)
}

/// The statement's files: those being written (by partition, with their
/// folder), and those complete. Unless kept, the complete ones are
/// deleted again, also when the statement is cancelled or times out
/// (dropped mid-way).
struct Files {
    open: HashMap<Vec<String>, (String, FileOut)>,
    done: Vec<(Arc<dyn ObjectStore>, Path)>,
    kept: bool,
}

impl Files {
    /// Deletes the files completed, and drops the unfinished ones (an
    /// upload that is not completed leaves no object).
    async fn discard(mut self) {
        self.open.clear();
        for (store, path) in std::mem::take(&mut self.done) {
            delete_written(store, path).await;
        }
    }

    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        if self.kept || self.done.is_empty() {
            return;
        }
        let done = std::mem::take(&mut self.done);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for (store, path) in done {
                    delete_written(store, path).await;
                }
            });
        }
    }
}

async fn delete_written(store: Arc<dyn ObjectStore>, path: Path) {
    if let Err(e) = store.delete(&path).await {
        log::warn!("a failed INSERT could not delete its file {path}: {e}");
    }
}

impl DisplayAs for HiveInsert {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "HiveInsert: table={} format={}", self.name, self.format.name())
    }
}

impl ExecutionPlan for HiveInsert {
    fn name(&self) -> &str {
        "HiveInsert"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![Distribution::SinglePartition]
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        vec![self.ordering.clone().map(OrderingRequirements::from)]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[Arc<dyn ExecutionPlan>; 1]>::try_from(children)
            .map_err(|_| datafusion::error::DataFusionError::Internal("HiveInsert takes one input".into()))?;
        Ok(Arc::new(HiveInsert { input, ..(*self).clone() }))
    }

    fn execute(&self, _partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let this = self.clone();
        let rows = async move {
            let rows = this.run(context).await.map_err(Error::into_datafusion)?;
            Ok(RecordBatch::try_new(count_schema(), vec![Arc::new(UInt64Array::from(vec![rows]))])?)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(count_schema(), futures::stream::once(rows))))
    }
}

/// What CTAS and UNLOAD write (Athena's WITH options): a table of files
/// in a format, at a location, maybe partitioned. It is written, never
/// read, through [`insert`].
#[derive(Debug)]
pub struct WriteTarget {
    table: Table,
    catalog: Option<Arc<dyn Metastore>>,
    schema: SchemaRef,
}

impl WriteTarget {
    /// The files of `table` (its data columns, then its partition keys);
    /// `catalog` registers its new partitions (None: UNLOAD's, which are
    /// registered nowhere).
    pub fn new(table: Table, catalog: Option<Arc<dyn Metastore>>) -> crate::error::Result<WriteTarget> {
        let data = super::table_schema(&table)?;
        let mut fields: Vec<Field> = data.fields().iter().map(|f| f.as_ref().clone()).collect();
        for key in &table.partition_keys {
            fields.push(Field::new(&key.name, crate::catalog::types::hive_to_arrow(&key.data_type)?, true));
        }
        // The format and its options are checked before anything is made.
        Encoding::of(&table)?;
        Ok(WriteTarget { table, catalog, schema: Arc::new(Schema::new(fields)) })
    }
}

#[async_trait::async_trait]
impl datafusion::catalog::TableProvider for WriteTarget {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::Internal("the files a statement writes are not read by it".into()))
    }

    async fn insert_into(
        &self,
        _state: &dyn datafusion::catalog::Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        insert(self.table.clone(), self.catalog.clone(), self.schema(), input, op)
    }
}

/// Athena's file options of CTAS and UNLOAD (`format`, `write_compression`
/// or `compression`, `field_delimiter`) as a Hive table's storage
/// descriptor and the properties the writer reads: PARQUET by default,
/// TEXTFILE delimited by `\001` unless told.
pub fn athena_storage(
    format: Option<&str>,
    compression: Option<&str>,
    field_delimiter: Option<&str>,
) -> crate::error::Result<(crate::catalog::StorageDescriptor, crate::catalog::Parameters)> {
    use super::format::{storage_for, StoredAs};
    let format = format.unwrap_or("PARQUET").to_ascii_uppercase();
    let stored = match format.as_str() {
        "PARQUET" => StoredAs::Parquet,
        "ORC" => StoredAs::Orc,
        "TEXTFILE" => StoredAs::TextFile,
        "JSON" => StoredAs::Json,
        other => {
            return Err(Error::new(
                SqlState::FeatureNotSupported,
                format!("format '{other}' is not supported; glaux writes PARQUET, ORC, TEXTFILE and JSON"),
            ))
        }
    };
    let mut serde = crate::catalog::Parameters::new();
    match (stored, field_delimiter) {
        (StoredAs::TextFile, delimiter) => {
            serde.insert("field.delim".into(), delimiter.unwrap_or("\u{1}").to_string());
        }
        (_, Some(_)) => {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!("field_delimiter is for TEXTFILE; format '{format}' has none"),
            ))
        }
        (_, None) => {}
    }
    let mut properties = crate::catalog::Parameters::new();
    let compression = compression.map(str::to_ascii_lowercase).filter(|c| c != "none" && c != "uncompressed");
    if let Some(codec) = compression {
        match stored {
            StoredAs::Parquet => {
                properties.insert("write_compression".into(), codec.to_ascii_uppercase());
            }
            StoredAs::TextFile | StoredAs::Json => {
                properties.insert(COMPRESSION_KEY.into(), codec);
            }
            StoredAs::Orc => {
                return Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("glaux writes ORC files uncompressed; compression '{codec}' is not supported"),
                ))
            }
        }
    }
    Ok((storage_for(stored, None, serde), properties))
}
