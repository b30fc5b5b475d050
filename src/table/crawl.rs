//! The crawler's survey: walk a location, find the datasets under it and
//! describe each as a table would be (format, Hive partition keys, columns
//! merged across partitions, each partition's own columns), as a Glue
//! crawler does. Writing the result to the catalog is the engine's
//! (`engine/commands/crawl.rs`).
//!
//! Layout rules:
//! - files directly under the location, or under `k=v/` folders there, are
//!   one dataset named after the location's last folder;
//! - otherwise each first-level folder is a dataset named after it;
//! - inside a dataset, folders must be `k=v/`, the same keys in the same
//!   order everywhere (partition keys, typed `string` as Glue crawlers
//!   type them); files that break this are reported and left out.
//!
//! Formats come from file extensions (`.parquet`, `.orc`, `.json`,
//! `.csv`, `.tsv`, with compression suffixes), else from the first bytes.
//! A CSV's delimiter is the most frequent of `,` `\t` `|` `;` in its
//! first line, and the first line is a header when every field in it is
//! text and the second line has a number (Glue's rule).

use super::drift::widens;
use super::format::{compression_from_extension, storage_for, StoredAs, COMPRESSION_KEY, LAZY_SIMPLE_SERDE};
use crate::catalog::types::hive_to_arrow;
use crate::catalog::{Column, Parameters, Table, TableType};
use crate::error::{Error, Result, SqlState};
use datafusion::catalog::Session;
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::collections::BTreeMap;

/// One dataset found under the crawled location.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    /// The table as the crawler would create it (columns merged).
    pub table: Table,
    /// Partition values, their folder and their own columns.
    pub partitions: Vec<(Vec<String>, String, Vec<Column>)>,
    /// Merge notes: columns whose types differ between partitions.
    pub notes: Vec<String>,
}

/// What a crawl found: datasets, and files it had to leave out.
#[derive(Debug, Default)]
pub struct Survey {
    pub datasets: Vec<Dataset>,
    pub problems: Vec<String>,
}

/// Walk `location` and describe the datasets under it as tables of
/// `database`.
pub async fn survey(location: &str, database: &str, state: &dyn Session) -> Result<Survey> {
    let base = location.trim_end_matches('/').to_string();
    let mut probe = Table::external(database, "crawl", Vec::new());
    probe.storage_descriptor.location = Some(format!("{base}/"));
    let url = super::table_url(&probe)?;
    super::check_local_location(&probe, &url)?;
    let store = state.runtime_env().object_store(url.object_store())?;
    let prefix = url.prefix().as_ref().trim_end_matches('/').to_string();
    let listed: Vec<ObjectMeta> = store
        .list(Some(url.prefix()))
        .try_collect()
        .await
        .map_err(|e| Error::new(SqlState::IoError, format!("cannot list {location}: {e}")))?;

    // Group files by dataset: (name, root, partition folders, file).
    let mut groups: BTreeMap<String, Vec<(Vec<String>, ObjectMeta)>> = BTreeMap::new();
    let mut survey = Survey::default();
    let root_name = sanitize(base.rsplit('/').next().unwrap_or("data"));
    for file in listed.into_iter().filter(|f| f.size > 0) {
        let path = file.location.as_ref().to_string();
        let relative = path.strip_prefix(prefix.as_str()).unwrap_or(&path).trim_start_matches('/').to_string();
        let parts: Vec<&str> = relative.split('/').collect();
        let (file_name, folders) = parts.split_last().map(|(f, rest)| (*f, rest.to_vec())).unwrap_or(("", Vec::new()));
        if file_name.starts_with('_')
            || file_name.starts_with('.')
            || folders.iter().any(|f| f.starts_with('_') || f.starts_with('.'))
        {
            continue;
        }
        let (dataset, inner) = match folders.first() {
            None => (String::new(), Vec::new()),
            Some(first) if first.contains('=') => (String::new(), folders.clone()),
            Some(first) => (first.to_string(), folders[1..].to_vec()),
        };
        groups.entry(dataset).or_default().push((inner.iter().map(|s| s.to_string()).collect(), file));
    }

    for (folder, files) in groups {
        let name = if folder.is_empty() { root_name.clone() } else { sanitize(&folder) };
        let root = if folder.is_empty() { base.clone() } else { format!("{base}/{folder}") };
        match describe(&name, &root, database, files, store.as_ref(), state, &mut survey.problems).await? {
            Some(dataset) => survey.datasets.push(dataset),
            None => continue,
        }
    }
    Ok(survey)
}

/// One dataset's table and partitions, or None (with a problem noted)
/// when its files do not make one table.
async fn describe(
    name: &str,
    root: &str,
    database: &str,
    files: Vec<(Vec<String>, ObjectMeta)>,
    store: &dyn ObjectStore,
    state: &dyn Session,
    problems: &mut Vec<String>,
) -> Result<Option<Dataset>> {
    // Partition keys: the k of every k=v folder, the same everywhere.
    let mut keys: Option<Vec<String>> = None;
    let mut partitions: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    let mut kept: Vec<ObjectMeta> = Vec::new();
    for (folders, file) in files {
        let pairs: Option<Vec<(String, String)>> =
            folders.iter().map(|f| f.split_once('=').map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))).collect();
        let Some(pairs) = pairs else {
            problems.push(format!("{}: folders under {root} are not key=value", file.location));
            continue;
        };
        let these: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
        match &keys {
            None => keys = Some(these.clone()),
            Some(k) if *k != these => {
                problems.push(format!(
                    "{}: partition folders {} differ from {} elsewhere in {root}",
                    file.location,
                    these.join("/"),
                    k.join("/")
                ));
                continue;
            }
            _ => {}
        }
        let values: Vec<String> = pairs.iter().map(|(_, v)| v.clone()).collect();
        partitions.entry(values).or_insert(folders);
        kept.push(file);
    }
    let Some(first) = kept.first() else { return Ok(None) };
    let keys = keys.unwrap_or_default();

    // One format for the whole dataset.
    let format = detect_format(first, store).await?;
    for f in &kept {
        let other = detect_format(f, store).await?;
        if other.stored_as != format.stored_as {
            problems.push(format!("{root}: mixes {:?} and {:?} files; not crawled", format.stored_as, other.stored_as));
            return Ok(None);
        }
    }
    let mut parameters = Parameters::new();
    parameters.insert("EXTERNAL".into(), "TRUE".into());
    parameters.insert("classification".into(), format.classification.into());
    let mut serde_params = Parameters::new();
    let mut stored_as = format.stored_as;
    if let Some(delimiter) = format.delimiter {
        serde_params.insert("field.delim".into(), delimiter.to_string());
        stored_as = StoredAs::TextFile;
        if format.header {
            parameters.insert("skip.header.line.count".into(), "1".into());
        }
    }
    let serde = (stored_as == StoredAs::TextFile).then(|| LAZY_SIMPLE_SERDE.to_string());
    let mut sd = storage_for(stored_as, serde, serde_params);
    if let Some(c) = compression_from_extension(first.location.as_ref()) {
        if format.delimiter.is_some() || stored_as == StoredAs::Json {
            sd.compressed = true;
            sd.parameters.insert(COMPRESSION_KEY.into(), c.into());
        }
    }
    sd.location = Some(format!("{root}/"));
    let table = Table {
        name: name.to_string(),
        database_name: database.to_string(),
        table_type: TableType::ExternalTable,
        description: None,
        storage_descriptor: sd,
        partition_keys: keys.iter().map(|k| Column::new(k.clone(), "string")).collect(),
        parameters,
        view_original_text: None,
        view_expanded_text: None,
        create_time: crate::catalog::model::now(),
        update_time: crate::catalog::model::now(),
        version: 0,
        owner: None,
    };

    // Columns per partition (or of the whole dataset), merged in order.
    let mut found = Vec::new();
    if keys.is_empty() {
        let columns = super::infer_columns(&table, state).await?;
        found.push((Vec::new(), format!("{root}/"), columns));
    } else {
        for (values, folders) in partitions {
            let location = format!("{root}/{}/", folders.join("/"));
            let mut part = table.clone();
            part.partition_keys.clear();
            part.storage_descriptor.location = Some(location.clone());
            let columns = super::infer_columns(&part, state).await?;
            found.push((values, location, columns));
        }
    }
    let mut dataset = Dataset { name: name.to_string(), table, partitions: found, notes: Vec::new() };
    let merged = merge_columns(
        &[],
        dataset.partitions.iter().map(|(v, _, c)| (v.as_slice(), c.as_slice())),
        &keys,
        &mut dataset.notes,
    );
    dataset.table.storage_descriptor.columns = merged;
    Ok(Some(dataset))
}

/// Columns merged across partitions, starting from `start`: new names are
/// appended; a type another widens to replaces it; a type conflict keeps
/// the earlier type and is noted (the partition keeps its own columns, so
/// reading it reports the conflict).
pub fn merge_columns<'a>(
    start: &[Column],
    partitions: impl Iterator<Item = (&'a [String], &'a [Column])>,
    keys: &[String],
    notes: &mut Vec<String>,
) -> Vec<Column> {
    let mut merged: Vec<Column> = start.to_vec();
    for (values, columns) in partitions {
        for column in columns {
            if keys.contains(&column.name) {
                continue;
            }
            match merged.iter_mut().find(|m| m.name == column.name) {
                None => merged.push(column.clone()),
                Some(existing) if existing.data_type == column.data_type => {}
                Some(existing) => {
                    let (Ok(old), Ok(new)) = (hive_to_arrow(&existing.data_type), hive_to_arrow(&column.data_type))
                    else {
                        continue;
                    };
                    if widens(&old, &new) {
                        existing.data_type = column.data_type.clone();
                    } else if !widens(&new, &old) {
                        notes.push(format!(
                            "column {} is {} in partition {} but {} elsewhere; kept {}",
                            column.name,
                            column.data_type,
                            values.join("/"),
                            existing.data_type,
                            existing.data_type
                        ));
                    }
                }
            }
        }
    }
    merged
}

struct Detected {
    stored_as: StoredAs,
    classification: &'static str,
    /// CSV only.
    delimiter: Option<char>,
    header: bool,
}

async fn detect_format(file: &ObjectMeta, store: &dyn ObjectStore) -> Result<Detected> {
    let name = file.location.as_ref().to_ascii_lowercase();
    let stem = ["gz", "bz2", "xz", "zst", "zstd", "snappy"]
        .iter()
        .find_map(|c| name.strip_suffix(&format!(".{c}")))
        .unwrap_or(&name)
        .to_string();
    let kind = |s: StoredAs, c| Detected { stored_as: s, classification: c, delimiter: None, header: false };
    if stem.ends_with(".parquet") || stem.ends_with(".parq") {
        return Ok(kind(StoredAs::Parquet, "parquet"));
    }
    if stem.ends_with(".orc") {
        return Ok(kind(StoredAs::Orc, "orc"));
    }
    if stem.ends_with(".json") || stem.ends_with(".jsonl") || stem.ends_with(".ndjson") {
        return Ok(kind(StoredAs::Json, "json"));
    }
    let compressed = stem != name;
    let head = read_head(file, store).await?;
    if !compressed {
        if head.starts_with(b"PAR1") {
            return Ok(kind(StoredAs::Parquet, "parquet"));
        }
        if head.starts_with(b"ORC") {
            return Ok(kind(StoredAs::Orc, "orc"));
        }
        if head.first() == Some(&b'{') {
            return Ok(kind(StoredAs::Json, "json"));
        }
    }
    if compressed && !(stem.ends_with(".csv") || stem.ends_with(".tsv") || stem.ends_with(".txt")) {
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            format!(
                "cannot tell the format of {} (a compressed file without .csv, .tsv, .json or .txt before the suffix)",
                file.location
            ),
        ));
    }
    // Compressed text: the delimiter and header cannot be sniffed without
    // decompressing; take the extension's delimiter and no header.
    let text = if compressed { String::new() } else { String::from_utf8_lossy(&head).into_owned() };
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let delimiter = if stem.ends_with(".tsv") {
        '\t'
    } else {
        [',', '\t', '|', ';']
            .into_iter()
            .max_by_key(|d| first.matches(*d).count())
            .filter(|d| first.contains(*d))
            .unwrap_or(',')
    };
    let is_number = |f: &str| f.trim().trim_matches('"').parse::<f64>().is_ok();
    let header = !first.is_empty()
        && first.split(delimiter).all(|f| !f.trim().is_empty() && !is_number(f))
        && lines.next().is_some_and(|second| second.split(delimiter).any(is_number));
    Ok(Detected { stored_as: StoredAs::TextFile, classification: "csv", delimiter: Some(delimiter), header })
}

/// The first few KiB of a file.
async fn read_head(file: &ObjectMeta, store: &dyn ObjectStore) -> Result<Vec<u8>> {
    let end = file.size.min(8192);
    let bytes = store
        .get_range(&file.location, 0..end)
        .await
        .map_err(|e| Error::new(SqlState::IoError, format!("cannot read {}: {e}", file.location)))?;
    Ok(bytes.to_vec())
}

/// A folder name as a table name: lower case, other characters as `_`.
fn sanitize(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if s.is_empty() {
        "data".into()
    } else {
        s
    }
}
