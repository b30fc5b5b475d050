//! Apache Iceberg tables: reading them with iceberg-rust over glaux's own
//! object stores.
//!
//! An Iceberg table is a catalog entry with `table_type = ICEBERG` and
//! `metadata_location` pointing at its current metadata JSON (what Athena
//! and pyiceberg write into Glue). glaux's catalog owns that pointer; the
//! files are the table format's.
//!
//! - [`io`]: iceberg-rust's file IO over glaux's object stores, so every
//!   byte is read through the stores that meter it.
//! - [`table`]: the DataFusion table of one snapshot and its scan, which
//!   prunes data files with the query's filters before opening any.
//! - [`metadata_tables`]: `"t$snapshots"`, `$history`, `$refs`,
//!   `$manifests`, `$files`, `$partitions`.
//! - [`register`]: `CREATE EXTERNAL TABLE ... TBLPROPERTIES ('table_type'
//!   = 'ICEBERG')`, which registers a table another tool made.
//! - [`create`]: `CREATE TABLE ... TBLPROPERTIES ('table_type' =
//!   'ICEBERG')`, which writes a new, empty table's first metadata file.
//! - [`write`]: INSERT, which writes data files and appends them.
//! - [`row_level`]: DELETE and UPDATE, merge-on-read with position-delete
//!   files.
//! - [`snapshot`]: the commit of a row-level change (glaux's own: the
//!   library has no public one).
//! - [`alter`]: ALTER TABLE's schema evolution and properties.
//! - [`purge`]: the files `DROP TABLE ... PURGE` deletes.
//! - [`optimize`], [`vacuum`]: OPTIMIZE's compaction, VACUUM's expiry and
//!   deletion of the files nothing reaches.
//! - [`merge`]: MERGE INTO's target rows and their places.
//! - [`migrate`]: converting a Hive table to Iceberg in place.
//! - [`commit`]: glaux's catalog as the `iceberg::Catalog` commits go
//!   through, swapping the table's `metadata_location` atomically.
//!
//! Errors from iceberg-rust become glaux errors here ([`error`]): a file
//! that is missing is 58030, one that is not what Iceberg says it is
//! XX001, each naming the file.

pub mod alter;
pub mod commit;
pub mod create;
pub mod io;
pub mod merge;
pub mod metadata_tables;
pub mod migrate;
pub mod optimize;
mod orc;
pub mod purge;
pub mod register;
pub mod row_level;
pub mod snapshot;
pub mod table;
pub mod vacuum;
pub mod write;

use crate::catalog::Table;
use crate::error::{Error, Result, SqlState};
use datafusion::execution::object_store::ObjectStoreRegistry;
use iceberg::spec::{FormatVersion, TableMetadata};
use std::sync::Arc;

/// The catalog parameter naming the current metadata file.
pub const METADATA_LOCATION: &str = "metadata_location";
/// The catalog parameter naming the metadata file before the last commit.
pub const PREVIOUS_METADATA_LOCATION: &str = "previous_metadata_location";

/// Whether catalog parameters mark an Iceberg table (`table_type =
/// ICEBERG`, in any case, as Athena and pyiceberg write it).
pub fn is_iceberg(parameters: &crate::catalog::Parameters) -> bool {
    parameters.iter().any(|(k, v)| k.eq_ignore_ascii_case("table_type") && v.eq_ignore_ascii_case("ICEBERG"))
}

/// Whether a table's files may be another table's too (Iceberg's
/// `gc.enabled = false`, as a converted Hive table has): then nothing
/// deletes them.
pub fn gc_disabled(metadata: &TableMetadata) -> bool {
    metadata.properties().get("gc.enabled").is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
}

/// `tasks` with their partition spec, so that reading them fills
/// identity-partitioned columns from each file's partition values
/// (iceberg-rust's planning leaves the spec out). A converted Hive table's
/// files hold no partition columns: they are read so. Only for a table
/// whose files may lack field ids (it has a name mapping, as a converted
/// table has; a table glaux or another engine wrote keeps its partition
/// columns in its files) and that has had one spec, the only case in
/// which every file's spec is known without its manifest.
pub fn with_partition_spec(metadata: &TableMetadata, tasks: &mut [iceberg::scan::FileScanTask]) {
    if !metadata.properties().contains_key(iceberg::spec::DEFAULT_SCHEMA_NAME_MAPPING) {
        return;
    }
    let mut specs = metadata.partition_specs_iter();
    if let (Some(only), None) = (specs.next(), specs.next()) {
        if !only.is_unpartitioned() {
            for task in tasks {
                task.partition_spec = Some(Arc::clone(only));
            }
        }
    }
}

/// `batch` as iceberg-rust's reader gives it, with each run-end encoded
/// column (a column filled from partition values) decoded to the type
/// `target` (the columns read, as the table has them) gives its position:
/// the reader encodes a timestamp's constant as integers.
pub fn plain_batch(
    batch: datafusion::arrow::record_batch::RecordBatch,
    target: &datafusion::arrow::datatypes::SchemaRef,
) -> iceberg::Result<datafusion::arrow::record_batch::RecordBatch> {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let encoded = |t: &DataType| matches!(t, DataType::RunEndEncoded(..));
    if !batch.schema().fields().iter().any(|f| encoded(f.data_type())) {
        return Ok(batch);
    }
    let to_iceberg = |e: datafusion::arrow::error::ArrowError| {
        iceberg::Error::new(iceberg::ErrorKind::Unexpected, "decoding a column filled from partition values")
            .with_source(e)
    };
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (i, (field, column)) in batch.schema().fields().iter().zip(batch.columns()).enumerate() {
        match field.data_type() {
            DataType::RunEndEncoded(_, values) => {
                let wanted = target.fields().get(i).map(|f| f.data_type());
                let plain = wanted.filter(|t| !encoded(t)).unwrap_or(values.data_type()).clone();
                columns.push(datafusion::arrow::compute::cast(column, &plain).map_err(to_iceberg)?);
                fields.push(Field::new(field.name(), plain, true).with_metadata(field.metadata().clone()));
            }
            _ => {
                columns.push(Arc::clone(column));
                fields.push(field.as_ref().clone());
            }
        }
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, batch.schema().metadata().clone()));
    let options = datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    datafusion::arrow::record_batch::RecordBatch::try_new_with_options(schema, columns, &options).map_err(to_iceberg)
}

/// A table's metadata as read from its metadata file.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub location: String,
    /// The metadata file's size, charged to each query that scans it.
    pub size: u64,
    pub metadata: Arc<TableMetadata>,
    /// Branches and tags (the `refs` of the metadata file; iceberg-rust
    /// does not list them).
    pub refs: Vec<SnapshotRef>,
}

/// A branch or tag of a table.
#[derive(Debug, Clone)]
pub struct SnapshotRef {
    pub name: String,
    /// `BRANCH` or `TAG`.
    pub kind: String,
    pub snapshot_id: i64,
    pub max_ref_age_ms: Option<i64>,
    pub min_snapshots_to_keep: Option<i32>,
    pub max_snapshot_age_ms: Option<i64>,
}

/// The refs a metadata file's JSON lists; a table without them has its
/// current snapshot as branch `main`, as the Iceberg spec says.
pub(super) fn refs_of(json: Option<&serde_json::Value>, metadata: &TableMetadata) -> Vec<SnapshotRef> {
    let listed = json.and_then(|j| j.get("refs")).and_then(|r| r.as_object());
    let mut refs: Vec<SnapshotRef> = listed
        .into_iter()
        .flatten()
        .filter_map(|(name, r)| {
            Some(SnapshotRef {
                name: name.clone(),
                kind: r.get("type")?.as_str()?.to_uppercase(),
                snapshot_id: r.get("snapshot-id")?.as_i64()?,
                max_ref_age_ms: r.get("max-ref-age-ms").and_then(|v| v.as_i64()),
                min_snapshots_to_keep: r.get("min-snapshots-to-keep").and_then(|v| v.as_i64()).map(|v| v as i32),
                max_snapshot_age_ms: r.get("max-snapshot-age-ms").and_then(|v| v.as_i64()),
            })
        })
        .collect();
    if listed.is_none() {
        if let Some(id) = metadata.current_snapshot_id() {
            refs.push(SnapshotRef {
                name: "main".into(),
                kind: "BRANCH".into(),
                snapshot_id: id,
                max_ref_age_ms: None,
                min_snapshots_to_keep: None,
                max_snapshot_age_ms: None,
            });
        }
    }
    refs.sort_by(|a, b| a.name.cmp(&b.name));
    refs
}

/// The metadata file a catalog entry points at.
pub fn metadata_location(table: &Table) -> Result<&str> {
    table.parameters.get(METADATA_LOCATION).map(String::as_str).filter(|l| !l.trim().is_empty()).ok_or_else(|| {
        Error::new(
            SqlState::DataCorrupted,
            format!(
                "Iceberg table {}.{} has no {METADATA_LOCATION} in the catalog; register it again",
                table.database_name, table.name
            ),
        )
    })
}

/// Reads and checks the metadata file at `location`.
pub async fn load(location: &str, stores: Arc<dyn ObjectStoreRegistry>) -> Result<Loaded> {
    let file_io = io::file_io(stores);
    let context = format!("cannot read Iceberg metadata file {location}");
    let read = async { file_io.new_input(location)?.read().await };
    let bytes = read.await.map_err(|e| error(e, &context))?;
    let not_iceberg = |e: serde_json::Error| {
        Error::new(SqlState::DataCorrupted, format!("{context}: it is not Iceberg table metadata JSON ({e})"))
    };
    let (metadata, json): (TableMetadata, _) = if bytes.starts_with(&[0x1f, 0x8b]) {
        // gzip-compressed metadata: iceberg-rust reads it again itself.
        (TableMetadata::read_from(&file_io, location).await.map_err(|e| error(e, &context))?, None)
    } else {
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(not_iceberg)?;
        // Checked before the rest, which a later format may lay out anew.
        match json.get("format-version").and_then(serde_json::Value::as_u64) {
            Some(v) if v > 2 => return Err(unsupported_version(v, location)),
            _ => {}
        }
        (serde_json::from_value(json.clone()).map_err(not_iceberg)?, Some(json))
    };
    if !matches!(metadata.format_version(), FormatVersion::V1 | FormatVersion::V2) {
        return Err(unsupported_version(metadata.format_version() as u64, location));
    }
    let refs = refs_of(json.as_ref(), &metadata);
    Ok(Loaded { location: location.to_string(), size: bytes.len() as u64, metadata: Arc::new(metadata), refs })
}

/// Format 3 and later: deletion vectors, row lineage and new types, which
/// glaux does not read yet.
fn unsupported_version(version: u64, location: &str) -> Error {
    Error::new(
        SqlState::FeatureNotSupported,
        format!(
            "Iceberg format version {version} (metadata file {location}) is not supported: glaux reads format 1 and 2 tables, without format 3's deletion vectors and row lineage"
        ),
    )
}

/// An iceberg-rust error as a glaux error, after `context` (what was
/// being done, naming the file or table). A glaux error inside (a meter
/// refusing a read) keeps its SQLSTATE.
pub fn error(e: iceberg::Error, context: &str) -> Error {
    error_of(&e, context)
}

/// [`error`], for an error that stays where it is (inside a DataFusion
/// error that iceberg-rust's DataFusion plans raise).
pub fn error_of(e: &iceberg::Error, context: &str) -> Error {
    let mut state = match e.kind() {
        iceberg::ErrorKind::FeatureUnsupported => SqlState::FeatureNotSupported,
        iceberg::ErrorKind::DataInvalid => SqlState::DataCorrupted,
        iceberg::ErrorKind::CatalogCommitConflicts => SqlState::SerializationFailure,
        _ => SqlState::IoError,
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut detail = e.message().to_string();
    while let Some(cause) = source {
        if let Some(inner) = cause.downcast_ref::<Error>() {
            return Error::new(inner.sqlstate(), inner.to_string());
        }
        if let Some(store) = cause.downcast_ref::<object_store::Error>() {
            state = match store {
                object_store::Error::NotFound { .. } => SqlState::IoError,
                _ => state,
            };
        }
        if cause.downcast_ref::<serde_json::Error>().is_some() {
            state = SqlState::DataCorrupted;
        }
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    Error::new(state, format!("{context}: {detail}"))
}

/// A DataFusion error for an iceberg-rust error (inside a scan).
pub fn df_error(e: iceberg::Error, context: &str) -> datafusion::error::DataFusionError {
    error(e, context).into_datafusion()
}
