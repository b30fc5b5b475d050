//! What a query will read, before it runs: the pre-flight check of a
//! workgroup's cutoff and EXPLAIN's `scan_estimate` line. Each file a
//! scan lists (after partition pruning) counts whole, except Parquet
//! files, which count the compressed column chunks of the columns read,
//! from their footers, and Iceberg scans, which count the metadata they
//! read while planning and, for the files their manifests kept, what the
//! manifests' column sizes say (`iceberg::table`). A footer DataFusion has not cached yet is read
//! here (through the query's metered stores) and cached, so the scan
//! does not read it again.

use datafusion::common::Result;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::datasource::physical_plan::{FileScanConfig, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::cache::cache_manager::FileMetadataCache;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::physical_plan::limit::{GlobalLimitExec, LocalLimitExec};
use datafusion::physical_plan::ExecutionPlan;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use std::sync::Arc;

/// Footers read at once.
const FOOTER_READS: usize = 16;

/// What a plan's scans are expected to read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// The expected bytes, if nothing is pruned at run time.
    pub bytes: u64,
    /// Whether run-time pruning or a LIMIT may read less (a predicate on
    /// a Parquet scan, a limit anywhere).
    pub may_read_less: bool,
}

/// The scan estimate of a physical plan.
pub async fn estimate(plan: &Arc<dyn ExecutionPlan>, runtime: &RuntimeEnv) -> Result<Estimate> {
    let mut out = Estimate::default();
    let mut nodes = vec![Arc::clone(plan)];
    while let Some(node) = nodes.pop() {
        let any = node.as_any();
        out.may_read_less |= node.fetch().is_some() || any.is::<GlobalLimitExec>() || any.is::<LocalLimitExec>();
        let scan = node
            .as_any()
            .downcast_ref::<DataSourceExec>()
            .and_then(|d| d.data_source().as_any().downcast_ref::<FileScanConfig>());
        if let Some(iceberg) = node.as_any().downcast_ref::<crate::iceberg::table::IcebergScan>() {
            out.bytes += iceberg.estimated_bytes();
            out.may_read_less |= iceberg.may_read_less();
        }
        if let Some(config) = scan {
            let parquet = config.file_source().as_any().is::<ParquetSource>();
            out.may_read_less |= config.limit.is_some() || (parquet && config.file_source().filter().is_some());
            out.bytes += if parquet { parquet_bytes(&node, config, runtime).await? } else { listed_bytes(config) };
        }
        nodes.extend(node.children().into_iter().cloned());
    }
    Ok(out)
}

/// A file's share of a scan: its byte range, else the whole file.
fn range_size(file: &PartitionedFile) -> u64 {
    file.range.as_ref().map_or(file.object_meta.size, |r| (r.end - r.start).max(0) as u64)
}

fn listed_bytes(config: &FileScanConfig) -> u64 {
    config.file_groups.iter().flat_map(|g| g.files()).map(range_size).sum()
}

/// The column chunks a Parquet scan reads: those of its output columns,
/// in the row groups of each file range.
async fn parquet_bytes(node: &Arc<dyn ExecutionPlan>, config: &FileScanConfig, runtime: &RuntimeEnv) -> Result<u64> {
    let output = node.schema();
    let file_schema = config.file_schema();
    let columns: Arc<[usize]> = output.fields().iter().filter_map(|f| file_schema.index_of(f.name()).ok()).collect();
    let store = runtime.object_store(&config.object_store_url)?;
    let cache = runtime.cache_manager.get_file_metadata_cache();
    let reads: Vec<_> = config
        .file_groups
        .iter()
        .flat_map(|g| g.files())
        .map(|file| {
            let footer = Footer { store: Arc::clone(&store), cache: Arc::clone(&cache), file: file.clone() };
            footer.chunk_bytes(Arc::clone(&columns), file_schema.fields().len())
        })
        .collect();
    let sizes: Vec<u64> = futures::stream::iter(reads).buffer_unordered(FOOTER_READS).try_collect().await?;
    Ok(sizes.into_iter().sum())
}

/// One Parquet file range of a scan, and where its footer is.
struct Footer {
    store: Arc<dyn ObjectStore>,
    cache: Arc<dyn FileMetadataCache>,
    file: PartitionedFile,
}

impl Footer {
    /// The compressed size of `columns` (indexes among `fields` file
    /// columns) in the row groups of this range: a row group belongs to
    /// the range its first page starts in, as DataFusion assigns them.
    async fn chunk_bytes(self, columns: Arc<[usize]>, fields: usize) -> Result<u64> {
        let footer: Arc<ParquetMetaData> = DFParquetMetadata::new(self.store.as_ref(), &self.file.object_meta)
            .with_file_metadata_cache(Some(self.cache))
            .with_metadata_size_hint(Some(super::format::PARQUET_FOOTER_READ))
            .fetch_metadata()
            .await?;
        // Flat files have one column chunk per column; for nested ones
        // every chunk counts.
        let flat = footer.file_metadata().schema_descr().num_columns() == fields;
        let range = self.file.range.as_ref();
        Ok(footer
            .row_groups()
            .iter()
            .filter(|rg| {
                let first = rg.column(0);
                let start = first.dictionary_page_offset().unwrap_or_else(|| first.data_page_offset());
                range.is_none_or(|r| r.contains(start))
            })
            .flat_map(|rg| rg.columns().iter().enumerate())
            .filter(|(i, _)| !flat || columns.contains(i))
            .map(|(_, c)| c.compressed_size().max(0) as u64)
            .sum())
    }
}
