//! Tables: from a catalog entry ([`Table`]) to a DataFusion `TableProvider`.
//!
//! - [`format`]: StorageDescriptor <-> file format (Parquet, ORC, CSV, JSON).
//! - [`orc`]: the ORC `FileFormat`.
//! - [`metered`]: bytes read per scan (EXPLAIN ANALYZE's `bytes_read`).
//! - [`estimate`]: what a plan will read, before it runs.
//! - [`store`]: object stores per location, byte counting, hidden files.
//! - [`connector`]: a connector's table (what is sent to its source, what
//!   its rows cost); [`join_keys`]: a join's keys sent to the source
//!   ([`semi_keys`]: an IN subquery's too);
//!   [`source_query`]: joins, aggregates and ORDER BY ... LIMIT over one
//!   source's tables sent to it as one SELECT.
//!
//! - [`partitioned`]: `PARTITIONED BY` tables, read through their
//!   registered partitions, pruned before any file is listed.
//! - [`crawl`]: the crawler's survey of a location (datasets, formats,
//!   partition keys, merged columns).
//! - [`drift`]: a partition's own column list mapped onto the table's.
//! - [`text_values`]: a text table's values cast in their file's scan, so a
//!   bad value names its file.
//! - [`write`]: INSERT INTO external tables (new files, new partitions).
//! - [`projection`]: Athena partition projection (partitions computed from
//!   TBLPROPERTIES and the query's conditions); [`dateformat`]: its date
//!   patterns.
//!
//! External tables become DataFusion `ListingTable`s over the table's
//! LOCATION, with the catalog's columns as the schema (so planning never
//! opens a file). Must not depend on `engine`, `server` or `repl`.

pub mod connector;
pub mod crawl;
pub mod dateformat;
pub mod drift;
pub mod estimate;
pub mod factories;
pub mod format;
pub mod join_keys;
pub mod metered;
pub mod named_errors;
pub mod orc;
pub mod partitioned;
pub mod projection;
pub mod selective;
pub mod semi_keys;
pub mod source_query;
pub mod store;
pub mod text_values;
pub mod write;

use crate::catalog::types::{field_to_hive, hive_to_arrow, hive_to_field};
use crate::catalog::{Column, Table};
use crate::error::{Error, Result, SqlState};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::SessionConfig;
use format::TableFormat;
use futures::TryStreamExt;
use object_store::ObjectMeta;
use std::sync::Arc;

/// Where a scan reports what its client should know that is not an
/// error (a registered partition whose folder is missing). The engine
/// puts one in each query's `SessionConfig` and hands the messages on as
/// NOTICEs; without one they are logged.
pub struct ScanNotices(Box<dyn Fn(String) + Send + Sync>);

impl ScanNotices {
    pub fn new(sink: impl Fn(String) + Send + Sync + 'static) -> Self {
        ScanNotices(Box::new(sink))
    }

    /// Tell the client of the query `config` belongs to.
    pub fn notify(config: &SessionConfig, text: String) {
        match config.get_extension::<ScanNotices>() {
            Some(notices) => (notices.0)(text),
            None => log::info!("{text}"),
        }
    }
}

/// The LOCATION of a table as a listable URL.
fn table_url(table: &Table) -> Result<ListingTableUrl> {
    let location = table.storage_descriptor.location.as_deref().ok_or_else(|| {
        Error::new(
            SqlState::InvalidParameterValue,
            format!("table {}.{} has no LOCATION", table.database_name, table.name),
        )
    })?;
    store::listing_url(location)
}

/// A local LOCATION must exist; object-store prefixes may be empty.
fn check_local_location(table: &Table, url: &ListingTableUrl) -> Result<()> {
    if url.scheme() != "file" {
        return Ok(());
    }
    let exists = store::local_path(url).is_some_and(|p| p.exists());
    if !exists {
        return Err(Error::new(
            SqlState::IoError,
            format!(
                "LOCATION {} of table {}.{} does not exist; create the folder or point LOCATION at the data",
                table.storage_descriptor.location.as_deref().unwrap_or(""),
                table.database_name,
                table.name
            ),
        ));
    }
    Ok(())
}

/// `checks`: a text table's column types, checked in each file's scan.
fn listing_options(
    table: &Table,
    format: &TableFormat,
    config: &SessionConfig,
    checks: Option<Arc<text_values::Targets>>,
) -> Result<ListingOptions> {
    let partition_cols = table
        .partition_keys
        .iter()
        .map(|k| Ok((k.name.clone(), hive_to_arrow(&k.data_type)?)))
        .collect::<Result<Vec<_>>>()?;
    // Athena reads every file in the folder whatever its name; files whose
    // names start with '_' or '.' are hidden by the store (see `store`).
    let store_url = table_url(table)?.object_store().as_str().to_string();
    let format = named_errors::NamedFormat { inner: format.file_format(), store_url, checks };
    Ok(ListingOptions::new(Arc::new(format))
        .with_file_extension("")
        .with_table_partition_cols(partition_cols)
        .with_session_config_options(config))
}

/// The DataFusion table for an external (Hive-style) catalog table.
pub fn external_table(table: &Table, config: &SessionConfig) -> Result<Arc<dyn TableProvider>> {
    let format = TableFormat::of_table(table)?;
    let url = table_url(table)?;
    check_local_location(table, &url)?;
    let schema = table_schema(table)?;
    if let Some(marker) = format::null_marker(table, &format) {
        // Each file's values are cast in its own scan first, so a value
        // that will not cast is reported with its file (`text_values`).
        let checks = text_values::Targets::new(&schema, &marker);
        let options = listing_options(table, &format, config, Some(checks))?;
        let items = format::collection_delimiter(table);
        return with_null_marker(url, options, &schema, &marker, &items);
    }
    let options = listing_options(table, &format, config, None)?;
    let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// A LazySimpleSerDe table: its files are read as text columns, then each
/// value equal to the null marker (`\N`) becomes NULL and the rest are cast
/// to the column's type (a value that does not parse is an error, 22P02,
/// raised in its file's scan so that it names the file). An array's text
/// is split at `items` (COLLECTION ITEMS TERMINATED BY), each item cast.
fn with_null_marker(
    url: ListingTableUrl,
    options: ListingOptions,
    schema: &SchemaRef,
    marker: &str,
    items: &str,
) -> Result<Arc<dyn TableProvider>> {
    use datafusion::arrow::datatypes::{DataType, Field};
    use datafusion::common::{Column as ColumnRef, ScalarValue};
    use datafusion::datasource::{provider_as_source, ViewTable};
    use datafusion::logical_expr::expr::FieldMetadata;
    use datafusion::logical_expr::{cast, lit, when, Expr, LogicalPlanBuilder};
    let raw: Vec<Field> = schema.fields().iter().map(|f| Field::new(f.name(), DataType::Utf8, true)).collect();
    let partition_cols: Vec<String> = options.table_partition_cols.iter().map(|(n, _)| n.clone()).collect();
    let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(Arc::new(Schema::new(raw)));
    let listing: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config)?);
    let column = |name: &str| Expr::Column(ColumnRef::from_name(name));
    let mut exprs = Vec::new();
    for f in schema.fields() {
        let null = lit(ScalarValue::try_from(f.data_type())?);
        let value = match f.data_type() {
            DataType::Utf8 => column(f.name()),
            DataType::List(_) | DataType::LargeList(_) => {
                let parts =
                    datafusion::functions_nested::expr_fn::string_to_array(column(f.name()), lit(items), lit(marker));
                cast(parts, f.data_type().clone())
            }
            other => cast(column(f.name()), other.clone()),
        };
        // The field's metadata (a declared varchar(n)) survives the projection.
        let metadata = (!f.metadata().is_empty()).then(|| FieldMetadata::from(f.metadata().clone()));
        exprs.push(
            when(column(f.name()).eq(lit(marker)), null).otherwise(value)?.alias_with_metadata(f.name(), metadata),
        );
    }
    exprs.extend(partition_cols.iter().map(|n| column(n)));
    let plan = LogicalPlanBuilder::scan("files", provider_as_source(listing), None)?.project(exprs)?.build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// The Arrow schema of a table's data columns (partition keys excluded).
pub fn table_schema(table: &Table) -> Result<SchemaRef> {
    let fields = table
        .storage_descriptor
        .columns
        .iter()
        .map(|c| hive_to_field(&c.name, &c.data_type))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// The data files under a table's LOCATION (hidden and empty files excluded).
pub async fn data_files(table: &Table, state: &dyn Session) -> Result<Vec<ObjectMeta>> {
    let url = table_url(table)?;
    check_local_location(table, &url)?;
    let store = state.runtime_env().object_store(url.object_store())?;
    let files: Vec<ObjectMeta> = url.list_all_files(state, store.as_ref(), "").await?.try_collect().await?;
    Ok(files.into_iter().filter(|f| f.size > 0).collect())
}

/// Infer a table's columns from its files (CREATE EXTERNAL TABLE without a
/// column list). Partition keys are left out of the result.
pub async fn infer_columns(table: &Table, state: &dyn Session) -> Result<Vec<Column>> {
    let format = TableFormat::of_table(table)?;
    let url = table_url(table)?;
    check_local_location(table, &url)?;
    let options = listing_options(table, &format, state.config(), None)?;
    let schema = options.infer_schema(state, &url).await?;
    if schema.fields().is_empty() {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!(
                "cannot infer the columns of {}.{}: no data files under {}; list the columns in CREATE EXTERNAL TABLE",
                table.database_name, table.name, url
            ),
        ));
    }
    let partition_names: Vec<&str> = table.partition_keys.iter().map(|k| k.name.as_str()).collect();
    schema
        .fields()
        .iter()
        .filter(|f| !partition_names.contains(&f.name().as_str()))
        .map(|f| Ok(Column::new(f.name().to_ascii_lowercase(), field_to_hive(f)?)))
        .collect()
}
