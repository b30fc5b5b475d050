//! `DROP TABLE ... PURGE` of an Iceberg table: its files go too.
//!
//! The files deleted are those the table's metadata reaches: every
//! metadata file in its log and the current one, and for every snapshot
//! its manifest list, manifests and the data and delete files they list
//! (entries of every status, so files an unexpired snapshot removed go
//! too). Nothing else under the table's location is touched: a location
//! may hold files that are not the table's. The catalog entry is dropped
//! first, so no query reads a table half deleted; a file that cannot be
//! deleted afterwards is named in the error, and the table is gone.

use super::Loaded;
use crate::error::{Error, Result, SqlState};
use datafusion::execution::object_store::ObjectStoreRegistry;
use iceberg::spec::ManifestList;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Every file the metadata `loaded` reaches.
pub async fn files(loaded: &Loaded, stores: Arc<dyn ObjectStoreRegistry>) -> Result<BTreeSet<String>> {
    let file_io = super::io::file_io(stores);
    let metadata = &loaded.metadata;
    let context = format!("listing the files of the Iceberg table at {}", loaded.location);
    let fail = |e: iceberg::Error| super::error(e, &context);
    let mut out: BTreeSet<String> = metadata.metadata_log().iter().map(|m| m.metadata_file.clone()).collect();
    out.insert(loaded.location.clone());
    for snapshot in metadata.snapshots() {
        let list_path = snapshot.manifest_list().to_string();
        let bytes = file_io.new_input(&list_path).map_err(fail)?.read().await.map_err(fail)?;
        let list = ManifestList::parse_with_version(&bytes, metadata.format_version()).map_err(fail)?;
        out.insert(list_path);
        for manifest in list.entries() {
            if !out.insert(manifest.manifest_path.clone()) {
                continue;
            }
            let read = manifest.load_manifest(&file_io).await.map_err(fail)?;
            out.extend(read.entries().iter().map(|e| e.file_path().to_string()));
        }
    }
    Ok(out)
}

/// Deletes `files`; the first that cannot be deleted is the error.
pub async fn delete(table: &str, files: BTreeSet<String>, stores: Arc<dyn ObjectStoreRegistry>) -> Result<usize> {
    let file_io = super::io::file_io(stores);
    let count = files.len();
    for file in files {
        file_io.delete(&file).await.map_err(|e| {
            Error::new(
                SqlState::IoError,
                format!("table {table} was dropped, but its file {file} could not be deleted: {e}"),
            )
        })?;
    }
    Ok(count)
}
