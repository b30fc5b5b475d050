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
//! A text table's values are cast above the scan, outside any one file;
//! `text_values` casts them first in each file's scan, so a value that
//! will not cast is named here too.

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
    wrap_sources(plan, Naming)
}

/// What a wrapped file source does to each file's opener.
pub(crate) trait OpenerWrap: Clone + Send + Sync + 'static {
    fn wrap(&self, inner: Arc<dyn FileOpener>, config: &FileScanConfig) -> Arc<dyn FileOpener>;
}

/// `plan` with every file scan's source wrapped by `wrap`.
pub(crate) fn wrap_sources<W: OpenerWrap>(plan: Arc<dyn ExecutionPlan>, wrap: W) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let scan = node.as_any().downcast_ref::<DataSourceExec>();
        let Some(config) = scan.and_then(|s| s.data_source().as_any().downcast_ref::<FileScanConfig>()) else {
            return Ok(Transformed::no(node));
        };
        let mut config = config.clone();
        config.file_source = Arc::new(Wrapped { inner: Arc::clone(&config.file_source), wrap: wrap.clone() });
        Ok(Transformed::yes(DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}

/// A file source whose openers are wrapped; in everything else it is the
/// source it wraps.
struct Wrapped<W> {
    inner: Arc<dyn FileSource>,
    wrap: W,
}

impl<W: OpenerWrap> FileSource for Wrapped<W> {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        Ok(self.wrap.wrap(self.inner.create_file_opener(store, config, partition)?, config))
    }

    fn as_any(&self) -> &dyn Any {
        self.inner.as_any()
    }

    fn table_schema(&self) -> &TableSchema {
        self.inner.table_schema()
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Arc::new(Wrapped { inner: self.inner.with_batch_size(batch_size), wrap: self.wrap.clone() })
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

    fn supports_repartitioning(&self) -> bool {
        self.inner.supports_repartitioning()
    }

    fn try_pushdown_projection(&self, projection: &ProjectionExprs) -> Result<Option<Arc<dyn FileSource>>> {
        let pushed = self.inner.try_pushdown_projection(projection)?;
        Ok(pushed.map(|inner| Arc::new(Wrapped { inner, wrap: self.wrap.clone() }) as _))
    }
}

/// Wraps openers to name their file in errors.
#[derive(Clone)]
struct Naming;

impl OpenerWrap for Naming {
    fn wrap(&self, inner: Arc<dyn FileOpener>, config: &FileScanConfig) -> Arc<dyn FileOpener> {
        Arc::new(NamedOpener { inner, store_url: config.object_store_url.as_str().to_string() })
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

/// A file format whose statistics errors name their file, and whose scans
/// check a text table's values (`checks`); in everything else it is the
/// format it wraps.
#[derive(Debug)]
pub struct NamedFormat {
    pub inner: Arc<dyn FileFormat>,
    /// `scheme://authority/` of the table's store.
    pub store_url: String,
    /// A text table's column types, checked in each file's scan.
    pub checks: Option<Arc<super::text_values::Targets>>,
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

    /// The inner format's scan (which rebuilds its own source from the
    /// configuration), then its source wrapped to check values.
    async fn create_physical_plan(&self, state: &dyn Session, conf: FileScanConfig) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.create_physical_plan(state, conf).await?;
        match &self.checks {
            Some(targets) => wrap_sources(plan, super::text_values::Checking(Arc::clone(targets))),
            None => Ok(plan),
        }
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        self.inner.file_source(table_schema)
    }
}
