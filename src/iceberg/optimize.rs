//! `OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE ...]`: compaction, as
//! Athena does it.
//!
//! The current snapshot's data files (those the WHERE clause, on
//! partition columns only, can match) are grouped by partition. A file is
//! a candidate when it is smaller than `optimize_rewrite_min_data_file_size_bytes`
//! or larger than `optimize_rewrite_max_data_file_size_bytes`, or has at
//! least `optimize_rewrite_delete_file_threshold` delete files; a group's
//! candidates are rewritten when there are at least
//! `optimize_rewrite_data_file_threshold` of them, when one of them has
//! too many deletes or is too large, or when two or more of them hold more
//! than a target file's worth. These are Athena's table properties, with
//! its defaults (0.75 and 1.8 times the target file size, 5 files, 2
//! delete files).
//!
//! The files rewritten are read with their deletes applied (position and
//! equality deletes alike) and written again as files near the target
//! size (`write.target-file-size-bytes`), partitioned by the current
//! spec. One `replace` snapshot removes them, with the position-delete
//! files that deleted only from them, and adds the new files; a
//! concurrent commit makes it start again on the new snapshot
//! ([`super::snapshot::commit_retrying`]), so a row another statement
//! deleted meanwhile is never written back.

use super::commit::TableCatalog;
use super::row_level::{plan_tasks, read_position_deletes};
use super::snapshot::RowDelta;
use super::write::RowWriter;
use crate::catalog::Parameters;
use crate::error::{Error, Result, SqlState};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::logical_expr::Expr;
use futures::StreamExt;
use iceberg::scan::FileScanTask;
use iceberg::spec::{DataContentType, Struct};
use iceberg::table::Table;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// What OPTIMIZE did.
#[derive(Debug, Default, Clone)]
pub struct Rewritten {
    pub data_files: usize,
    pub delete_files: usize,
    pub written: usize,
}

/// When a file is rewritten (Athena's compaction properties).
#[derive(Debug, Clone, Copy)]
struct Thresholds {
    target: u64,
    min_size: u64,
    max_size: u64,
    files: usize,
    deletes: usize,
}

impl Thresholds {
    /// The table's: its catalog entry's Athena properties, then the
    /// metadata's, then Athena's defaults.
    fn of(entry: &Parameters, table: &Table) -> Result<Thresholds> {
        let metadata = table.metadata();
        let target = metadata
            .table_properties()
            .map_err(|e| super::error(e, "the table's write properties"))?
            .write_target_file_size_bytes as u64;
        let get = |key: &str| -> Result<Option<u64>> {
            let value = entry
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
                .or_else(|| metadata.properties().get(key).map(String::as_str));
            value
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        Error::new(
                            SqlState::InvalidParameterValue,
                            format!("table property {key} = '{v}' is not a whole number"),
                        )
                    })
                })
                .transpose()
        };
        Ok(Thresholds {
            target,
            min_size: get("optimize_rewrite_min_data_file_size_bytes")?.unwrap_or(target * 3 / 4),
            max_size: get("optimize_rewrite_max_data_file_size_bytes")?.unwrap_or(target * 9 / 5),
            files: get("optimize_rewrite_data_file_threshold")?.unwrap_or(5) as usize,
            deletes: get("optimize_rewrite_delete_file_threshold")?.unwrap_or(2) as usize,
        })
    }

    fn candidate(&self, task: &FileScanTask) -> bool {
        task.file_size_in_bytes < self.min_size
            || task.file_size_in_bytes > self.max_size
            || task.deletes.len() >= self.deletes
    }

    /// Whether a partition's `candidates` are rewritten.
    fn rewrites(&self, candidates: &[FileScanTask]) -> bool {
        let bytes: u64 = candidates.iter().map(|t| t.file_size_in_bytes).sum();
        candidates.len() >= self.files.max(1)
            || candidates.iter().any(|t| t.deletes.len() >= self.deletes || t.file_size_in_bytes > self.max_size)
            || (candidates.len() >= 2 && bytes > self.target)
    }
}

/// Rewrites the files of the table `catalog` commits to (`name`, for
/// messages; `entry`, its catalog properties) that `filters` can match.
pub async fn optimize(catalog: &TableCatalog, name: &str, entry: &Parameters, filters: &[Expr]) -> Result<Rewritten> {
    let statement = format!("OPTIMIZE {name}");
    let report = Mutex::new(Rewritten::default());
    crate::iceberg::snapshot::commit_retrying(catalog, &statement, |table| {
        let report = &report;
        let statement = statement.clone();
        async move {
            let (delta, rewritten) = rewrite(&table, &statement, entry, filters).await?;
            let count = rewritten.data_files as u64;
            *report.lock().unwrap_or_else(|p| p.into_inner()) = rewritten;
            Ok((delta, count))
        }
    })
    .await?;
    Ok(report.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// One attempt: the files to rewrite in `table`'s current snapshot,
/// rewritten.
async fn rewrite(
    table: &Table,
    statement: &str,
    entry: &Parameters,
    filters: &[Expr],
) -> Result<(RowDelta, Rewritten)> {
    let Some(snapshot) = table.metadata().current_snapshot() else {
        return Ok((RowDelta::default(), Rewritten::default()));
    };
    let fail = |e: iceberg::Error| super::error(e, statement);
    let thresholds = Thresholds::of(entry, table)?;
    let current = table.metadata().current_schema();
    let columns: Vec<String> = current.as_struct().fields().iter().map(|f| f.name.clone()).collect();
    let all = plan_tasks(table, snapshot, &[], &columns).await.map_err(fail)?;
    let live: HashSet<String> = all.iter().map(|t| t.data_file_path.clone()).collect();
    let tasks =
        if filters.is_empty() { all } else { plan_tasks(table, snapshot, filters, &columns).await.map_err(fail)? };
    // Files of one partition (and spec) are compacted together.
    let specs = super::row_level::spec_ids(table, snapshot).await.map_err(fail)?;
    let mut groups: HashMap<(i32, Struct), Vec<FileScanTask>> = HashMap::new();
    for task in tasks.into_iter().filter(|t| thresholds.candidate(t)) {
        let partition = task.partition.clone().unwrap_or_else(Struct::empty);
        // Every row of the file is written again: the WHERE clause chose
        // the file, it must not filter its rows.
        let task = FileScanTask { predicate: None, ..task };
        groups.entry((specs.of(&task.data_file_path), partition)).or_default().push(task);
    }
    let chosen: Vec<FileScanTask> = groups.into_values().filter(|group| thresholds.rewrites(group)).flatten().collect();
    if chosen.is_empty() {
        return Ok((RowDelta::default(), Rewritten::default()));
    }

    let schema: SchemaRef =
        Arc::new(iceberg::arrow::schema_to_arrow_schema(current).map_err(|e| super::error(e, statement))?);
    let mut writer = RowWriter::new(table).map_err(fail)?;
    let reader = iceberg::arrow::ArrowReaderBuilder::new(
        table.file_io().clone(),
        iceberg::Runtime::try_current().map_err(fail)?,
    )
    .build();
    let mut batches =
        super::orc::read(reader, table.file_io(), chosen.clone(), super::orc::BATCH_ROWS).map_err(fail)?;
    while let Some(batch) = batches.next().await {
        let batch = batch.and_then(|b| super::plain_batch(b, &schema)).map_err(fail)?;
        let batch = RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec())
            .map_err(datafusion::error::DataFusionError::from)?;
        writer.write(batch).await.map_err(fail)?;
    }
    let written = writer.close().await.map_err(fail)?;

    let mut removed: HashSet<String> = chosen.iter().map(|t| t.data_file_path.clone()).collect();
    let data_files = removed.len();
    // A position-delete file goes with the files it deletes from, when
    // they all go (or went before).
    let mut delete_files = 0;
    let attached: HashSet<&str> = chosen
        .iter()
        .flat_map(|t| &t.deletes)
        .filter(|d| d.file_type == DataContentType::PositionDeletes)
        .map(|d| d.file_path.as_str())
        .collect();
    let mut removable = Vec::new();
    for path in attached {
        let targets: HashMap<String, Vec<i64>> = read_position_deletes(table.file_io(), path).await.map_err(fail)?;
        if targets.keys().all(|data| removed.contains(data) || !live.contains(data)) {
            removable.push(path.to_string());
        }
    }
    for path in removable {
        removed.insert(path);
        delete_files += 1;
    }
    let report = Rewritten { data_files, delete_files, written: written.len() };
    Ok((RowDelta { added_data: written, removed, replace: true, ..RowDelta::default() }, report))
}

/// Refuses a WHERE clause of OPTIMIZE on anything but partition columns
/// (columns a partition field of the current spec is computed from), as
/// Athena does, or one the file planner cannot apply; and a format 1
/// table.
pub fn check_filter(table: &Table, name: &str, filters: &[Expr]) -> Result<()> {
    let metadata = table.metadata();
    if metadata.format_version() != iceberg::spec::FormatVersion::V2 {
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            format!("OPTIMIZE {name}: the table is Iceberg format 1; glaux rewrites format 2 tables"),
        ));
    }
    // A condition the file planner cannot apply would be dropped there,
    // and the whole table compacted.
    if let Some(filter) = filters
        .iter()
        .find(|f| iceberg_datafusion::physical_plan::convert_filters_to_predicate(&[(*f).clone()]).is_none())
    {
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            format!(
                "OPTIMIZE {name} ... WHERE {filter}: only comparisons of partition columns with constants choose files"
            ),
        ));
    }
    let schema = metadata.current_schema();
    let sources: HashSet<i32> = metadata.default_partition_spec().fields().iter().map(|f| f.source_id).collect();
    for filter in filters {
        for column in filter.column_refs() {
            let partition = schema.field_id_by_name(&column.name).is_some_and(|id| sources.contains(&id));
            if !partition {
                return Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("OPTIMIZE {name} ... WHERE may name only partition columns; {} is not one", column.name),
                ));
            }
        }
    }
    Ok(())
}
