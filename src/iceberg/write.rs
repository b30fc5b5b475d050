//! INSERT into an Iceberg table (and CREATE TABLE AS, which appends
//! its rows the same way).
//!
//! [`Append`] runs the input's partitions in parallel, each writing
//! Parquet data files with a [`RowWriter`] (one file per partition of the
//! table's current spec per writer, rolled at
//! `write.target-file-size-bytes`, compressed as the table says, with the
//! column metrics manifests carry), then appends them all in one
//! `fast_append` commit through glaux's catalog ([`super::commit`]);
//! a commit that loses to another writer is tried again on the winner's
//! snapshot (appends commute). For a partitioned table the input is
//! hash-partitioned on the partition source columns, so each partition's
//! rows go to one writer; an ordered input (ORDER BY) is written by one
//! writer in its order. The input is given the table's Arrow schema
//! ([`AsTableSchema`]): DataFusion's insert plan may say a column cannot
//! be null that the table lets be null, and a NULL bound for a required
//! column is 23502 naming it.
//!
//! [`write_rows`] writes rows as data files without committing them, for
//! the statements that commit them with more (UPDATE, `super::row_level`).

use super::commit::TableCatalog;
use super::row_level::count_schema;
use crate::catalog::Metastore;
use crate::error::{Error, SqlState};
use datafusion::arrow::array::{ArrayRef, UInt64Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{Distribution, EquivalenceProperties, LexOrdering, OrderingRequirements, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning, PlanProperties,
};
use futures::StreamExt;
use iceberg::arrow::{FieldMatchMode, RecordBatchPartitionSplitter};
use iceberg::spec::{DataFile, DataFileFormat, TableMetadata};
use iceberg::table::Table;
use iceberg::transaction::{ApplyTransactionAction, Transaction};
use iceberg::writer::base_writer::data_file_writer::DataFileWriterBuilder;
use iceberg::writer::file_writer::location_generator::{DefaultFileNameGenerator, DefaultLocationGenerator};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::partitioning::fanout_writer::FanoutWriter;
use iceberg::writer::partitioning::unpartitioned_writer::UnpartitionedWriter;
use iceberg::writer::partitioning::PartitioningWriter;
use std::any::Any;
use std::sync::Arc;

/// The plan that appends `input`'s rows to `database.table` (`name` is
/// both, for messages), whose metadata at planning is `metadata` and
/// Arrow schema `schema`.
pub fn insert(
    state: &dyn Session,
    metastore: &Arc<dyn Metastore>,
    name: &str,
    metadata: &TableMetadata,
    schema: SchemaRef,
    input: Arc<dyn ExecutionPlan>,
    op: InsertOp,
) -> Result<Arc<dyn ExecutionPlan>> {
    if op != InsertOp::Append {
        let why = format!("cannot overwrite Iceberg table {name}: INSERT appends rows");
        return Err(Error::new(SqlState::FeatureNotSupported, why).into_datafusion());
    }
    let (database, table) = name.split_once('.').unwrap_or(("", name));
    // The running statement's stores: what it writes is metered.
    let runtime = crate::table::metered::query_runtime(state.config(), state.runtime_env())?;
    let stores = Arc::clone(&runtime.object_store_registry);
    let catalog = Arc::new(TableCatalog::new(Arc::clone(metastore), stores, database, table));
    let input: Arc<dyn ExecutionPlan> = Arc::new(AsTableSchema::new(input, schema, name.to_string()));
    Ok(Arc::new(Append::new(input, catalog, metadata, name.to_string())))
}

/// The plan of an INSERT into an Iceberg table: writes its input's rows
/// as data files, one writer per input partition, and commits them in
/// one append; its output is the count of rows written.
#[derive(Debug)]
struct Append {
    input: Arc<dyn ExecutionPlan>,
    catalog: Arc<TableCatalog>,
    name: String,
    /// How the input is to be partitioned: on the partition source
    /// columns for a partitioned table, one partition for an ordered input.
    distribution: Distribution,
    ordering: Option<LexOrdering>,
    properties: Arc<PlanProperties>,
}

impl Append {
    /// Appends `input` (with the table's Arrow schema) to the table whose
    /// metadata was `metadata` when the statement was planned, as the
    /// table is when the plan runs.
    fn new(
        input: Arc<dyn ExecutionPlan>,
        catalog: Arc<TableCatalog>,
        metadata: &TableMetadata,
        name: String,
    ) -> Append {
        let ordering = input.properties().output_ordering().cloned();
        let distribution = if ordering.is_some() {
            Distribution::SinglePartition
        } else {
            partition_columns(metadata, &input.schema())
                .map(Distribution::HashPartitioned)
                .unwrap_or(Distribution::UnspecifiedDistribution)
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(count_schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Append { input, catalog, name, distribution, ordering, properties }
    }
}

/// The columns the table's current partition spec is computed from, as
/// expressions on `schema` (the input's); None when the table is not
/// partitioned or a source is not a top-level column.
fn partition_columns(metadata: &TableMetadata, schema: &SchemaRef) -> Option<Vec<Arc<dyn PhysicalExpr>>> {
    let spec = metadata.default_partition_spec();
    if spec.is_unpartitioned() {
        return None;
    }
    let current = metadata.current_schema();
    let mut columns: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
    for field in spec.fields() {
        let name = &current.as_struct().fields().iter().find(|f| f.id == field.source_id)?.name;
        let index = schema.index_of(name).ok()?;
        columns.push(Arc::new(Column::new(name, index)));
    }
    Some(columns)
}

impl DisplayAs for Append {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "IcebergAppend: table={}", self.name)
    }
}

impl ExecutionPlan for Append {
    fn name(&self) -> &str {
        "IcebergAppend"
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
        vec![self.distribution.clone()]
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        vec![self.ordering.clone().map(OrderingRequirements::from)]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("IcebergAppend has one input").into_datafusion())?;
        let (catalog, name) = (Arc::clone(&self.catalog), self.name.clone());
        let properties = Arc::clone(&self.properties);
        let (distribution, ordering) = (self.distribution.clone(), self.ordering.clone());
        Ok(Arc::new(Append { input, catalog, name, distribution, ordering, properties }))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(Error::internal(format!("IcebergAppend has one partition, not {partition}")).into_datafusion());
        }
        let (input, catalog, name) = (Arc::clone(&self.input), Arc::clone(&self.catalog), self.name.clone());
        let stream = futures::stream::once(async move {
            let statement = format!("INSERT INTO {name}");
            let table = catalog.current().await.map_err(|e| super::error(e, &statement).into_datafusion())?;
            // One writer per input partition, each on its own task.
            let writers: Vec<SpawnedTask<Result<Vec<DataFile>>>> = (0..input.output_partitioning().partition_count())
                .map(|part| {
                    let rows = input.execute(part, Arc::clone(&context));
                    let (table, statement) = (table.clone(), statement.clone());
                    SpawnedTask::spawn(async move { write_stream(&table, rows?, &statement).await })
                })
                .collect();
            let mut files = Vec::new();
            for writer in writers {
                files.extend(writer.join_unwind().await.map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??);
            }
            let count: u64 = files.iter().map(DataFile::record_count).sum();
            if !files.is_empty() {
                commit(&catalog, files, &statement).await.map_err(Error::into_datafusion)?;
            }
            let count: ArrayRef = Arc::new(UInt64Array::from(vec![count]));
            Ok(RecordBatch::try_new(count_schema(), vec![count])?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(count_schema(), stream)))
    }
}

/// Appends `files` to the table in one snapshot. A commit that loses to
/// another writer is applied again on the winner's snapshot, by
/// iceberg-rust's retries inside, up to [`super::snapshot::ATTEMPTS`]
/// times over, then 40001.
async fn commit(catalog: &TableCatalog, files: Vec<DataFile>, statement: &str) -> crate::error::Result<()> {
    let mut attempt = 1;
    loop {
        let table = catalog.current().await.map_err(|e| super::error(e, statement))?;
        let transaction = Transaction::new(&table);
        let append = transaction.fast_append().add_data_files(files.clone());
        let result = match append.apply(transaction) {
            Ok(transaction) => transaction.commit(catalog).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => return Ok(()),
            Err(e) if e.retryable() && attempt < super::snapshot::ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(6))).await;
                attempt += 1;
            }
            Err(e) => return Err(super::error(e, &format!("{statement} (after {attempt} attempts)"))),
        }
    }
}

/// Writes the rows of `rows` (with the table's Arrow schema) as new data
/// files of `table`.
async fn write_stream(table: &Table, mut rows: SendableRecordBatchStream, statement: &str) -> Result<Vec<DataFile>> {
    let fail = |e| super::error(e, statement).into_datafusion();
    let mut writer = RowWriter::new(table).map_err(fail)?;
    while let Some(batch) = rows.next().await {
        writer.write(batch?).await.map_err(fail)?;
    }
    writer.close().await.map_err(fail)
}

/// `batch` with the table's `schema` (the same columns and types); a
/// NULL in a required column is 23502.
pub fn as_table_schema(schema: &SchemaRef, table: &str, batch: RecordBatch) -> crate::error::Result<RecordBatch> {
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if !field.is_nullable() && column.null_count() > 0 {
            let why =
                format!("null value in column \"{}\" of Iceberg table {table}: the column is required", field.name());
            return Err(Error::new(SqlState::NotNullViolation, why));
        }
    }
    let batch = RecordBatch::try_new(Arc::clone(schema), batch.columns().to_vec());
    Ok(batch.map_err(datafusion::error::DataFusionError::from)?)
}

/// Writes `batches` (with the table's Arrow schema) as new data files of
/// `table` ([`RowWriter`]). The files are not part of the table until a
/// commit adds them.
pub async fn write_rows(table: &Table, batches: Vec<RecordBatch>) -> iceberg::Result<Vec<DataFile>> {
    let mut writer = RowWriter::new(table)?;
    for batch in batches {
        writer.write(batch).await?;
    }
    writer.close().await
}

type FileBuilder = DataFileWriterBuilder<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>;

/// Writes rows as new data files of a table, batch by batch: Parquet,
/// per the table's write properties, one file per partition of the
/// current spec (rolled at the target file size).
pub struct RowWriter {
    inner: Partitioned,
}

enum Partitioned {
    No(Box<UnpartitionedWriter<FileBuilder>>),
    Yes(Box<FanoutWriter<FileBuilder>>, Box<RecordBatchPartitionSplitter>),
}

/// The table property naming its data files' compression codec.
const PARQUET_CODEC: &str = "write.parquet.compression-codec";

/// How an Iceberg table's Parquet data files are written: its
/// `write.parquet.compression-codec` (zstd when unset, Iceberg's default),
/// glaux's page size (as for its other Parquet files) and the table's
/// content-defined chunking. (iceberg-rust's own `from_table_properties`
/// reads only the chunking, leaving the files uncompressed.)
fn parquet_properties(
    raw: &std::collections::HashMap<String, String>,
    table: &iceberg::spec::TableProperties,
) -> iceberg::Result<datafusion::parquet::file::properties::WriterProperties> {
    use datafusion::parquet::basic::{Compression, ZstdLevel};
    use datafusion::parquet::file::properties::CdcOptions;
    let codec = crate::table::write::parquet_codec(
        raw.get(PARQUET_CODEC).map(String::as_str),
        Compression::ZSTD(ZstdLevel::default()),
    )
    .map_err(|e| iceberg::Error::new(iceberg::ErrorKind::DataInvalid, format!("{PARQUET_CODEC}: {e}")))?;
    let chunking = table.cdc_enabled.then_some(CdcOptions {
        min_chunk_size: table.cdc_min_chunk_size,
        max_chunk_size: table.cdc_max_chunk_size,
        norm_level: table.cdc_norm_level,
    });
    Ok(crate::table::write::parquet_properties(codec).set_content_defined_chunking(chunking).build())
}

impl RowWriter {
    pub fn new(table: &Table) -> iceberg::Result<RowWriter> {
        let metadata = table.metadata();
        let properties = metadata.table_properties()?;
        let schema = Arc::clone(metadata.current_schema());
        let spec = Arc::clone(metadata.default_partition_spec());
        let parquet = ParquetWriterBuilder::new_with_match_mode(
            parquet_properties(metadata.properties(), &properties)?,
            Arc::clone(&schema),
            FieldMatchMode::Name,
        );
        let names = DefaultFileNameGenerator::new(uuid::Uuid::new_v4().to_string(), None, DataFileFormat::Parquet);
        let rolling = RollingFileWriterBuilder::new(
            parquet,
            properties.write_target_file_size_bytes,
            table.file_io().clone(),
            DefaultLocationGenerator::new(metadata)?,
            names,
        );
        let files = DataFileWriterBuilder::new(rolling);
        let inner = if spec.is_unpartitioned() {
            Partitioned::No(Box::new(UnpartitionedWriter::new(files)))
        } else {
            let splitter = RecordBatchPartitionSplitter::try_new_with_computed_values(schema, spec)?;
            Partitioned::Yes(Box::new(FanoutWriter::new(files)), Box::new(splitter))
        };
        Ok(RowWriter { inner })
    }

    /// Writes `batch`, with the table's Arrow schema.
    pub async fn write(&mut self, batch: RecordBatch) -> iceberg::Result<()> {
        match &mut self.inner {
            Partitioned::No(writer) => writer.write(batch).await,
            Partitioned::Yes(writer, splitter) => {
                for (key, part) in splitter.split(&batch)? {
                    writer.write(key, part).await?;
                }
                Ok(())
            }
        }
    }

    /// The data files written.
    pub async fn close(self) -> iceberg::Result<Vec<DataFile>> {
        match self.inner {
            Partitioned::No(writer) => writer.close().await,
            Partitioned::Yes(writer, _) => writer.close().await,
        }
    }
}

/// Its input, with the table's schema (the same columns and types, with
/// the table's nullability).
#[derive(Debug)]
struct AsTableSchema {
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    table: String,
    properties: Arc<PlanProperties>,
}

impl AsTableSchema {
    fn new(input: Arc<dyn ExecutionPlan>, schema: SchemaRef, table: String) -> AsTableSchema {
        // The input's order (the same columns at the same places).
        let ordering = input.output_ordering().cloned().map(|o| o.to_vec());
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new_with_orderings(Arc::clone(&schema), ordering),
            input.output_partitioning().clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        AsTableSchema { input, schema, table, properties }
    }
}

impl DisplayAs for AsTableSchema {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "AsTableSchema: table={}", self.table)
    }
}

impl ExecutionPlan for AsTableSchema {
    fn name(&self) -> &str {
        "AsTableSchema"
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

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("AsTableSchema has one input").into_datafusion())?;
        Ok(Arc::new(AsTableSchema::new(input, Arc::clone(&self.schema), self.table.clone())))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let (schema, table) = (Arc::clone(&self.schema), self.table.clone());
        let stream = self.input.execute(partition, context)?;
        let relabelled =
            stream.map(move |batch| as_table_schema(&schema, &table, batch?).map_err(Error::into_datafusion));
        Ok(Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&self.schema), relabelled)))
    }
}
