//! Shows the catalogs to DataFusion: a `CatalogProviderList` with every
//! catalog of the list, whose schemas are Glue databases and whose tables
//! are built on demand from metastore entries.
//!
//! DataFusion's `statement_to_plan` first collects every table a statement
//! references and awaits [`SchemaProvider::table`] for each, then plans
//! synchronously against that snapshot; so all catalog and storage look-ups
//! happen before planning, never during it. Views are planned here, from
//! their stored SQL, by a [`ViewPlanner`] the engine supplies.

use super::connectors::ConnectorCatalogProvider;
use super::list::{Catalogs, NamedCatalog};
use super::{normalize, Metastore, Table};
use crate::error::{Error, Result, SqlState};
use crate::table::factories::TablePart;
use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::error::Result as DfResult;
use std::any::Any;
use std::sync::Arc;

/// Views nest at most this deep (a view over itself would otherwise loop).
pub const MAX_VIEW_DEPTH: usize = 16;

/// Builds the DataFusion table for a catalog entry; implemented by the engine
/// (it knows storage and how to plan a view's SQL).
#[async_trait]
pub trait TableFactory: Send + Sync + std::fmt::Debug {
    /// `depth` counts the views being expanded around this table.
    async fn table_provider(&self, table: &Table, part: TablePart, depth: usize) -> Result<Arc<dyn TableProvider>>;
}

/// The catalog list handed to DataFusion: every catalog served.
#[derive(Debug, Clone, Default)]
pub struct GlauxCatalogList {
    catalogs: Vec<Arc<GlauxCatalog>>,
    /// The connector catalogs, looked up when a statement names one, so
    /// CREATE and DROP CATALOG reach sessions already running.
    connectors: Option<Catalogs>,
    /// The session's catalog when it is a connector catalog, with its
    /// system schemas.
    connected: Option<(String, Vec<(String, Arc<dyn SchemaProvider>)>)>,
}

impl GlauxCatalogList {
    /// Add `catalog`, its tables built by `factory`. `system` are schemas
    /// served by their own providers (pg_catalog, information_schema);
    /// every other schema name is a Glue database.
    pub fn with(
        mut self,
        catalog: &NamedCatalog,
        factory: Arc<dyn TableFactory>,
        depth: usize,
        system: Vec<(String, Arc<dyn SchemaProvider>)>,
    ) -> Self {
        let (name, catalog) = (catalog.name.clone(), Arc::clone(&catalog.metastore));
        self.catalogs.push(Arc::new(GlauxCatalog { name, catalog, factory, depth, system }));
        self
    }

    /// Serve the connector catalogs of `catalogs`; `connected` names the
    /// session's catalog if it is one, with its system schemas as for
    /// [`Self::with`].
    pub fn with_connectors(
        mut self,
        catalogs: &Catalogs,
        connected: Option<(String, Vec<(String, Arc<dyn SchemaProvider>)>)>,
    ) -> Self {
        self.connectors = Some(catalogs.clone());
        self.connected = connected;
        self
    }
}

impl CatalogProviderList for GlauxCatalogList {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn register_catalog(&self, _name: String, _catalog: Arc<dyn CatalogProvider>) -> Option<Arc<dyn CatalogProvider>> {
        None
    }

    fn catalog_names(&self) -> Vec<String> {
        let connectors = self.connectors.iter().flat_map(|c| c.connectors()).map(|c| c.name().to_string());
        self.catalogs.iter().map(|c| c.name.clone()).chain(connectors).collect()
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        if let Some(found) = self.catalogs.iter().find(|c| c.name == name) {
            return Some(Arc::clone(found) as Arc<dyn CatalogProvider>);
        }
        let catalog = self.connectors.as_ref()?.connector(name)?;
        let system = match &self.connected {
            Some((connected, system)) if connected == name => system.clone(),
            _ => Vec::new(),
        };
        Some(Arc::new(ConnectorCatalogProvider { catalog, system }))
    }
}

#[derive(Debug)]
struct GlauxCatalog {
    name: String,
    catalog: Arc<dyn Metastore>,
    factory: Arc<dyn TableFactory>,
    depth: usize,
    system: Vec<(String, Arc<dyn SchemaProvider>)>,
}

impl CatalogProvider for GlauxCatalog {
    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Only the system schemas: Glue databases are not listed
    /// synchronously (the catalog may be remote); SHOW DATABASES asks the
    /// catalog directly.
    fn schema_names(&self) -> Vec<String> {
        self.system.iter().map(|(name, _)| name.clone()).collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if let Some((_, provider)) = self.system.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Some(Arc::clone(provider));
        }
        Some(Arc::new(GlauxSchema {
            database: normalize(name),
            catalog: Arc::clone(&self.catalog),
            factory: Arc::clone(&self.factory),
            depth: self.depth,
        }))
    }
}

#[derive(Debug)]
struct GlauxSchema {
    database: String,
    catalog: Arc<dyn Metastore>,
    factory: Arc<dyn TableFactory>,
    depth: usize,
}

#[async_trait]
impl SchemaProvider for GlauxSchema {
    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Not listed synchronously; SHOW TABLES asks the catalog directly.
    fn table_names(&self) -> Vec<String> {
        Vec::new()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let (name, part) = TablePart::split(name).map_err(Error::into_datafusion)?;
        let found = self.catalog.get_table(&self.database, name).await.map_err(Error::into_datafusion)?;
        match found {
            Some(table) => {
                let provider =
                    self.factory.table_provider(&table, part, self.depth).await.map_err(Error::into_datafusion)?;
                Ok(Some(provider))
            }
            None => {
                // A missing database is a clearer error than a missing table.
                if self.catalog.get_database(&self.database).await.map_err(Error::into_datafusion)?.is_none() {
                    let known: Vec<String> = self
                        .catalog
                        .list_databases()
                        .await
                        .map_err(Error::into_datafusion)?
                        .into_iter()
                        .map(|d| d.name)
                        .collect();
                    return Err(super::unknown_database(&self.database, &known).into_datafusion());
                }
                Ok(None)
            }
        }
    }

    fn table_exist(&self, _name: &str) -> bool {
        false
    }
}

/// The error for a view nested too deeply (or defined in terms of itself).
pub fn view_too_deep(table: &Table) -> Error {
    Error::new(
        SqlState::ProgramLimitExceeded,
        format!(
            "view {}.{} nests more than {MAX_VIEW_DEPTH} views deep (does it refer to itself?)",
            table.database_name, table.name
        ),
    )
}
