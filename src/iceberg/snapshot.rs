//! Row-level snapshots: the commit of a DELETE (and of the statements
//! built on it), which iceberg-rust 0.10 has no public action for.
//!
//! A [`RowDelta`] says what a statement changes: data files it adds,
//! position-delete files it adds, and data files it removes because
//! every row in them is gone. [`commit`] turns it into the next snapshot
//! of the table it was computed on:
//!
//! - the manifests of the base snapshot are kept as they are, except one
//!   that lists a removed file, which is written again with that entry
//!   marked deleted and its other entries existing;
//! - added data files go in a new data manifest, added delete files in a
//!   delete manifest per partition spec (a position-delete file carries
//!   its data file's spec and partition);
//! - a new manifest list, then a snapshot with the summary Iceberg
//!   specifies (`added-*`, `deleted-*`, `removed-*` and the `total-*`
//!   carried from the parent), and `main` moved to it.
//!
//! The commit goes through [`TableCatalog::commit`] with the requirement
//! that `main` is still the base snapshot, so a concurrent commit makes
//! this one a retryable conflict, and the statement starts again on the
//! winner's snapshot.

use super::commit::TableCatalog;
use iceberg::spec::{
    DataFile, DataFileFormat, FormatVersion, ManifestContentType, ManifestFile, ManifestList, ManifestListWriter,
    ManifestWriter, ManifestWriterBuilder, Operation, PartitionSpecRef, Snapshot, SnapshotReference, SnapshotRetention,
    SnapshotSummaryCollector, Summary, MAIN_BRANCH,
};
use iceberg::table::Table;
use iceberg::{Error, ErrorKind, Result, TableRequirement, TableUpdate};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// What a row-level statement changes in a table.
#[derive(Debug, Default)]
pub struct RowDelta {
    pub added_data: Vec<DataFile>,
    /// Position-delete files, each with its partition spec's id.
    pub added_deletes: Vec<(i32, DataFile)>,
    /// Data files (by path) whose rows are all deleted, and delete files
    /// (OPTIMIZE's) that no longer delete anything.
    pub removed: HashSet<String>,
    /// Whether the rows stay the same (OPTIMIZE): a `replace` snapshot.
    pub replace: bool,
}

impl RowDelta {
    pub fn is_empty(&self) -> bool {
        self.added_data.is_empty() && self.added_deletes.is_empty() && self.removed.is_empty()
    }
}

/// How many times a statement is tried against newer snapshots.
pub const ATTEMPTS: u32 = 8;

/// Runs a row-level statement (`statement`, for messages) and commits
/// what it changes: `changes` works out the delta on the table's current
/// snapshot, and the rows it changes. If another statement commits
/// first, it runs again on the new snapshot, up to [`ATTEMPTS`] times,
/// then 40001. Returns the rows changed.
pub async fn commit_retrying<F, Fut>(
    catalog: &TableCatalog,
    statement: &str,
    mut changes: F,
) -> crate::error::Result<u64>
where
    F: FnMut(Table) -> Fut,
    Fut: std::future::Future<Output = crate::error::Result<(RowDelta, u64)>>,
{
    let mut attempt = 1;
    loop {
        let table = catalog.current().await.map_err(|e| super::error(e, statement))?;
        let (delta, changed) = changes(table.clone()).await?;
        if delta.is_empty() {
            return Ok(changed);
        }
        match commit(catalog, &table, delta).await {
            Ok(_) => return Ok(changed),
            Err(e) if e.retryable() && attempt < ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(6))).await;
                attempt += 1;
            }
            Err(e) => return Err(super::error(e, &format!("{statement} (after {attempt} attempts)"))),
        }
    }
}

/// Commits `delta`, computed on `base`'s current snapshot, as the next
/// snapshot; returns the table after the commit.
pub async fn commit(catalog: &TableCatalog, base: &Table, delta: RowDelta) -> Result<Table> {
    let next = next_snapshot(base, delta).await?;
    catalog.commit(next.requirements, next.updates).await
}

/// The next snapshot of a table, written but not yet committed: the
/// changes to its metadata, what they require of it, and the files
/// written for it (its new manifests and manifest list).
pub struct NextSnapshot {
    pub requirements: Vec<TableRequirement>,
    pub updates: Vec<TableUpdate>,
    pub written: Vec<String>,
}

/// Writes the manifests and manifest list of `delta` as the snapshot
/// after `base`'s current one ([`commit`] commits it; a table being
/// made applies it to its first metadata).
pub async fn next_snapshot(base: &Table, delta: RowDelta) -> Result<NextSnapshot> {
    let metadata = base.metadata();
    if metadata.format_version() != FormatVersion::V2 {
        let why = "row-level changes need an Iceberg format 2 table (position deletes); this one is format 1";
        return Err(Error::new(ErrorKind::FeatureUnsupported, why));
    }
    let producer = Producer::new(base);
    let mut summary = SnapshotSummaryCollector::default();
    let schema = Arc::clone(metadata.current_schema());
    let spec_of = |id: i32| -> Result<PartitionSpecRef> {
        metadata
            .partition_spec_by_id(id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::DataInvalid, format!("partition spec {id} is not in the table")))
    };

    let mut manifests = Vec::new();
    let mut written = Vec::new();
    let mut removed_found = HashSet::new();
    if let Some(current) = metadata.current_snapshot() {
        let bytes = base.file_io().new_input(current.manifest_list())?.read().await?;
        let list = ManifestList::parse_with_version(&bytes, metadata.format_version())?;
        for manifest in list.entries().iter().cloned() {
            let touched = !delta.removed.is_empty() && (manifest.has_added_files() || manifest.has_existing_files());
            if !touched {
                manifests.push(manifest);
                continue;
            }
            let read = manifest.load_manifest(base.file_io()).await?;
            let hit = read.entries().iter().any(|e| e.is_alive() && delta.removed.contains(e.file_path()));
            if !hit {
                manifests.push(manifest);
                continue;
            }
            let spec = spec_of(manifest.partition_spec_id)?;
            let mut writer = producer.manifest_writer(base, &spec, manifest.content)?;
            for entry in read.entries().iter().filter(|e| e.is_alive()) {
                let file = entry.data_file().clone();
                let sequence = entry.sequence_number().unwrap_or(manifest.sequence_number);
                let file_sequence = entry.file_sequence_number;
                if delta.removed.contains(file.file_path()) {
                    removed_found.insert(file.file_path().to_string());
                    summary.remove_file(&file, Arc::clone(&schema), Arc::clone(&spec));
                    writer.add_delete_file(file, sequence, file_sequence)?;
                } else {
                    let snapshot = entry.snapshot_id().unwrap_or(manifest.added_snapshot_id);
                    writer.add_existing_file(file, snapshot, sequence, file_sequence)?;
                }
            }
            manifests.push(written_by(&mut written, writer.write_manifest_file().await?));
        }
    }
    if removed_found.len() != delta.removed.len() {
        // Another commit removed it first: compute again on the new snapshot.
        let why = "a file this statement removes is no longer in the table";
        return Err(Error::new(ErrorKind::CatalogCommitConflicts, why).with_retryable(true));
    }

    let default_spec = Arc::clone(metadata.default_partition_spec());
    if !delta.added_data.is_empty() {
        let mut writer = producer.manifest_writer(base, &default_spec, ManifestContentType::Data)?;
        for file in delta.added_data {
            summary.add_file(&file, Arc::clone(&schema), Arc::clone(&default_spec));
            writer.add_file(file, producer.sequence)?;
        }
        manifests.push(written_by(&mut written, writer.write_manifest_file().await?));
    }
    let mut by_spec: HashMap<i32, Vec<DataFile>> = HashMap::new();
    for (spec_id, file) in delta.added_deletes {
        by_spec.entry(spec_id).or_default().push(file);
    }
    for (spec_id, files) in by_spec {
        let spec = spec_of(spec_id)?;
        let mut writer = producer.manifest_writer(base, &spec, ManifestContentType::Deletes)?;
        for file in files {
            summary.add_file(&file, Arc::clone(&schema), Arc::clone(&spec));
            writer.add_file(file, producer.sequence)?;
        }
        manifests.push(written_by(&mut written, writer.write_manifest_file().await?));
    }

    let changes = summary.build();
    let adds_data = changes.get("added-data-files").is_some_and(|n| n != "0");
    let operation = if delta.replace {
        Operation::Replace
    } else if adds_data && removed_found.is_empty() && !changes.contains_key("added-delete-files") {
        Operation::Append
    } else if adds_data {
        Operation::Overwrite
    } else {
        Operation::Delete
    };
    let parent = metadata.current_snapshot().map(|s| &s.summary().additional_properties);
    let summary = Summary { operation, additional_properties: with_totals(changes, parent) };

    let list_path = format!("{}/metadata/snap-{}-1-{}.avro", metadata.location(), producer.snapshot_id, producer.uuid);
    let output = base.file_io().new_output(list_path.clone())?.writer().await?;
    let mut list =
        ManifestListWriter::v2(output, producer.snapshot_id, metadata.current_snapshot_id(), producer.sequence);
    list.add_manifests(manifests.into_iter())?;
    list.close().await?;
    written.push(list_path.clone());

    let snapshot = Snapshot::builder()
        .with_manifest_list(list_path)
        .with_snapshot_id(producer.snapshot_id)
        .with_parent_snapshot_id(metadata.current_snapshot_id())
        .with_sequence_number(producer.sequence)
        .with_summary(summary)
        .with_schema_id(metadata.current_schema_id())
        .with_timestamp_ms(chrono::Utc::now().timestamp_millis())
        .build();
    let updates = vec![
        TableUpdate::AddSnapshot { snapshot },
        TableUpdate::SetSnapshotRef {
            ref_name: MAIN_BRANCH.to_string(),
            reference: SnapshotReference::new(producer.snapshot_id, SnapshotRetention::branch(None, None, None)),
        },
    ];
    let requirements = vec![
        TableRequirement::UuidMatch { uuid: metadata.uuid() },
        TableRequirement::RefSnapshotIdMatch {
            r#ref: MAIN_BRANCH.to_string(),
            snapshot_id: metadata.current_snapshot_id(),
        },
    ];
    Ok(NextSnapshot { requirements, updates, written })
}

/// `manifest`, its path noted in `written`.
fn written_by(written: &mut Vec<String>, manifest: ManifestFile) -> ManifestFile {
    written.push(manifest.manifest_path.clone());
    manifest
}

/// The `total-*` counts of a snapshot: its parent's, plus what it added,
/// less what it removed (left out where the parent did not record them).
fn with_totals(
    mut changes: HashMap<String, String>,
    parent: Option<&HashMap<String, String>>,
) -> HashMap<String, String> {
    const TOTALS: [(&str, &str, &str); 6] = [
        ("total-data-files", "added-data-files", "deleted-data-files"),
        ("total-records", "added-records", "deleted-records"),
        ("total-files-size", "added-files-size", "removed-files-size"),
        ("total-delete-files", "added-delete-files", "removed-delete-files"),
        ("total-position-deletes", "added-position-deletes", "removed-position-deletes"),
        ("total-equality-deletes", "added-equality-deletes", "removed-equality-deletes"),
    ];
    let number = |map: &HashMap<String, String>, key: &str| map.get(key).and_then(|v| v.parse::<i64>().ok());
    for (total, added, removed) in TOTALS {
        let before = match parent {
            None => Some(0),
            Some(parent) => number(parent, total),
        };
        if let Some(before) = before {
            let after = before + number(&changes, added).unwrap_or(0) - number(&changes, removed).unwrap_or(0);
            changes.insert(total.to_string(), after.max(0).to_string());
        }
    }
    changes
}

/// The identity of the snapshot being made and its files' names.
struct Producer {
    snapshot_id: i64,
    sequence: i64,
    uuid: Uuid,
    manifests: AtomicU32,
}

impl Producer {
    fn new(base: &Table) -> Producer {
        let metadata = base.metadata();
        let mut snapshot_id;
        loop {
            let (a, b) = Uuid::new_v4().as_u64_pair();
            snapshot_id = ((a ^ b) as i64).abs();
            if snapshot_id != 0 && metadata.snapshot_by_id(snapshot_id).is_none() {
                break;
            }
        }
        Producer {
            snapshot_id,
            sequence: metadata.next_sequence_number(),
            uuid: Uuid::new_v4(),
            manifests: AtomicU32::new(0),
        }
    }

    /// A writer of the next manifest of this snapshot.
    fn manifest_writer(
        &self,
        base: &Table,
        spec: &PartitionSpecRef,
        content: ManifestContentType,
    ) -> Result<ManifestWriter> {
        let n = self.manifests.fetch_add(1, Ordering::Relaxed);
        let path = format!("{}/metadata/{}-m{n}.{}", base.metadata().location(), self.uuid, DataFileFormat::Avro);
        let builder = ManifestWriterBuilder::new(
            base.file_io().new_output(path)?,
            Some(self.snapshot_id),
            Arc::clone(base.metadata().current_schema()),
            spec.as_ref().clone(),
        );
        Ok(match content {
            ManifestContentType::Data => builder.build_v2_data(),
            ManifestContentType::Deletes => builder.build_v2_deletes(),
        })
    }
}
