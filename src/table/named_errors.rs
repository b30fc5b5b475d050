//! Read errors that name their file.
//!
//! A lake table has hundreds of files; DataFusion's readers say what went
//! wrong (`Corrupt footer`, a CSV line with too few fields) but not where.
//! Just before a plan runs, [`name_files`] gives each file scan a source
//! whose opener adds the file's URL to every error its file raises (the
//! partition is in the path, `.../city=Paris/part-0.parquet`). The
//! SQLSTATE stays the error's own. Errors glaux raised itself (a
//! workgroup's cutoff) pass unchanged.
//!
//! Statistics are read while a query is planned (Parquet footers), before
//! any scan runs: [`NamedFormat`] names the file in those errors too.
//!
//! Values cast after the read (LazySimpleSerDe text tables, cast in a
//! projection above the scan) fail outside any one file and are not named.

use crate::error::{carries_glaux_error, classify_datafusion, Error};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::{FileFormat, FileMeta};

use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileOpenFuture, FileOpener, FileScanConfig, FileSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::projection::ProjectionExprs;
use datafusion::physical_plan::{DisplayFormatType, ExecutionPlan};
use futures::{FutureExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// `plan` with every file scan's errors naming their file.
pub fn name_files(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let scan = node.as_any().downcast_ref::<DataSourceExec>();
        let Some(config) = scan.and_then(|s| s.data_source().as_any().downcast_ref::<FileScanConfig>()) else {
            return Ok(Transformed::no(node));
        };
        let mut config = config.clone();
        config.file_source = Arc::new(Named { inner: Arc::clone(&config.file_source) });
        Ok(Transformed::yes(DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}

/// A file source whose openers name their file in errors; in everything
/// else it is the source it wraps.
struct Named {
    inner: Arc<dyn FileSource>,
}

impl FileSource for Named {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let inner = self.inner.create_file_opener(store, config, partition)?;
        Ok(Arc::new(NamedOpener { inner, store_url: config.object_store_url.as_str().to_string() }))
    }

    fn as_any(&self) -> &dyn Any {
        self.inner.as_any()
    }

    fn table_schema(&self) -> &TableSchema {
        self.inner.table_schema()
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Arc::new(Named { inner: self.inner.with_batch_size(batch_size) })
    }

    fn filter(&self) -> Option<Arc<dyn PhysicalExpr>> {
        self.inner.filter()
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        self.inner.projection()
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        self.inner.metrics()
    }

    fn file_type(&self) -> &str {
        self.inner.file_type()
    }

    fn fmt_extra(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.fmt_extra(t, f)
    }
}

struct NamedOpener {
    inner: Arc<dyn FileOpener>,
    /// `scheme://authority/` of the files' store.
    store_url: String,
}

impl FileOpener for NamedOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let name = format!("{}{}", self.store_url, file.object_meta.location);
        let opening = self.inner.open(file).map_err(|e| naming(e, &name))?;
        Ok(async move {
            let batches = opening.await.map_err(|e| naming(e, &name))?;
            Ok(Box::pin(batches.map_err(move |e| naming(e, &name))) as _)
        }
        .boxed())
    }
}

/// `e` with the file it happened in, keeping its SQLSTATE.
fn naming(e: DataFusionError, file: &str) -> DataFusionError {
    if carries_glaux_error(&e) {
        return e;
    }
    let state = classify_datafusion(&e);
    Error::new(state, format!("{} (in file {file})", Error::from(e))).into_datafusion()
}

/// A file format whose statistics errors name their file; in everything
/// else it is the format it wraps.
#[derive(Debug)]
pub struct NamedFormat {
    pub inner: Arc<dyn FileFormat>,
    /// `scheme://authority/` of the table's store.
    pub store_url: String,
}

#[async_trait::async_trait]
impl FileFormat for NamedFormat {
    fn as_any(&self) -> &dyn Any {
        self.inner.as_any()
    }

    fn get_ext(&self) -> String {
        self.inner.get_ext()
    }

    fn get_ext_with_compression(&self, compression: &FileCompressionType) -> Result<String> {
        self.inner.get_ext_with_compression(compression)
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        self.inner.compression_type()
    }

    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        self.inner.infer_schema(state, store, objects).await
    }

    async fn infer_stats(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        let stats = self.inner.infer_stats(state, store, table_schema, object).await;
        stats.map_err(|e| naming(e, &format!("{}{}", self.store_url, object.location)))
    }

    async fn infer_stats_and_ordering(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<FileMeta> {
        let meta = self.inner.infer_stats_and_ordering(state, store, table_schema, object).await;
        meta.map_err(|e| naming(e, &format!("{}{}", self.store_url, object.location)))
    }

    async fn create_physical_plan(&self, state: &dyn Session, conf: FileScanConfig) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.create_physical_plan(state, conf).await
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        self.inner.file_source(table_schema)
    }
}
