//! `VACUUM t`: snapshot expiry and file removal, as Athena does it.
//!
//! 1. **Expire.** A snapshot is kept when a branch or tag reaches it: a
//!    tag's own snapshot, and on each branch (`main` at least) the newest
//!    `vacuum_min_snapshots_to_keep` snapshots of its history and any
//!    younger than `vacuum_max_snapshot_age_seconds` (Athena's table
//!    properties, defaults 1 and 432000 = 5 days; Iceberg's
//!    `history.expire.*` properties and a ref's own retention are used
//!    where set). Other snapshots older than the age are removed from the
//!    metadata in one commit, which a concurrent commit makes start again
//!    (up to [`super::snapshot::ATTEMPTS`] times, then 40001).
//! 2. **Unreferenced files.** The manifest lists, manifests, data and
//!    delete files that the expired snapshots reached and no kept
//!    snapshot still lists as live are deleted, and the metadata files
//!    the commit dropped from the metadata log.
//! 3. **Orphans.** Under the table's `data/` and `metadata/` folders (not
//!    the rest of its location, which may hold what is not the table's,
//!    nor folders `write.*.path` sets outside the location, which other
//!    tables may share),
//!    a file that nothing in the metadata reaches, older than the same age
//!    and than one day whatever the age, is deleted: the files of a write
//!    that failed or was killed. The day keeps the files of any write
//!    still in flight, whose commit will reference them.
//!
//! Paths are compared as object-store paths, and also percent-decoded, so
//! a file is never taken for an orphan because two writers spelled its
//! name differently.

use super::commit::TableCatalog;
use super::snapshot::ATTEMPTS;
use crate::catalog::Parameters;
use crate::error::{Error, Result, SqlState};
use datafusion::execution::object_store::ObjectStoreRegistry;
use futures::TryStreamExt;
use iceberg::io::FileIO;
use iceberg::spec::{ManifestList, SnapshotRef, TableMetadata};
use iceberg::{TableRequirement, TableUpdate};
use object_store::ObjectStoreExt;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Orphans younger than this are kept whatever the table's age says.
const ORPHAN_MIN_AGE_MS: i64 = 24 * 3600 * 1000;

/// What VACUUM did.
#[derive(Debug, Default, Clone)]
pub struct Vacuumed {
    pub expired: usize,
    pub deleted: usize,
    pub orphans: usize,
}

/// How long snapshots are kept.
#[derive(Debug, Clone, Copy)]
struct Retention {
    max_age_ms: i64,
    min_keep: usize,
}

impl Retention {
    /// The table's: Athena's properties (its catalog entry's, then the
    /// metadata's), then Iceberg's, then Athena's defaults.
    fn of(entry: &Parameters, metadata: &TableMetadata) -> Result<Retention> {
        let athena = |key: &str| {
            entry
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
                .or_else(|| metadata.properties().get(key).cloned())
        };
        let number = |key: &str, value: Option<String>| -> Result<Option<i64>> {
            value
                .map(|v| {
                    v.trim().parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                        Error::new(
                            SqlState::InvalidParameterValue,
                            format!("table property {key} = '{v}' is not a whole number"),
                        )
                    })
                })
                .transpose()
        };
        let (age, age_ms, keep, keep_iceberg) = (
            "vacuum_max_snapshot_age_seconds",
            "history.expire.max-snapshot-age-ms",
            "vacuum_min_snapshots_to_keep",
            "history.expire.min-snapshots-to-keep",
        );
        let max_age_ms = match number(age, athena(age))? {
            Some(seconds) => seconds.saturating_mul(1000),
            None => number(age_ms, metadata.properties().get(age_ms).cloned())?.unwrap_or(432_000_000),
        };
        let min_keep = match number(keep, athena(keep))? {
            Some(n) => n,
            None => number(keep_iceberg, metadata.properties().get(keep_iceberg).cloned())?.unwrap_or(1),
        };
        Ok(Retention { max_age_ms, min_keep: min_keep.max(1) as usize })
    }
}

/// Expires the old snapshots of the table `catalog` commits to (`name`,
/// for messages; `entry`, its catalog properties) and deletes the files
/// nothing needs any more.
pub async fn vacuum(
    catalog: &TableCatalog,
    name: &str,
    entry: &Parameters,
    stores: Arc<dyn ObjectStoreRegistry>,
) -> Result<Vacuumed> {
    let context = format!("VACUUM {name}");
    let fail = |e: iceberg::Error| super::error(e, &context);
    let now = chrono::Utc::now().timestamp_millis();
    let mut attempt = 1;
    let (before, after, retention) = loop {
        let table = catalog.current().await.map_err(fail)?;
        if super::gc_disabled(table.metadata()) {
            return Err(Error::new(
                SqlState::FeatureNotSupported,
                format!("VACUUM deletes files, and {name} has gc.enabled = false: its files may be another table's (a table converted from Hive shares them with its _backup_hive definition)"),
            )
            .with_hint("once no other table reads its files, ALTER TABLE ... SET TBLPROPERTIES ('gc.enabled' = 'true')"));
        }
        let retention = Retention::of(entry, table.metadata())?;
        let expire = expired(table.metadata(), retention, now);
        if expire.is_empty() {
            break (table.clone(), table, retention);
        }
        let metadata = table.metadata();
        let requirements = vec![
            TableRequirement::UuidMatch { uuid: metadata.uuid() },
            TableRequirement::RefSnapshotIdMatch {
                r#ref: iceberg::spec::MAIN_BRANCH.to_string(),
                snapshot_id: metadata.current_snapshot_id(),
            },
        ];
        let updates = vec![TableUpdate::RemoveSnapshots { snapshot_ids: expire }];
        // On this very metadata: a ref made meanwhile (a tag on an old
        // snapshot, by another engine) makes it start again.
        let base = table.metadata_location_result().map_err(fail)?.to_string();
        match catalog.commit_on(&base, requirements, updates).await {
            Ok(after) => break (table, after, retention),
            Err(e) if e.retryable() && attempt < ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(6))).await;
                attempt += 1;
            }
            Err(e) => return Err(super::error(e, &format!("{context} (after {attempt} attempts)"))),
        }
    };
    let file_io = super::io::file_io(Arc::clone(&stores));
    let mut manifests = Manifests::default();
    let kept_ids: HashSet<i64> = after.metadata().snapshots().map(|s| s.snapshot_id()).collect();
    let gone: Vec<SnapshotRef> =
        before.metadata().snapshots().filter(|s| !kept_ids.contains(&s.snapshot_id())).cloned().collect();
    let kept: Vec<SnapshotRef> = after.metadata().snapshots().cloned().collect();
    let live = manifests.reachable(&file_io, after.metadata(), &kept, true).await.map_err(fail)?;
    let mut unreferenced = manifests.reachable(&file_io, before.metadata(), &gone, false).await.map_err(fail)?;
    unreferenced.retain(|f| !live.contains(f));
    // Metadata files the commit dropped from the log.
    let logged = |t: &iceberg::table::Table| -> BTreeSet<String> {
        let mut files: BTreeSet<String> = t.metadata().metadata_log().iter().map(|m| m.metadata_file.clone()).collect();
        files.extend(t.metadata_location().map(str::to_string));
        files
    };
    let after_log = logged(&after);
    unreferenced.extend(logged(&before).into_iter().filter(|f| !after_log.contains(f)));
    let mut report = Vacuumed { expired: gone.len(), ..Vacuumed::default() };
    for file in &unreferenced {
        delete(&file_io, file, &context, &report).await?;
        report.deleted += 1;
    }

    // Orphans: what nothing in the metadata now reaches.
    let current = catalog.current().await.map_err(fail)?;
    let all: Vec<SnapshotRef> = current.metadata().snapshots().cloned().collect();
    let mut referenced = manifests.reachable(&file_io, current.metadata(), &all, false).await.map_err(fail)?;
    referenced.extend(logged(&current));
    referenced.extend(current.metadata().statistics_iter().map(|s| s.statistics_path.clone()));
    referenced.extend(current.metadata().partition_statistics_iter().map(|s| s.statistics_path.clone()));
    let cutoff = now - retention.max_age_ms.max(ORPHAN_MIN_AGE_MS);
    for (store, path) in orphans(&stores, current.metadata(), &referenced, cutoff).await? {
        // Through its store, by the very path listed (whatever its name
        // holds: `%`, spaces).
        store.delete(&path).await.map_err(|e| {
            Error::new(SqlState::IoError, format!("{context}: orphan file {path} could not be deleted: {e}"))
        })?;
        report.orphans += 1;
    }
    Ok(report)
}

/// The snapshots of `metadata` that `retention` lets go at `now`.
fn expired(metadata: &TableMetadata, retention: Retention, now: i64) -> Vec<i64> {
    let json = serde_json::to_value(metadata).ok();
    let refs = super::refs_of(json.as_ref(), metadata);
    let mut kept: HashSet<i64> = HashSet::new();
    kept.extend(metadata.current_snapshot_id());
    for reference in &refs {
        kept.insert(reference.snapshot_id);
        if reference.kind != "BRANCH" {
            continue;
        }
        let min_keep = reference.min_snapshots_to_keep.map_or(retention.min_keep, |n| n.max(1) as usize);
        let cutoff = now - reference.max_snapshot_age_ms.unwrap_or(retention.max_age_ms);
        let mut at = metadata.snapshot_by_id(reference.snapshot_id);
        let mut count = 0;
        while let Some(snapshot) = at {
            if count >= min_keep && snapshot.timestamp_ms() < cutoff {
                break;
            }
            kept.insert(snapshot.snapshot_id());
            count += 1;
            at = snapshot.parent_snapshot_id().and_then(|p| metadata.snapshot_by_id(p));
        }
    }
    let cutoff = now - retention.max_age_ms;
    metadata
        .snapshots()
        .filter(|s| !kept.contains(&s.snapshot_id()) && s.timestamp_ms() < cutoff)
        .map(|s| s.snapshot_id())
        .collect()
}

/// Manifests read once, whichever snapshots list them.
#[derive(Default)]
struct Manifests {
    /// Manifest path → (every file it lists, those it lists as live).
    read: HashMap<String, (Vec<String>, Vec<String>)>,
}

impl Manifests {
    /// The manifest lists and manifests of `snapshots`, and the data and
    /// delete files they list (only live entries, with `live_only`).
    async fn reachable(
        &mut self,
        file_io: &FileIO,
        metadata: &TableMetadata,
        snapshots: &[SnapshotRef],
        live_only: bool,
    ) -> iceberg::Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        for snapshot in snapshots {
            let list_path = snapshot.manifest_list().to_string();
            let bytes = file_io.new_input(&list_path)?.read().await?;
            let list = ManifestList::parse_with_version(&bytes, metadata.format_version())?;
            out.insert(list_path);
            for manifest in list.entries() {
                out.insert(manifest.manifest_path.clone());
                if !self.read.contains_key(&manifest.manifest_path) {
                    let entries = manifest.load_manifest(file_io).await?;
                    let all = entries.entries().iter().map(|e| e.file_path().to_string()).collect();
                    let live =
                        entries.entries().iter().filter(|e| e.is_alive()).map(|e| e.file_path().to_string()).collect();
                    self.read.insert(manifest.manifest_path.clone(), (all, live));
                }
                let (all, live) = &self.read[&manifest.manifest_path];
                out.extend(if live_only { live } else { all }.iter().cloned());
            }
        }
        Ok(out)
    }
}

/// An orphan: its store and its path there.
type Orphan = (Arc<dyn object_store::ObjectStore>, object_store::path::Path);

/// The files under the table's data and metadata folders that are not in
/// `referenced` and were last written before `cutoff`. A folder set (by
/// `write.data.path` or `write.metadata.path`) outside the table's
/// location is not searched: other tables' files may be there.
async fn orphans(
    stores: &Arc<dyn ObjectStoreRegistry>,
    metadata: &TableMetadata,
    referenced: &BTreeSet<String>,
    cutoff: i64,
) -> Result<Vec<Orphan>> {
    let location = metadata.location().trim_end_matches('/');
    let folder = |property: &str, default: &str| {
        metadata.properties().get(property).cloned().unwrap_or_else(|| format!("{location}/{default}"))
    };
    // Each referenced file as its store path, and percent-decoded.
    let mut known: HashSet<String> = HashSet::new();
    for file in referenced {
        if let Ok((_, path)) = super::io::locate(stores, file) {
            known.insert(path.to_string());
            known.insert(decoded(path.as_ref()));
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let (_, table_prefix) = super::io::locate(stores, location).map_err(|e| super::error(e, "VACUUM"))?;
    for root in [folder("write.data.path", "data"), folder("write.metadata.path", "metadata")] {
        let (store, prefix) = super::io::locate(stores, &root).map_err(|e| super::error(e, "VACUUM"))?;
        let inside = prefix.prefix_match(&table_prefix).is_some_and(|mut rest| rest.next().is_some());
        if !inside || !seen.insert(prefix.to_string()) {
            continue;
        }
        let listed: Vec<object_store::ObjectMeta> = match store.list(Some(&prefix)).try_collect().await {
            Ok(listed) => listed,
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => {
                return Err(Error::new(SqlState::IoError, format!("VACUUM: listing {root} failed: {e}")));
            }
        };
        for object in listed {
            let path = object.location.to_string();
            if known.contains(&path) || known.contains(&decoded(&path)) {
                continue;
            }
            if object.last_modified.timestamp_millis() >= cutoff || path.ends_with("version-hint.text") {
                continue;
            }
            out.push((Arc::clone(&store), object.location));
        }
    }
    Ok(out)
}

fn decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

async fn delete(file_io: &FileIO, file: &str, context: &str, done: &Vacuumed) -> Result<()> {
    file_io.delete(file).await.map_err(|e| {
        Error::new(
            SqlState::IoError,
            format!(
                "{context}: expired {} snapshots and deleted {} files, then file {file} could not be deleted: {e}",
                done.expired,
                done.deleted + done.orphans
            ),
        )
    })
}
