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
//!   property (SNAPPY by default), streamed to the store.
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

use super::format::{collection_delimiter, null_marker, TableFormat, COMPRESSION_KEY};
use super::partitioned::DEFAULT_PARTITION;
use crate::catalog::model::now;
use crate::catalog::{Metastore, Partition, Table};
use crate::error::{Error, SqlState};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array, UInt64Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::parsers::CompressionTypeVariant;
use datafusion::common::Result;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::{Compression, GzipLevel, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_expr::{Distribution, EquivalenceProperties};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Timestamps as Hive writes them in text.
const HIVE_TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.f";

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
    Ok(Arc::new(HiveInsert { name, table, catalog, schema, format, input, properties }))
}

fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("count", DataType::UInt64, false)]))
}

/// How rows become a file's bytes.
#[derive(Debug, Clone)]
enum Encoding {
    Parquet(Compression),
    Orc,
    /// LazySimpleSerDe: field and collection delimiters, NULL marker.
    Text {
        fields: String,
        items: String,
        null: String,
        /// The reader's escape character (`escape.delim`), if any.
        escape: Option<char>,
        /// Whether files start with a header line.
        header: bool,
        compression: CompressionTypeVariant,
    },
    /// OpenCSVSerde.
    Csv {
        separator: u8,
        quote: u8,
        escape: u8,
        header: bool,
        compression: CompressionTypeVariant,
    },
    Json(CompressionTypeVariant),
}

impl Encoding {
    fn of(table: &Table) -> crate::error::Result<Encoding> {
        let format = TableFormat::of_table(table)?;
        let serde = table.storage_descriptor.serde_info.serialization_library.as_deref().unwrap_or("");
        Ok(match &format {
            TableFormat::Parquet => Encoding::Parquet(parquet_compression(table)?),
            TableFormat::Orc => Encoding::Orc,
            TableFormat::Json(compression) => Encoding::Json(*compression),
            TableFormat::Csv(options) if serde.to_ascii_lowercase().contains("opencsv") => Encoding::Csv {
                separator: options.delimiter,
                quote: options.quote,
                escape: options.escape.unwrap_or(b'\\'),
                header: options.has_header == Some(true),
                compression: options.compression,
            },
            TableFormat::Csv(options) => Encoding::Text {
                fields: char::from(options.delimiter).to_string(),
                items: collection_delimiter(table),
                null: null_marker(table, &format).unwrap_or_default(),
                escape: options.escape.map(char::from),
                header: options.has_header == Some(true),
                compression: options.compression,
            },
        })
    }

    /// Refuses a column the encoding cannot write, before anything is.
    fn check(&self, table: &str, field: &Field) -> crate::error::Result<()> {
        let nested = matches!(field.data_type(), DataType::Struct(_) | DataType::Map(..));
        let list = matches!(field.data_type(), DataType::List(_) | DataType::LargeList(_));
        let writable = match self {
            Encoding::Parquet(_) | Encoding::Json(_) => true,
            Encoding::Orc => matches!(
                field.data_type(),
                DataType::Boolean
                    | DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::Float32
                    | DataType::Float64
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Binary
                    | DataType::LargeBinary
            ),
            Encoding::Text { .. } => !nested && !matches!(field.data_type(), DataType::Binary | DataType::LargeBinary),
            Encoding::Csv { .. } => !nested && !list,
        };
        if writable {
            return Ok(());
        }
        Err(Error::new(
            SqlState::FeatureNotSupported,
            format!(
                "cannot insert into table {table}: glaux cannot yet write column {} of type {} in its {} files",
                field.name(),
                field.data_type(),
                self.name()
            ),
        ))
    }

    fn name(&self) -> &'static str {
        match self {
            Encoding::Parquet(_) => "Parquet",
            Encoding::Orc => "ORC",
            Encoding::Text { .. } => "text (LazySimpleSerDe)",
            Encoding::Csv { .. } => "CSV (OpenCSVSerde)",
            Encoding::Json(_) => "JSON",
        }
    }

    /// The file name's extension.
    fn extension(&self) -> String {
        let (base, compression) = match self {
            Encoding::Parquet(_) => return ".parquet".to_string(),
            Encoding::Orc => return ".orc".to_string(),
            Encoding::Text { compression, .. } => ("", *compression),
            Encoding::Csv { compression, .. } => (".csv", *compression),
            Encoding::Json(compression) => (".json", *compression),
        };
        let compressed = match compression {
            CompressionTypeVariant::GZIP => ".gz",
            CompressionTypeVariant::ZSTD => ".zst",
            CompressionTypeVariant::BZIP2 => ".bz2",
            CompressionTypeVariant::XZ => ".xz",
            CompressionTypeVariant::UNCOMPRESSED => "",
        };
        format!("{base}{compressed}")
    }
}

/// The Parquet compression a table asks for.
fn parquet_compression(table: &Table) -> crate::error::Result<Compression> {
    let keys = ["write_compression", "parquet.compression", COMPRESSION_KEY];
    let value = keys.iter().find_map(|k| table.parameters.get(*k)).map(|v| v.to_ascii_uppercase());
    Ok(match value.as_deref() {
        None | Some("SNAPPY") => Compression::SNAPPY,
        Some("NONE" | "UNCOMPRESSED") => Compression::UNCOMPRESSED,
        Some("GZIP") => Compression::GZIP(GzipLevel::default()),
        Some("ZSTD") => Compression::ZSTD(ZstdLevel::default()),
        Some("LZ4") => Compression::LZ4_RAW,
        Some(other) => {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!("Parquet compression {other:?} is not supported; use SNAPPY, GZIP, ZSTD, LZ4 or NONE"),
            ))
        }
    })
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

/// One file being written.
struct FileOut {
    store: Arc<dyn ObjectStore>,
    path: Path,
    sink: Sink,
}

enum Sink {
    Parquet(Box<AsyncArrowWriter<Box<dyn AsyncWrite + Send + Unpin>>>),
    /// ORC: the batches are kept, and encoded when the file closes
    /// (orc-rust's writer cannot be held across an await).
    Orc(Vec<RecordBatch>, SchemaRef, Box<dyn AsyncWrite + Send + Unpin>),
    Bytes(Box<dyn AsyncWrite + Send + Unpin>),
}

impl FileOut {
    async fn open(
        context: &TaskContext,
        location: &str,
        format: &Encoding,
        schema: SchemaRef,
    ) -> crate::error::Result<FileOut> {
        let url = super::store::listing_url(location)?;
        let store = context.runtime_env().object_store(url.object_store())?;
        let path = url.prefix().clone();
        let upload = object_store::buffered::BufWriter::new(Arc::clone(&store), path.clone());
        let compression = match format {
            Encoding::Text { compression, .. } | Encoding::Csv { compression, .. } | Encoding::Json(compression) => {
                *compression
            }
            _ => CompressionTypeVariant::UNCOMPRESSED,
        };
        let writer = FileCompressionType::from(compression).convert_async_writer(upload)?;
        let sink = match format {
            Encoding::Parquet(compression) => {
                let properties = WriterProperties::builder().set_compression(*compression).build();
                let parquet = AsyncArrowWriter::try_new(writer, schema, Some(properties))
                    .map_err(|e| Error::new(SqlState::IoError, format!("cannot start Parquet file {location}: {e}")))?;
                Sink::Parquet(Box::new(parquet))
            }
            Encoding::Orc => Sink::Orc(Vec::new(), schema, writer),
            Encoding::Text { fields: separator, header: true, .. } => {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                Sink::Bytes(with_header(writer, format!("{}\n", names.join(separator)), location).await?)
            }
            Encoding::Csv { separator, quote, header: true, .. } => {
                let quote = char::from(*quote);
                let names: Vec<String> =
                    schema.fields().iter().map(|f| format!("{quote}{}{quote}", f.name())).collect();
                let line = format!("{}\n", names.join(&char::from(*separator).to_string()));
                Sink::Bytes(with_header(writer, line, location).await?)
            }
            _ => Sink::Bytes(writer),
        };
        Ok(FileOut { store, path, sink })
    }

    async fn write(&mut self, format: &Encoding, batch: &RecordBatch) -> crate::error::Result<()> {
        let failed = |e: String| Error::new(SqlState::IoError, format!("cannot write {}: {e}", self.path));
        match &mut self.sink {
            Sink::Parquet(writer) => writer.write(batch).await.map_err(|e| failed(e.to_string())),
            Sink::Orc(batches, _, _) => {
                batches.push(batch.clone());
                Ok(())
            }
            Sink::Bytes(out) => {
                let bytes = encode(format, batch)?;
                out.write_all(&bytes).await.map_err(|e| failed(e.to_string()))
            }
        }
    }

    /// Completes the file: only now does it appear in the store.
    async fn close(self) -> crate::error::Result<()> {
        let failed = |e: String| Error::new(SqlState::IoError, format!("cannot complete {}: {e}", self.path));
        match self.sink {
            Sink::Parquet(writer) => writer.close().await.map(|_| ()).map_err(|e| failed(e.to_string())),
            Sink::Orc(batches, schema, mut out) => {
                let bytes = orc_file(batches, schema).map_err(|e| failed(e.to_string()))?;
                out.write_all(&bytes).await.map_err(|e| failed(e.to_string()))?;
                out.shutdown().await.map_err(|e| failed(e.to_string()))
            }
            Sink::Bytes(mut out) => out.shutdown().await.map_err(|e| failed(e.to_string())),
        }
    }
}

/// `writer` after a header line (for a table that skips one, so that no
/// row is taken for it).
async fn with_header(
    mut writer: Box<dyn AsyncWrite + Send + Unpin>,
    line: String,
    location: &str,
) -> crate::error::Result<Box<dyn AsyncWrite + Send + Unpin>> {
    writer
        .write_all(line.as_bytes())
        .await
        .map_err(|e| Error::new(SqlState::IoError, format!("cannot write {location}: {e}")))?;
    Ok(writer)
}

/// `batches` as the bytes of one ORC file.
fn orc_file(batches: Vec<RecordBatch>, schema: SchemaRef) -> orc_rust::error::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut writer = orc_rust::arrow_writer::ArrowWriterBuilder::new(&mut bytes, schema).try_build()?;
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(bytes)
}

/// A batch as the bytes of a text, CSV or JSON file.
fn encode(format: &Encoding, batch: &RecordBatch) -> crate::error::Result<Vec<u8>> {
    let failed = |e: datafusion::arrow::error::ArrowError| Error::from(DataFusionError::from(e));
    match format {
        Encoding::Text { fields, items, null, escape, .. } => text(batch, fields, items, null, *escape),
        Encoding::Csv { separator, quote, escape, .. } => {
            // The writer escapes quotes but not the escape character
            // itself, which the reader would take as one.
            let batch = &escaped(batch, char::from(*escape))?;
            let mut out = Vec::new();
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(false)
                .with_delimiter(*separator)
                .with_quote(*quote)
                .with_escape(*escape)
                .with_double_quote(false)
                .with_timestamp_format(HIVE_TIMESTAMP.to_string())
                .build(&mut out);
            writer.write(batch).map_err(failed)?;
            drop(writer);
            Ok(out)
        }
        Encoding::Json(_) => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(Vec::new());
            writer.write(batch).map_err(failed)?;
            writer.finish().map_err(failed)?;
            Ok(writer.into_inner())
        }
        Encoding::Parquet(_) | Encoding::Orc => Err(Error::internal("a binary format encoded as text")),
    }
}

/// `batch` with `escape` doubled in its string columns.
fn escaped(batch: &RecordBatch, escape: char) -> crate::error::Result<RecordBatch> {
    let doubled = format!("{escape}{escape}");
    let mut columns = Vec::with_capacity(batch.num_columns());
    for column in batch.columns() {
        let column = match column.data_type() {
            DataType::Utf8 => {
                let strings = column.as_string::<i32>();
                let mapped: datafusion::arrow::array::StringArray =
                    strings.iter().map(|v| v.map(|v| v.replace(escape, &doubled))).collect();
                Arc::new(mapped) as ArrayRef
            }
            DataType::LargeUtf8 | DataType::Utf8View => {
                let text = datafusion::arrow::compute::cast(column, &DataType::Utf8).map_err(DataFusionError::from)?;
                let strings = text.as_string::<i32>();
                let mapped: datafusion::arrow::array::StringArray =
                    strings.iter().map(|v| v.map(|v| v.replace(escape, &doubled))).collect();
                Arc::new(mapped) as ArrayRef
            }
            _ => Arc::clone(column),
        };
        columns.push(column);
    }
    let fields: Vec<Field> = batch
        .schema_ref()
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
        .collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(DataFusionError::from)?)
}

/// LazySimpleSerDe's text: one line per row, fields joined by `fields`,
/// an array's items by `items`, NULL as `null`.
fn text(
    batch: &RecordBatch,
    fields: &str,
    items: &str,
    null: &str,
    escape: Option<char>,
) -> crate::error::Result<Vec<u8>> {
    let options = FormatOptions::default().with_timestamp_format(Some(HIVE_TIMESTAMP));
    let failed = |e: datafusion::arrow::error::ArrowError| Error::from(DataFusionError::from(e));
    // (NUL is the reader's quote character: none.)
    let special: Vec<char> = fields.chars().chain(items.chars()).chain(['\n', '\r', '\0']).chain(escape).collect();
    let clean = |value: String, column: &str| -> crate::error::Result<String> {
        if !value.contains(|c| special.contains(&c)) {
            return Ok(value);
        }
        Err(Error::new(
            SqlState::BadCopyFileFormat,
            format!(
                "a value of column {column} holds the table's field or collection delimiter, its escape \
                 character, a NUL or a line break, which its text files cannot hold (glaux writes no escapes)"
            ),
        ))
    };
    enum Column<'a> {
        Plain(ArrayFormatter<'a>),
        List(&'a dyn Array),
    }
    let columns: Vec<Column> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::List(_) | DataType::LargeList(_) => Ok(Column::List(c.as_ref())),
            _ => Ok(Column::Plain(ArrayFormatter::try_new(c.as_ref(), &options).map_err(failed)?)),
        })
        .collect::<crate::error::Result<_>>()?;
    let names: Vec<&String> = batch.schema_ref().fields().iter().map(|f| f.name()).collect();
    let mut out = String::new();
    for row in 0..batch.num_rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push_str(fields);
            }
            let array = batch.column(i);
            if array.is_null(row) {
                out.push_str(null);
                continue;
            }
            match column {
                Column::Plain(format) => out.push_str(&clean(format.value(row).to_string(), names[i])?),
                Column::List(list) => {
                    let values = match list.data_type() {
                        DataType::List(_) => list.as_list::<i32>().value(row),
                        _ => list.as_list::<i64>().value(row),
                    };
                    let format = ArrayFormatter::try_new(values.as_ref(), &options).map_err(failed)?;
                    for item in 0..values.len() {
                        if item > 0 {
                            out.push_str(items);
                        }
                        if values.is_null(item) {
                            out.push_str(null);
                        } else {
                            out.push_str(&clean(format.value(item).to_string(), names[i])?);
                        }
                    }
                }
            }
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
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
