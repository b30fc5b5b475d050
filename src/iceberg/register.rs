//! Registering an Iceberg table another tool made:
//!
//! ```text
//! CREATE EXTERNAL TABLE [IF NOT EXISTS] [db.]name
//!   LOCATION '<table root>'
//!   TBLPROPERTIES ('table_type' = 'ICEBERG' [, 'metadata_location' = '<metadata file>'] [, ...])
//! ```
//!
//! There is no column list: the columns come from the metadata. Without
//! `metadata_location`, the newest metadata file under `LOCATION/metadata/`
//! is taken (the highest version in its name, as Iceberg numbers them),
//! and a NOTICE names it. The catalog entry is what Athena and pyiceberg
//! write into Glue: `table_type = ICEBERG`, `metadata_location`, the
//! columns as Hive types, and the other properties as given.

use super::{is_iceberg, METADATA_LOCATION};
use crate::catalog::types::field_to_hive;
use crate::catalog::{model::now, Column, IfExists, StorageDescriptor, Table, TableType};
use crate::engine::commands::Context;
use crate::engine::hive_ddl::{CreateExternalTable, RowFormat};
use crate::error::{Error, Result, SqlState};
use futures::TryStreamExt;
use iceberg::spec::TableMetadata;
use std::sync::Arc;

/// Whether `CREATE EXTERNAL TABLE` is an Iceberg registration.
pub fn is_registration(t: &CreateExternalTable) -> bool {
    is_iceberg(&t.properties)
}

/// Registers the Iceberg table `t` describes in the catalog.
pub async fn register(cx: &dyn Context, t: &CreateExternalTable) -> Result<()> {
    let definition = |what: &str| {
        Error::new(
            SqlState::SyntaxError,
            format!(
                "an Iceberg table takes its {what} from its metadata; leave the clause out of CREATE EXTERNAL TABLE"
            ),
        )
    };
    if !t.columns.is_empty() {
        return Err(definition("columns"));
    }
    if !t.partition_keys.is_empty() || !t.partition_fields.is_empty() {
        return Err(definition("partitioning"));
    }
    if t.storage.is_some() || t.row_format != RowFormat::Default || !t.serde_properties.is_empty() {
        return Err(definition("file format"));
    }
    let location = t.location.clone().ok_or_else(|| {
        Error::syntax("CREATE EXTERNAL TABLE needs a LOCATION: the Iceberg table's root folder", None)
    })?;
    let stores = Arc::clone(&cx.state().runtime_env().object_store_registry);
    let given = t.properties.iter().find(|(k, _)| k.eq_ignore_ascii_case(METADATA_LOCATION)).map(|(_, v)| v.clone());
    let metadata_location = match given {
        Some(file) => file,
        None => {
            let newest = newest_metadata(cx, &location).await?;
            cx.notice(format!("using Iceberg metadata file {newest}, the newest under the table's LOCATION"));
            newest
        }
    };
    let loaded = super::load(&metadata_location, stores).await?;
    let mut table = entry(cx, t, location, metadata_location, &loaded.metadata)?;
    // Registering a table another tool made does not make its files this
    // user's: only an admin may purge it.
    table.owner = None;
    let mode = if t.if_not_exists { IfExists::Skip } else { IfExists::Fail };
    cx.qualify(&t.name)?.catalog.metastore.create_table(table, mode, Vec::new()).await?;
    Ok(())
}

/// The catalog entry of the Iceberg table `t` names, whose metadata is
/// `metadata` at `metadata_location`: what Athena and pyiceberg write into
/// Glue.
pub(super) fn entry(
    cx: &dyn Context,
    t: &CreateExternalTable,
    location: String,
    metadata_location: String,
    metadata: &TableMetadata,
) -> Result<Table> {
    let qualified = cx.qualify(&t.name)?;
    let mut parameters = t.properties.clone();
    parameters.retain(|k, _| !k.eq_ignore_ascii_case("table_type") && !k.eq_ignore_ascii_case(METADATA_LOCATION));
    parameters.insert("table_type".into(), "ICEBERG".into());
    parameters.insert(METADATA_LOCATION.into(), metadata_location.clone());
    parameters.insert("EXTERNAL".into(), "TRUE".into());
    Ok(Table {
        name: qualified.name,
        database_name: qualified.database,
        table_type: TableType::Iceberg,
        description: t.comment.clone(),
        storage_descriptor: StorageDescriptor {
            columns: columns(metadata, &metadata_location)?,
            location: Some(location),
            ..StorageDescriptor::default()
        },
        partition_keys: Vec::new(),
        parameters,
        view_original_text: None,
        view_expanded_text: None,
        create_time: now(),
        update_time: now(),
        version: 0,
        owner: Some(cx.user().to_string()),
    })
}

/// The catalog columns of a table's current schema, as Hive types.
pub fn columns(metadata: &TableMetadata, metadata_location: &str) -> Result<Vec<Column>> {
    let current = metadata.current_schema();
    let schema = iceberg::arrow::schema_to_arrow_schema(current)
        .map_err(|e| super::error(e, &format!("the schema in {metadata_location}")))?;
    schema
        .fields()
        .iter()
        .map(|field| {
            let hive = field_to_hive(field).map_err(|_| {
                let iceberg = current.field_by_name(field.name()).map(|f| f.field_type.to_string());
                Error::new(
                    SqlState::FeatureNotSupported,
                    format!(
                        "column {} has Iceberg type {}, which glaux does not read yet",
                        field.name(),
                        iceberg.unwrap_or_else(|| field.data_type().to_string())
                    ),
                )
            })?;
            let comment = current.field_by_name(field.name()).and_then(|f| f.doc.clone());
            Ok(Column { name: field.name().clone(), data_type: hive, comment })
        })
        .collect()
}

/// The metadata files under `location/metadata/`, each with the version
/// its name starts with (`v3.metadata.json`, `00003-<uuid>.metadata.json`)
/// and when it was written, and the folder as a path or URL.
pub(super) async fn metadata_files(
    cx: &dyn Context,
    location: &str,
) -> Result<(Vec<(u64, chrono::DateTime<chrono::Utc>, String)>, String)> {
    let url = crate::table::store::listing_url(location)?;
    let store = cx.state().runtime_env().object_store(&url)?;
    let folder = url.prefix().clone().join("metadata");
    let files: Vec<object_store::ObjectMeta> = store.list(Some(&folder)).try_collect().await.map_err(|e| {
        Error::new(SqlState::IoError, format!("cannot list the Iceberg metadata under {location}: {e}"))
    })?;
    let found = files
        .iter()
        .filter_map(|f| {
            let name = f.location.filename()?;
            let metadata = name.ends_with(".metadata.json") || name.ends_with(".metadata.json.gz");
            metadata.then(|| Some((version_of(name)?, f.last_modified, name.to_string()))).flatten()
        })
        .collect();
    let root = match crate::table::store::local_path(&url) {
        Some(path) => path.to_string_lossy().into_owned(),
        None => location.trim().to_string(),
    };
    Ok((found, format!("{}/metadata", root.trim_end_matches('/'))))
}

/// The newest metadata file under `location/metadata/`: the highest
/// version, the latest written among equals.
async fn newest_metadata(cx: &dyn Context, location: &str) -> Result<String> {
    let (files, folder) = metadata_files(cx, location).await?;
    let Some((_, _, name)) = files.into_iter().max() else {
        return Err(Error::new(
            SqlState::IoError,
            format!("no Iceberg metadata file (*.metadata.json) under {folder}"),
        )
        .with_hint("give the file as TBLPROPERTIES ('metadata_location' = '...')"));
    };
    Ok(format!("{folder}/{name}"))
}

/// The version a metadata file's name starts with.
fn version_of(name: &str) -> Option<u64> {
    let digits: String = name.trim_start_matches('v').chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
