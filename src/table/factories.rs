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
use crate::error::{Error, Result};
use async_trait::async_trait;
use datafusion::catalog::TableProvider;
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

/// What a factory may use: the catalog, and the engine's view planner.
pub struct BuildContext<'a> {
    pub catalog: &'a Arc<dyn Metastore>,
    pub views: &'a dyn ViewPlanner,
    /// How many views are being expanded around this table.
    pub depth: usize,
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
        Ok(Arc::new(MeteredTable::new(files, format!("{}.{}", table.database_name, table.name))))
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

/// Iceberg tables are registered and described, not yet read.
struct Iceberg;

#[async_trait]
impl Factory for Iceberg {
    async fn build(&self, table: &Table, _: &BuildContext<'_>) -> Result<Arc<dyn TableProvider>> {
        Err(Error::not_supported(format!("reading Iceberg table {}.{}", table.database_name, table.name)))
    }
}
