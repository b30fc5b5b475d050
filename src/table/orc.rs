//! ORC as a DataFusion `FileFormat`, wrapping orc-rust's async reader over
//! object_store (orc-rust ships no DataFusion integration).
//!
//! Columns are matched by name, so files that lack a column read it as NULL
//! and files with a narrower type are cast to the table's type.

use bytes::Bytes;
use datafusion::arrow::array::{new_null_array, ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{not_impl_err, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileOpenFuture, FileOpener, FileScanConfig, FileSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_datasource::projection::{ProjectionOpener, SplitProjection};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use orc_rust::projection::ProjectionMask;
use orc_rust::reader::AsyncChunkReader;
use orc_rust::statistics::ColumnStatistics;
use orc_rust::ArrowReaderBuilder;
use std::any::Any;
use std::sync::Arc;

/// Reads ORC files.
#[derive(Debug, Default)]
pub struct OrcFormat;

fn orc_error(meta: &ObjectMeta, e: orc_rust::error::OrcError) -> DataFusionError {
    DataFusionError::Execution(format!("ORC file {} is unreadable: {e}", meta.location))
}

async fn open_reader(store: Arc<dyn ObjectStore>, meta: ObjectMeta) -> Result<ArrowReaderBuilder<ObjectStoreReader>> {
    ArrowReaderBuilder::try_new_async(ObjectStoreReader { store, meta: meta.clone() })
        .await
        .map_err(|e| orc_error(&meta, e))
}

/// What an ORC file's footer says: its schema (as Arrow), its rows, and
/// the statistics of each top-level column, by name.
pub struct OrcFooter {
    pub schema: SchemaRef,
    pub rows: u64,
    pub columns: Vec<(String, ColumnStatistics)>,
}

/// Reads the footer of the ORC file `meta` of `store`.
pub async fn footer(store: Arc<dyn ObjectStore>, meta: ObjectMeta) -> Result<OrcFooter> {
    let builder = open_reader(store, meta).await?;
    let metadata = builder.file_metadata();
    let statistics = metadata.column_file_statistics();
    let columns = metadata
        .root_data_type()
        .children()
        .iter()
        .filter_map(|c| Some((c.name().to_string(), statistics.get(c.data_type().column_index())?.clone())))
        .collect();
    Ok(OrcFooter { schema: builder.schema(), rows: metadata.number_of_rows(), columns })
}

#[async_trait::async_trait]
impl FileFormat for OrcFormat {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn get_ext(&self) -> String {
        "orc".into()
    }

    fn get_ext_with_compression(&self, c: &FileCompressionType) -> Result<String> {
        if c.is_compressed() {
            not_impl_err!("ORC files compress internally; whole-file compression is not supported")
        } else {
            Ok("orc".into())
        }
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        None
    }

    async fn infer_schema(
        &self,
        _state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        let mut schemas = Vec::with_capacity(objects.len());
        for object in objects {
            let builder = open_reader(Arc::clone(store), object.clone()).await?;
            schemas.push(builder.schema().as_ref().clone().with_metadata(Default::default()));
        }
        Ok(Arc::new(Schema::try_merge(schemas)?))
    }

    async fn infer_stats(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        _object: &ObjectMeta,
    ) -> Result<Statistics> {
        Ok(Statistics::new_unknown(&table_schema))
    }

    async fn create_physical_plan(&self, _state: &dyn Session, conf: FileScanConfig) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(DataSourceExec::from_data_source(conf))
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        Arc::new(OrcSource::new(table_schema))
    }
}

#[derive(Clone)]
struct OrcSource {
    table_schema: TableSchema,
    batch_size: Option<usize>,
    metrics: ExecutionPlanMetricsSet,
    projection: SplitProjection,
}

impl OrcSource {
    fn new(table_schema: TableSchema) -> Self {
        OrcSource {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            batch_size: None,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl FileSource for OrcSource {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        _config: &FileScanConfig,
        _partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let file_schema = self.table_schema.file_schema();
        let inner: Arc<dyn FileOpener> = Arc::new(OrcOpener {
            store,
            batch_size: self.batch_size.unwrap_or(8192),
            projected: Arc::new(file_schema.project(&self.projection.file_indices)?),
        });
        ProjectionOpener::try_new(self.projection.clone(), inner, file_schema)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        let mut s = self.clone();
        s.batch_size = Some(batch_size);
        Arc::new(s)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn file_type(&self) -> &str {
        "orc"
    }

    fn supports_repartitioning(&self) -> bool {
        false
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn try_pushdown_projection(&self, projection: &ProjectionExprs) -> Result<Option<Arc<dyn FileSource>>> {
        let mut s = self.clone();
        let merged = self.projection.source.try_merge(projection)?;
        s.projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(s)))
    }
}

struct OrcOpener {
    store: Arc<dyn ObjectStore>,
    batch_size: usize,
    projected: SchemaRef,
}

impl FileOpener for OrcOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let (store, projected, batch_size) = (Arc::clone(&self.store), Arc::clone(&self.projected), self.batch_size);
        Ok(Box::pin(async move {
            let meta = file.object_meta.clone();
            let builder = open_reader(store, meta.clone()).await?;
            let names: Vec<&str> = projected.fields().iter().map(|f| f.name().as_str()).collect();
            let mask = ProjectionMask::named_roots(builder.file_metadata().root_data_type(), &names);
            let reader = builder.with_projection(mask).with_batch_size(batch_size).build_async();
            Ok(reader
                .map(move |batch| {
                    let batch = batch.map_err(|e| {
                        DataFusionError::Execution(format!("ORC file {} is unreadable: {e}", meta.location))
                    })?;
                    align(&batch, &projected)
                })
                .boxed())
        }))
    }
}

/// Reorder, cast and null-fill a batch's columns to the projected schema.
fn align(batch: &RecordBatch, projected: &SchemaRef) -> Result<RecordBatch> {
    let columns = projected
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(col) if col.data_type() == field.data_type() => Ok(Arc::clone(col)),
            Some(col) => Ok(cast(col, field.data_type())?),
            None => Ok(new_null_array(field.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(Arc::clone(projected), columns, &options)?)
}

/// orc-rust's chunk reader over an object store.
struct ObjectStoreReader {
    store: Arc<dyn ObjectStore>,
    meta: ObjectMeta,
}

impl AsyncChunkReader for ObjectStoreReader {
    fn len(&mut self) -> BoxFuture<'_, std::io::Result<u64>> {
        let n = self.meta.size;
        async move { Ok(n) }.boxed()
    }

    fn get_bytes(&mut self, offset: u64, length: u64) -> BoxFuture<'_, std::io::Result<Bytes>> {
        async move {
            self.store.get_range(&self.meta.location, offset..offset + length).await.map_err(std::io::Error::other)
        }
        .boxed()
    }
}
