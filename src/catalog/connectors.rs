//! Connector catalogs: another system's schemas and tables served as a
//! catalog beside the Glue-model ones (three-part names
//! `catalog.schema.table` reach them). Each is defined by a
//! [`Definition`] (today from the configuration file's
//! `[connector.<name>]` tables) and connected on first use, so glaux
//! starts while a source is down and a statement that needs it gets the
//! source's error (HV00N, 28P01). Option values of secrets may be
//! `env:NAME` or `file:/path`, read when connecting.
//!
//! [`ConnectorCatalogProvider`] shows one to DataFusion: any schema name
//! is accepted synchronously and resolved when a table is asked for (the
//! source is asked then, before planning, never during it).

use crate::error::{Error, Result, SqlState};
use crate::table::connector::ConnectorTable;
use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::Result as DfResult;
use glaux_connector::connector::{is_secret, Connector, Definition};
use std::any::Any;
use std::sync::Arc;

/// The kinds of connector glaux has.
pub const KINDS: &[&str] = &["postgres"];

/// One connector catalog: its definition, and its connection once made.
#[derive(Debug)]
pub struct ConnectorCatalog {
    pub definition: Definition,
    connector: tokio::sync::OnceCell<Arc<dyn Connector>>,
}

impl ConnectorCatalog {
    /// A catalog of `definition` (22023 for a kind glaux lacks).
    pub fn new(definition: Definition) -> Result<ConnectorCatalog> {
        if !KINDS.contains(&definition.kind.as_str()) {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!(
                    "catalog {}: connector type {:?} is not one glaux has (it has {})",
                    definition.name,
                    definition.kind,
                    KINDS.join(", ")
                ),
            ));
        }
        Ok(ConnectorCatalog { definition, connector: tokio::sync::OnceCell::new() })
    }

    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// The connector, connected now if it is not yet.
    pub async fn connector(&self) -> Result<Arc<dyn Connector>> {
        let connector = self.connector.get_or_try_init(|| async {
            let definition = with_secrets(&self.definition)?;
            let connected: Arc<dyn Connector> = match definition.kind.as_str() {
                "postgres" => Arc::new(glaux_connector_postgres::PostgresConnector::connect(&definition).await?),
                other => return Err(Error::new(SqlState::FeatureNotSupported, format!("connector type {other}"))),
            };
            Ok::<_, Error>(connected)
        });
        Ok(Arc::clone(connector.await?))
    }
}

/// `definition` with each secret's `env:` or `file:` reference read
/// (errors name the reference, never a value).
fn with_secrets(definition: &Definition) -> Result<Definition> {
    let mut out = definition.clone();
    for (key, value) in out.options.iter_mut().filter(|(k, _)| is_secret(k)) {
        let bad = |why: String| {
            Error::new(SqlState::InvalidParameterValue, format!("catalog {}: option {key}: {why}", definition.name))
        };
        if let Some(name) = value.strip_prefix("env:") {
            *value = std::env::var(name).map_err(|_| bad(format!("environment variable {name} is not set")))?;
        } else if let Some(path) = value.strip_prefix("file:") {
            let read = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read {path}: {e}")))?;
            *value = read.trim_end_matches(['\n', '\r']).to_string();
        }
    }
    Ok(out)
}

/// A connector catalog as DataFusion sees it.
#[derive(Debug)]
pub struct ConnectorCatalogProvider {
    pub catalog: Arc<ConnectorCatalog>,
}

impl CatalogProvider for ConnectorCatalogProvider {
    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Not listed synchronously: the source is asked when a table is.
    fn schema_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(ConnectorSchema { catalog: Arc::clone(&self.catalog), schema: name.to_string() }))
    }
}

#[derive(Debug)]
struct ConnectorSchema {
    catalog: Arc<ConnectorCatalog>,
    schema: String,
}

#[async_trait]
impl SchemaProvider for ConnectorSchema {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_names(&self) -> Vec<String> {
        Vec::new()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let connector = self.catalog.connector().await.map_err(Error::into_datafusion)?;
        let Some(table) = connector.table(&self.schema, name).await.map_err(Error::into_datafusion)? else {
            return Ok(None);
        };
        let qualified = format!("{}.{}.{name}", self.catalog.name(), self.schema);
        Ok(Some(Arc::new(ConnectorTable::new(qualified, table, connector.dialect()))))
    }

    fn table_exist(&self, _name: &str) -> bool {
        false
    }
}
