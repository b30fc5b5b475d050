//! Connector catalogs: another system's schemas and tables served as a
//! catalog beside the Glue-model ones (three-part names
//! `catalog.schema.table` reach them, and a client may connect to one as
//! its database). Each is defined by a [`Definition`], from the
//! configuration file's `[connector.<name>]` tables or by CREATE CATALOG
//! (kept in the embedded store), and connected on first use, so glaux
//! starts while a source is down and a statement that needs it gets the
//! source's error (HV00N, 28P01). Option values of secrets may be
//! `env:NAME` or `file:/path`, read when connecting.
//!
//! A connector catalog is also a read-only [`Metastore`]: its schemas as
//! databases and its tables with their columns, asked of the source only
//! when something lists them (pg_catalog and information_schema of a
//! session connected to it, SHOW TABLES), so a slow source slows nothing
//! that does not read it.
//!
//! [`ConnectorCatalogProvider`] shows one to DataFusion: any schema name
//! is accepted synchronously and resolved when a table is asked for (the
//! source is asked then, before planning, never during it).

use super::{Database, IfExists, Metastore, Partition, Table};
use crate::error::{Error, Result, SqlState};
use crate::pgtypes::field_info;
use crate::table::connector::ConnectorTable;
use async_trait::async_trait;
use datafusion::arrow::datatypes::Field;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::Result as DfResult;
use glaux_connector::connector::{is_secret, Connector, Definition};
use pgwire::api::results::FieldFormat;
use std::any::Any;
use std::sync::Arc;

/// The table-name prefix of a passthrough query (`engine::passthrough`):
/// `catalog.system."query:<native SQL>"`.
pub const PASSTHROUGH: &str = "query:";

/// The kinds of connector glaux has.
pub const KINDS: &[&str] = &["postgres", "mysql", "sqlite", "flightsql"];

/// The options a connector of `kind` takes, besides `pushdown` (every
/// connector's).
fn options_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "postgres" => glaux_connector_postgres::OPTIONS,
        "mysql" => glaux_connector_mysql::OPTIONS,
        "sqlite" => glaux_connector_sqlite::OPTIONS,
        "flightsql" => glaux_connector_flightsql::OPTIONS,
        _ => &[],
    }
}

/// Refuses (22023) an option `definition`'s connector does not take, so
/// a misspelled `pasword` is not silently ignored. Checked where a
/// definition is made (CREATE CATALOG, the configuration file), not when
/// a stored one is served again. The message names the option, never its
/// value.
pub fn check_options(definition: &Definition) -> Result<()> {
    let known = options_of(&definition.kind);
    if let Some(unknown) = definition.options.keys().find(|k| *k != "pushdown" && !known.contains(&k.as_str())) {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!(
                "catalog {}: a {} catalog has no option {unknown:?} (its options: {}, pushdown)",
                definition.name,
                definition.kind,
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Where a connector catalog is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The configuration file (changed there, not by SQL).
    Config,
    /// CREATE CATALOG (DROP CATALOG removes it).
    Created,
}

/// One connector catalog: its definition, and its connection once made.
#[derive(Debug)]
pub struct ConnectorCatalog {
    pub definition: Definition,
    pub origin: Origin,
    connector: tokio::sync::OnceCell<Arc<dyn Connector>>,
}

impl ConnectorCatalog {
    /// A catalog of `definition` (22023 for a kind glaux lacks).
    pub fn new(definition: Definition, origin: Origin) -> Result<ConnectorCatalog> {
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
        if !matches!(definition.options.get("pushdown").map(String::as_str), None | Some("on" | "off")) {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!("catalog {}: option pushdown is on or off", definition.name),
            ));
        }
        Ok(ConnectorCatalog { definition, origin, connector: tokio::sync::OnceCell::new() })
    }

    /// Whether filters, limits and join keys are sent to the source
    /// (option `pushdown`, `on` by default; `off` reads whole tables, to
    /// compare).
    pub fn pushdown(&self) -> bool {
        self.definition.options.get("pushdown").map(String::as_str) != Some("off")
    }

    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// The schema a session connected to this catalog starts in:
    /// PostgreSQL's `public`, SQLite's `main`, MySQL's url database.
    pub fn default_schema(&self) -> String {
        match self.definition.kind.as_str() {
            "sqlite" => "main".to_string(),
            "mysql" => {
                let url = self.definition.options.get("url").and_then(|u| url::Url::parse(u).ok());
                url.map(|u| u.path().trim_start_matches('/').to_string()).unwrap_or_default()
            }
            _ => "public".to_string(),
        }
    }

    /// The refusal of a change to the source's catalog.
    fn read_only(&self, what: &str) -> Error {
        Error::new(
            SqlState::FeatureNotSupported,
            format!(
                "catalog {} is a {} connector catalog: glaux reads its tables but does not {what} there",
                self.name(),
                self.definition.kind
            ),
        )
    }

    /// `schema.name` as a catalog entry: a table or a view as the source
    /// defines it, its columns typed by [`catalog_type`].
    async fn entry(&self, schema: &str, name: &str) -> Result<Option<Table>> {
        let Some(table) = self.connector().await?.table(schema, name).await? else { return Ok(None) };
        let columns =
            table.source.schema().fields().iter().map(|f| super::Column::new(f.name(), catalog_type(f))).collect();
        let mut entry = Table::external(schema, name, columns);
        if table.view {
            entry.table_type = super::TableType::VirtualView;
        }
        entry.parameters.insert("connector".to_string(), self.definition.kind.clone());
        Ok(Some(entry))
    }

    /// The connector, connected now if it is not yet.
    pub async fn connector(&self) -> Result<Arc<dyn Connector>> {
        let connector = self.connector.get_or_try_init(|| async {
            let definition = with_secrets(&self.definition)?;
            let connected: Arc<dyn Connector> = match definition.kind.as_str() {
                "postgres" => Arc::new(glaux_connector_postgres::PostgresConnector::connect(&definition).await?),
                "sqlite" => Arc::new(glaux_connector_sqlite::SqliteConnector::connect(&definition).await?),
                "mysql" => Arc::new(glaux_connector_mysql::MySqlConnector::connect(&definition).await?),
                "flightsql" => Arc::new(glaux_connector_flightsql::FlightSqlConnector::connect(&definition).await?),
                other => return Err(Error::new(SqlState::FeatureNotSupported, format!("connector type {other}"))),
            };
            Ok::<_, Error>(connected)
        });
        Ok(Arc::clone(connector.await?))
    }
}

/// A connector column's type as its catalog entry names it: the Hive
/// type when that names the same PostgreSQL type as the column is sent
/// as, else PostgreSQL's own name for it (`uuid`, `json`, `time`,
/// `interval`), which pg_catalog and information_schema read back.
fn catalog_type(field: &Field) -> String {
    let sent = field_info(field, FieldFormat::Text);
    let hive = super::types::field_to_hive(field).ok().filter(|hive| {
        super::types::hive_to_field(field.name(), hive).is_ok_and(|f| {
            let listed = field_info(&f, FieldFormat::Text);
            (listed.datatype().oid(), listed.type_modifier()) == (sent.datatype().oid(), sent.type_modifier())
        })
    });
    hive.unwrap_or_else(|| match crate::pgcatalog::types::by_oid(sent.datatype().oid()) {
        Some(pg) => pg.name.to_string(),
        None => field.data_type().to_string(),
    })
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

/// The source's catalog, read-only: its schemas are the databases.
#[async_trait]
impl Metastore for ConnectorCatalog {
    async fn create_database(&self, _: Database, _: bool) -> Result<bool> {
        Err(self.read_only("create schemas"))
    }

    async fn get_database(&self, name: &str) -> Result<Option<Database>> {
        let schemas = self.connector().await?.schemas().await?;
        Ok(schemas.into_iter().find(|s| s == name).map(Database::new))
    }

    async fn list_databases(&self) -> Result<Vec<Database>> {
        Ok(self.connector().await?.schemas().await?.into_iter().map(Database::new).collect())
    }

    async fn drop_database(&self, _: &str, _: bool, _: bool) -> Result<bool> {
        Err(self.read_only("drop schemas"))
    }

    async fn create_table(&self, _: Table, _: IfExists, _: Vec<Partition>) -> Result<bool> {
        Err(self.read_only("create tables"))
    }

    async fn get_table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        self.entry(database, name).await
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<Table>> {
        let mut out = Vec::new();
        for name in self.list_table_names(database).await? {
            out.extend(self.entry(database, &name).await?);
        }
        Ok(out)
    }

    async fn list_table_names(&self, database: &str) -> Result<Vec<String>> {
        self.connector().await?.tables(database).await
    }

    async fn update_table(&self, _: Table) -> Result<i64> {
        Err(self.read_only("alter tables"))
    }

    async fn table_versions(&self, database: &str, name: &str) -> Result<Vec<(i64, Table)>> {
        Ok(self.entry(database, name).await?.into_iter().map(|t| (1, t)).collect())
    }

    async fn drop_table(&self, _: &str, _: &str) -> Result<Option<Table>> {
        Err(self.read_only("drop tables"))
    }

    async fn add_partitions(&self, _: &str, _: &str, _: Vec<Partition>) -> Result<()> {
        Err(self.read_only("add partitions"))
    }

    async fn list_partitions(&self, _: &str, _: &str) -> Result<Vec<Partition>> {
        Ok(Vec::new())
    }

    async fn drop_partitions(&self, _: &str, _: &str, _: &[Vec<String>]) -> Result<usize> {
        Err(self.read_only("drop partitions"))
    }
}

/// A connector catalog as DataFusion sees it. `system` are the schemas
/// served by glaux (pg_catalog, information_schema) for a session
/// connected to it; any other name is a schema of the source.
#[derive(Debug)]
pub struct ConnectorCatalogProvider {
    pub catalog: Arc<ConnectorCatalog>,
    pub system: Vec<(String, Arc<dyn SchemaProvider>)>,
}

impl CatalogProvider for ConnectorCatalogProvider {
    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Only the system schemas: the source is asked when a table is.
    fn schema_names(&self) -> Vec<String> {
        self.system.iter().map(|(name, _)| name.clone()).collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if let Some((_, provider)) = self.system.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Some(Arc::clone(provider));
        }
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
        if let Some(sql) = name.strip_prefix(PASSTHROUGH).filter(|_| self.schema == "system") {
            let table = connector.query(sql).await.map_err(Error::into_datafusion)?;
            let qualified = format!("{}.system.query", self.catalog.name());
            return Ok(Some(Arc::new(ConnectorTable::new(
                self.catalog.name(),
                qualified,
                table,
                connector.dialect(),
                self.catalog.pushdown(),
            ))));
        }
        let Some(table) = connector.table(&self.schema, name).await.map_err(Error::into_datafusion)? else {
            return Ok(None);
        };
        let qualified = format!("{}.{}.{name}", self.catalog.name(), self.schema);
        let (dialect, pushdown) = (connector.dialect(), self.catalog.pushdown());
        Ok(Some(Arc::new(ConnectorTable::new(self.catalog.name(), qualified, table, dialect, pushdown))))
    }

    fn table_exist(&self, _name: &str) -> bool {
        false
    }
}
