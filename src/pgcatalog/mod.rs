//! PostgreSQL's system catalogs as glaux shows them: `pg_catalog` and
//! `information_schema`, reflecting the Glue catalog live, so psql's
//! backslash commands, JDBC/ODBC metadata calls and BI tools' catalog
//! queries work unchanged.
//!
//! - [`snapshot`]: the session and catalog state one statement sees.
//! - [`oid`]: how OIDs are derived from names.
//! - [`types`]: pg_type's rows and `format_type`.
//! - [`settings`]: the session settings (GUCs) and their defaults.
//! - [`tables`]: the registry of system tables; [`relations`], [`system`]
//!   and [`information_schema`] define them; [`rows`] builds them.
//!
//! Each system table is built when a statement references it, from the
//! statement's [`Snapshot`], as an in-memory table. Must not depend on
//! `engine`, `server` or `repl`.

mod builtins;
pub mod functions;
pub mod information_schema;
pub mod oid;
mod reads;
pub mod relations;
pub mod rows;
pub mod settings;
pub mod snapshot;
pub mod system;
pub mod tables;
pub mod types;

pub use builtins::parse_array;
pub use reads::reads_catalog;
pub use snapshot::{CursorInfo, SessionView, SharedView, Snapshot};

use crate::catalog::Metastore;
use crate::error::Error;
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::Result as DfResult;
use std::any::Any;
use std::sync::Arc;

/// The schemas glaux provides itself, by name.
pub const SYSTEM_SCHEMAS: [&str; 2] = ["pg_catalog", "information_schema"];

/// The DataFusion schema providers of `pg_catalog` and
/// `information_schema` for one session.
pub fn schema_providers(view: &SharedView, catalog: &Arc<dyn Metastore>) -> Vec<(String, Arc<dyn SchemaProvider>)> {
    SYSTEM_SCHEMAS
        .iter()
        .map(|name| {
            let provider: Arc<dyn SchemaProvider> =
                Arc::new(SystemSchema { name, view: Arc::clone(view), catalog: Arc::clone(catalog) });
            (name.to_string(), provider)
        })
        .collect()
}

/// The current snapshot of `view`, loading one if the session has none.
pub async fn snapshot(view: &SharedView, catalog: &dyn Metastore) -> crate::error::Result<Arc<Snapshot>> {
    if let Some(s) = snapshot::read(view).snapshot.clone() {
        return Ok(s);
    }
    let loaded = Arc::new(Snapshot::load(catalog).await?);
    snapshot::write(view).snapshot = Some(Arc::clone(&loaded));
    Ok(loaded)
}

#[derive(Debug)]
struct SystemSchema {
    name: &'static str,
    view: SharedView,
    catalog: Arc<dyn Metastore>,
}

#[async_trait]
impl SchemaProvider for SystemSchema {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_names(&self) -> Vec<String> {
        tables::all().filter(|t| t.schema == self.name).map(|t| t.name.to_string()).collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some(table) = tables::find(self.name, name) else { return Ok(None) };
        let snapshot = snapshot(&self.view, self.catalog.as_ref()).await.map_err(Error::into_datafusion)?;
        let session = snapshot::read(&self.view).clone();
        let rows = table.build(&tables::Context { session: &session, snapshot: &snapshot });
        let schema = rows.schema();
        let batch = rows.into_batch().map_err(Error::into_datafusion)?;
        Ok(Some(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        tables::find(self.name, name).is_some()
    }
}
