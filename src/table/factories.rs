//! The table factories: what the catalog says a table is ([`TableKind`])
//! picks the factory that builds its DataFusion table.
//!
//! [`FACTORIES`] is the one list. A new kind of table (Iceberg tables, a
//! connector's tables) is a new [`TableKind`], a factory in its own file,
//! and one line in that list; the catalog adapter
//! (`catalog::provider`) and the engine do not change.

use super::metered::MeteredTable;
use super::partitioned::PartitionedTable;
use crate::catalog::{Metastore, Table, TableType};
use crate::error::{Error, Result, SqlState};
use crate::iceberg::metadata_tables::MetadataTable;
use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::prelude::SessionConfig;
use std::sync::Arc;

/// What a catalog entry is, as far as reading it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// An external (Hive) table over one folder of files.
    External,
    /// An external table with `PARTITIONED BY` keys.
    Partitioned,
    /// A view: stored SQL.
    View,
    /// An Apache Iceberg table (`table_type = ICEBERG`).
    Iceberg,
}

impl TableKind {
    pub fn of(table: &Table) -> TableKind {
        match table.table_type {
            TableType::ExternalTable if table.partition_keys.is_empty() => TableKind::External,
            TableType::ExternalTable => TableKind::Partitioned,
            TableType::VirtualView => TableKind::View,
            TableType::Iceberg => TableKind::Iceberg,
        }
    }
}

/// Which rows of a table a reference reads: the table's own, or (for
/// Iceberg tables) a snapshot chosen by time travel. The catalog adapter
/// finds it in the referenced name after a `$` (`t$snapshot=<id>`,
/// `t$timestamp_ms=<ms>`), which `engine::time_travel` writes; table
/// names themselves hold no `$` (Glue allows letters, digits and `_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TablePart {
    /// The table as it is now.
    Current,
    /// An Iceberg snapshot by id (`FOR VERSION AS OF`).
    Snapshot(i64),
    /// The Iceberg snapshot current at a time, in milliseconds since the
    /// epoch (`FOR TIMESTAMP AS OF`).
    AsOfMillis(i64),
    /// An Iceberg metadata table (`"t$snapshots"`, `"t$files"`, ...).
    Metadata(MetadataTable),
}

impl TablePart {
    /// The table name and part a referenced name means.
    pub fn split(name: &str) -> Result<(&str, TablePart)> {
        let Some((table, suffix)) = name.split_once('$') else {
            return Ok((name, TablePart::Current));
        };
        if let Some((metadata, _)) = suffix.split_once('$').filter(|(m, _)| MetadataTable::of_name(m).is_some()) {
            return Err(Error::not_supported(format!(
                "FOR VERSION|TIMESTAMP AS OF on the metadata table {table}${metadata} (metadata tables show the current snapshot)"
            )));
        }
        let number = |v: &str| v.parse::<i64>().ok();
        let part = match suffix.split_once('=') {
            Some(("snapshot", v)) => number(v).map(TablePart::Snapshot),
            Some(("timestamp_ms", v)) => number(v).map(TablePart::AsOfMillis),
            Some(_) => None,
            None => MetadataTable::of_name(suffix).map(TablePart::Metadata),
        };
        part.map(|p| (table, p)).ok_or_else(|| {
            let known: Vec<String> = MetadataTable::ALL.iter().map(|t| format!("${}", t.name())).collect();
            Error::new(
                SqlState::UndefinedTable,
                format!(
                    "relation \"{name}\" does not exist: an Iceberg table's metadata tables are {}",
                    known.join(", ")
                ),
            )
        })
    }

    /// The SQL that asks for this part, for messages.
    pub fn clause(self) -> String {
        match self {
            TablePart::Current => String::new(),
            TablePart::Snapshot(id) => format!("FOR VERSION AS OF {id}"),
            TablePart::AsOfMillis(ms) => format!("FOR TIMESTAMP AS OF {}", millis_text(ms)),
            TablePart::Metadata(t) => format!("the metadata table ${}", t.name()),
        }
    }
}

/// Milliseconds since the epoch as an ISO timestamp in UTC.
pub fn millis_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| format!("{ms} ms"), |t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
}

/// What a factory may use: the catalog, and the engine's view planner.
pub struct BuildContext<'a> {
    pub catalog: &'a Arc<dyn Metastore>,
    /// The engine's object stores (for a table format's metadata).
    pub stores: &'a Arc<dyn ObjectStoreRegistry>,
    pub views: &'a dyn ViewPlanner,
    /// How many views are being expanded around this table.
    pub depth: usize,
    /// Which rows the reference reads.
    pub part: TablePart,
}

/// Plans a view's stored SQL (the engine, which owns planning).
#[async_trait]
pub trait ViewPlanner: Send + Sync {
    async fn view(&self, table: &Table, depth: usize) -> Result<Arc<dyn TableProvider>>;
}

/// Builds the DataFusion table of one kind of catalog entry.
#[async_trait]
pub trait Factory: Send + Sync {
    async fn build(&self, table: &Table, context: &BuildContext<'_>) -> Result<Arc<dyn TableProvider>>;
}

/// Every kind of table glaux reads, with its factory.
pub static FACTORIES: &[(TableKind, &dyn Factory)] = &[
    (TableKind::External, &External),
    (TableKind::Partitioned, &Partitioned),
    (TableKind::View, &View),
    (TableKind::Iceberg, &Iceberg),
];

/// The DataFusion table for `table`, from its kind's factory.
pub async fn build(table: &Table, context: &BuildContext<'_>) -> Result<Arc<dyn TableProvider>> {
    let kind = TableKind::of(table);
    if context.part != TablePart::Current && kind != TableKind::Iceberg {
        return Err(Error::new(
            SqlState::WrongObjectType,
            format!(
                "{} reads Iceberg tables, and {}.{} is not one",
                context.part.clause(),
                table.database_name,
                table.name
            ),
        ));
    }
    let Some((_, factory)) = FACTORIES.iter().find(|(k, _)| *k == kind) else {
        return Err(Error::internal(format!("no table factory for {kind:?} tables")));
    };
    factory.build(table, context).await
}

struct External;

#[async_trait]
impl Factory for External {
    async fn build(&self, table: &Table, _: &BuildContext<'_>) -> Result<Arc<dyn TableProvider>> {
        let files = super::external_table(table, &SessionConfig::new())?;
        let name = format!("{}.{}", table.database_name, table.name);
        Ok(Arc::new(MeteredTable::new(files, name).writable(table.clone())))
    }
}

struct Partitioned;

#[async_trait]
impl Factory for Partitioned {
    async fn build(&self, table: &Table, context: &BuildContext<'_>) -> Result<Arc<dyn TableProvider>> {
        Ok(Arc::new(PartitionedTable::new(table.clone(), Arc::clone(context.catalog))?))
    }
}

struct View;

#[async_trait]
impl Factory for View {
    async fn build(&self, table: &Table, context: &BuildContext<'_>) -> Result<Arc<dyn TableProvider>> {
        context.views.view(table, context.depth).await
    }
}

/// An Iceberg table at its current snapshot (`crate::iceberg`).
struct Iceberg;

#[async_trait]
impl Factory for Iceberg {
    async fn build(&self, table: &Table, context: &BuildContext<'_>) -> Result<Arc<dyn TableProvider>> {
        let location = crate::iceberg::metadata_location(table)?;
        let loaded = crate::iceberg::load(location, Arc::clone(context.stores)).await?;
        let name = format!("{}.{}", table.database_name, table.name);
        if let TablePart::Metadata(which) = context.part {
            return Ok(Arc::new(crate::iceberg::metadata_tables::MetadataProvider::new(name, loaded, which)));
        }
        let table = crate::iceberg::table::IcebergTable::of_part(name, loaded, context.part)?;
        Ok(Arc::new(table.writable(Arc::clone(context.catalog))))
    }
}
