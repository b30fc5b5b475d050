//! The engine: the only owner of DataFusion's session state. Frontends
//! (server, REPL) see [`Engine`], [`Session`], [`Output`] and [`Prepared`],
//! never DataFusion planning, the catalog or storage.
//!
//! - [`session`]: per-connection state and statement execution.
//! - [`statement`]: splitting scripts and classifying statements.
//! - `parser`: the parser of glaux's own statements (sqlparser's, extended).
//! - [`hive_ddl`]: Athena's Hive DDL (CREATE EXTERNAL TABLE, CREATE DATABASE).
//! - `commands`: glaux's own statements, one family per module, each
//!   statement a `Command` run against a narrow `Context`.
//! - [`output`]: what a statement produces, and its command tag.
//! - [`settings`]: SET, SHOW and RESET of session settings.
//! - [`transaction`]: transaction blocks, savepoints, the failed state.
//! - [`stream`]: wrappers of result streams.
//! - [`cursor`]: DECLARE / FETCH / CLOSE.
//! - [`single_value`]: the aggregate behind correlated scalar subqueries.
//! - [`notices`]: NOTICEs and WARNINGs a statement leaves for its client.
//! - `privileges`: what a command needs of its user, checked before it runs.
//! - `time_travel`: `FOR TIMESTAMP|VERSION AS OF` on Iceberg tables, carried
//!   through parsing and resolved to a snapshot before planning.
//!
//! Every table a statement references is resolved through the catalog
//! before DataFusion plans it (see `catalog::provider`).

mod abandon;
mod checked_arithmetic;
mod colnames;
pub(crate) mod commands;
pub(crate) mod complexity;
mod cursor;
mod datetime_constants;
mod decorrelate;
mod expr_rules;
mod functions;
mod guarded;
pub mod hive_ddl;
mod literals;
mod metering;
pub mod notices;
pub mod output;
mod parser;
mod passthrough;
mod privileges;
pub mod refusals;
mod reshape;
mod rewrite;
pub mod session;
mod settings;
mod single_value;
mod sql_prepare;
pub mod statement;
mod stream;
mod table_functions;
pub(crate) mod time_travel;
pub mod transaction;
pub(crate) mod writes;

pub use output::{Changed, Output, Tag};
pub use session::{Prepared, Session};
pub use statement::{split, SqlText};
pub use transaction::TxStatus;

use crate::catalog::connectors::{ConnectorCatalog, Origin};
use crate::catalog::glue::GlueCatalog;
use crate::catalog::list::{parse_others, Catalogs, NamedCatalog};
use crate::catalog::provider::{view_too_deep, GlauxCatalogList, TableFactory, MAX_VIEW_DEPTH};
use crate::catalog::sqlite::SqliteCatalog;
use crate::catalog::{Database, Metastore, SecurityStore, Table, Workgroup};
use crate::config::Config;
use crate::error::{Error, Result, SqlState};
use crate::pgcatalog::{self, SessionView, SharedView};
use crate::table::factories::{self, TablePart};
use crate::table::store::{ByteCounter, StoreRegistry};
use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::common::config::Dialect;
use datafusion::datasource::ViewTable;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionState;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::parser::ParserError;
use std::sync::Arc;

/// The database (schema) every catalog has and sessions start in.
pub const DEFAULT_DATABASE: &str = "public";

/// One glaux instance: configuration, the catalogs, the security store,
/// storage and the DataFusion runtime shared by all sessions.
#[derive(Clone, Debug)]
pub struct Engine {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    config: Config,
    /// The catalogs served; sessions start in the first.
    catalogs: Catalogs,
    /// Users and workgroups.
    security: Arc<dyn SecurityStore>,
    runtime: Arc<RuntimeEnv>,
    bytes_read: Arc<ByteCounter>,
    /// Every query run, durably (system.query_history).
    ledger: Arc<crate::workgroup::ledger::Ledger>,
    /// Queries queued or running (SHOW QUERIES) and concurrency gates.
    active: Arc<metering::ActiveQueries>,
    /// The memory limit of a query whose workgroup sets none
    /// (`engine.query_memory_limit`).
    default_memory_limit: Option<u64>,
}

impl Engine {
    /// Open the engine on the configured catalogs: the first embedded in
    /// the data dir or AWS Glue (`catalog.type`), then `catalog.others`.
    /// Users and workgroups stay in the data dir.
    pub async fn open(config: Config) -> Result<Engine> {
        let dir = config.data_dir();
        let create_dir = |dir: &std::path::Path| {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(SqlState::IoError, format!("cannot create data directory {}: {e}", dir.display()))
            })
        };
        create_dir(&dir)?;
        let embedded = Arc::new(SqliteCatalog::open(&dir.join("catalog.db"))?);
        let first: Arc<dyn Metastore> = match config.get("catalog.type") {
            "embedded" => Arc::clone(&embedded) as Arc<dyn Metastore>,
            "glue" => Arc::new(GlueCatalog::connect(&config).await?),
            other => {
                return Err(Error::new(
                    SqlState::ConfigFileError,
                    format!("catalog.type must be embedded or glue, not {other:?}"),
                ))
            }
        };
        let mut catalogs = Catalogs::new(NamedCatalog::new(config.catalog_name(), config.get("catalog.type"), first));
        for other in parse_others(config.get("catalog.others"))? {
            let metastore: Arc<dyn Metastore> = if other.kind == "glue" {
                Arc::new(GlueCatalog::connect(&config).await?)
            } else {
                create_dir(&dir.join("catalogs"))?;
                Arc::new(SqliteCatalog::open(&dir.join("catalogs").join(format!("{}.db", other.name)))?)
            };
            catalogs.push(NamedCatalog::new(other.name, &other.kind, metastore))?;
        }
        for definition in config.connectors()? {
            let name = definition.name.clone();
            let catalog = ConnectorCatalog::new(definition, Origin::Config)?;
            crate::catalog::connectors::check_options(&catalog.definition)?;
            catalogs.add_connector(Arc::new(catalog)).map_err(|_| {
                Error::new(
                    SqlState::ConfigFileError,
                    format!("catalog {name} is configured twice; catalog names must be distinct"),
                )
            })?;
        }
        Engine::with_stores(config, catalogs, embedded).await
    }

    /// Open the engine with one catalog, `catalog.name`, kept in `store`
    /// with the users and workgroups.
    pub async fn with_catalog<S: Metastore + SecurityStore + 'static>(config: Config, store: Arc<S>) -> Result<Engine> {
        let first = NamedCatalog::new(config.catalog_name(), "memory", Arc::clone(&store) as _);
        Engine::with_stores(config, Catalogs::new(first), store).await
    }

    /// Open the engine over any catalogs and security store.
    pub async fn with_stores(config: Config, catalogs: Catalogs, security: Arc<dyn SecurityStore>) -> Result<Engine> {
        for catalog in catalogs.metastores() {
            catalog.metastore.create_database(Database::new(DEFAULT_DATABASE), true).await?;
        }
        // Catalogs made by CREATE CATALOG; one whose name the
        // configuration has since taken is left out (and said so).
        for definition in security.list_catalogs().await? {
            let name = definition.name.clone();
            let added = ConnectorCatalog::new(definition, Origin::Created)
                .and_then(|catalog| catalogs.add_connector(Arc::new(catalog)));
            if let Err(e) = added {
                log::warn!("catalog {name}, made by CREATE CATALOG, is not served: {e}");
            }
        }
        if security.get_workgroup(Workgroup::PRIMARY).await?.is_none() {
            security.put_workgroup(Workgroup::new(Workgroup::PRIMARY), true).await?;
        }
        let memory = config.get("engine.query_memory_limit");
        let default_memory_limit = crate::workgroup::limits::parse_size_limit(memory).ok_or_else(|| {
            Error::new(
                SqlState::ConfigFileError,
                format!("engine.query_memory_limit must be a size (512MB, 8GB) or none, not {memory:?}"),
            )
        })?;
        let dir = config.data_dir();
        let ledger = match std::fs::create_dir_all(&dir) {
            Ok(()) => crate::workgroup::ledger::Ledger::open(&dir.join("ledger.db"))?,
            Err(_) => crate::workgroup::ledger::Ledger::in_memory()?,
        };
        let ledger = Arc::new(ledger);
        ledger.start_flusher();
        let bytes_read = Arc::new(ByteCounter::default());
        let registry = StoreRegistry::new(config.clone(), Arc::clone(&bytes_read));
        // The list-files cache is off: files added under a LOCATION must
        // be visible to the next query, as in Athena.
        let runtime = RuntimeEnvBuilder::new()
            .with_object_store_registry(Arc::new(registry))
            .with_object_list_cache_limit(0)
            .build_arc()?;
        Ok(Engine {
            shared: Arc::new(Shared {
                config,
                catalogs,
                security,
                runtime,
                bytes_read,
                ledger,
                active: Arc::default(),
                default_memory_limit,
            }),
        })
    }

    /// The catalog names clients may connect to (Postgres database names).
    pub fn catalog_names(&self) -> Vec<String> {
        self.shared.catalogs.names()
    }

    /// Start a session for `user` in catalog `catalog`, the first if none
    /// (3D000 naming the known catalogs if unknown).
    pub fn session(&self, user: &str, catalog: Option<&str>) -> Result<Session> {
        let catalog = match catalog {
            Some(name) => self.shared.catalogs.require(name, SqlState::UndefinedDatabase)?,
            None => self.shared.catalogs.first().clone(),
        };
        Ok(Session::new(Arc::clone(&self.shared), user, catalog))
    }

    /// Bytes read from storage by all sessions since start.
    pub fn bytes_read(&self) -> u64 {
        self.shared.bytes_read.get()
    }

    /// The users and workgroups (users are looked up at log-in).
    pub fn security(&self) -> Arc<dyn SecurityStore> {
        Arc::clone(&self.shared.security)
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }
}

/// The Arrow time zone of a session's `TimeZone` setting.
pub(crate) fn session_zone(view: &SharedView) -> String {
    let zone = pgcatalog::snapshot::read(view).setting("timezone").map(str::to_string);
    zone.and_then(|z| crate::pgtypes::arrow_time_zone(&z)).unwrap_or_else(|| "UTC".into())
}

impl Shared {
    /// A DataFusion session state whose unqualified names resolve in
    /// `database` of `catalog`; `depth` counts views being expanded;
    /// `view` is the session as pg_catalog and the PostgreSQL functions
    /// see it.
    fn new_state(
        self: &Arc<Self>,
        catalog: &NamedCatalog,
        database: &str,
        depth: usize,
        view: &SharedView,
    ) -> SessionState {
        // The configuration's DataFusion settings first, so glaux's own
        // below (names, dialect, time zone) cannot be changed by them.
        let mut options = datafusion::config::ConfigOptions::default();
        if let Err(e) = self.config.apply_datafusion(&mut options) {
            log::error!("{e}");
        }
        let mut config = SessionConfig::from(options)
            .with_default_catalog_and_schema(&catalog.name, database)
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(false);
        config.options_mut().sql_parser.dialect = Dialect::PostgreSQL;
        // `timestamp with time zone` values are instants in the session's
        // zone (the session updates this on SET TimeZone).
        config.options_mut().execution.time_zone = Some(session_zone(view));
        // pg_catalog, information_schema and system are the session's
        // catalog's, as PostgreSQL shows only the connected database.
        let system = || {
            let mut system = pgcatalog::schema_providers(view, &catalog.metastore);
            let ledger = crate::workgroup::ledger::SystemTables { ledger: Arc::clone(&self.ledger) };
            system.push(("system".to_string(), Arc::new(ledger) as Arc<dyn datafusion::catalog::SchemaProvider>));
            system
        };
        let mut catalogs = GlauxCatalogList::default();
        for served in self.catalogs.metastores() {
            let system = if served.name == catalog.name { system() } else { Vec::new() };
            let factory: Arc<dyn TableFactory> =
                Arc::new(TableBuilder { shared: Arc::clone(self), catalog: served.clone() });
            catalogs = catalogs.with(served, factory, depth, system);
        }
        let connected = catalog.connector.as_ref().map(|_| (catalog.name.clone(), system()));
        catalogs = catalogs.with_connectors(&self.catalogs, connected);
        let mut functions = guarded::guard(functions::all_with(
            datafusion::execution::SessionStateDefaults::default_scalar_functions(),
        ));
        functions.extend(pgcatalog::functions::all(view));
        SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(Arc::clone(&self.runtime))
            .with_default_features()
            .with_catalog_list(Arc::new(catalogs))
            .with_scalar_functions(functions)
            .with_window_functions(guarded::guard_window(
                datafusion::execution::SessionStateDefaults::default_window_functions(),
            ))
            .with_table_function_list(table_functions::all())
            .with_analyzer_rules(vec![
                Arc::new(datafusion::optimizer::analyzer::resolve_grouping_function::ResolveGroupingFunction::new()),
                Arc::new(literals::UnknownLiterals),
                Arc::new(datafusion::optimizer::analyzer::type_coercion::TypeCoercion::new()),
                Arc::new(checked_arithmetic::CheckedArithmetic),
            ])
            .with_optimizer_rule(Arc::new(datetime_constants::DatetimeConstants))
            .with_optimizer_rule(Arc::new(crate::table::semi_keys::SemiJoinKeys))
            .with_optimizer_rule(Arc::new(crate::table::source_query::SourceQueries))
            .with_physical_optimizer_rule(Arc::new(crate::table::join_keys::KeysFromJoins))
            .with_aggregate_functions({
                let mut aggregates = datafusion::execution::SessionStateDefaults::default_aggregate_functions();
                aggregates.push(Arc::new(single_value::udaf()));
                aggregates
            })
            .build()
    }

    /// A view of `catalog`, planned in its own catalog and database.
    async fn view_provider(
        self: &Arc<Self>,
        catalog: &NamedCatalog,
        table: &Table,
        depth: usize,
    ) -> Result<Arc<dyn TableProvider>> {
        if depth >= MAX_VIEW_DEPTH {
            return Err(view_too_deep(table));
        }
        let text = table.view_original_text.as_deref().unwrap_or_default();
        let parsed = time_travel::parse_statements(text).and_then(|mut s| {
            if s.len() == 1 {
                Ok(s.remove(0))
            } else {
                Err(ParserError::ParserError("not one statement".into()))
            }
        });
        let ast = parsed.map_err(|e| {
            Error::new(
                SqlState::DataCorrupted,
                format!("view {}.{} has unreadable SQL ({e}); recreate it", table.database_name, table.name),
            )
        })?;
        // A view is planned in its own database, seeing the catalog as the
        // session that uses it does (a fresh snapshot if it reads pg_catalog).
        let view = Arc::new(std::sync::RwLock::new(SessionView {
            schema: table.database_name.clone(),
            database: catalog.name.clone(),
            ..SessionView::default()
        }));
        let state = self.new_state(catalog, &table.database_name, depth + 1, &view);
        let ast = time_travel::resolve(&ast, &state).await?.unwrap_or(ast);
        let plan = state.statement_to_plan(DfStatement::Statement(Box::new(rewrite::for_datafusion(&ast)))).await?;
        Ok(Arc::new(ViewTable::new(plan, Some(text.to_string()))))
    }
}

/// Builds DataFusion tables for one catalog's entries (handed to the
/// catalog adapter): each from its kind's factory (`table::factories`),
/// with the engine's shared state planning views.
#[derive(Debug)]
struct TableBuilder {
    shared: Arc<Shared>,
    catalog: NamedCatalog,
}

#[async_trait]
impl TableFactory for TableBuilder {
    async fn table_provider(&self, table: &Table, part: TablePart, depth: usize) -> Result<Arc<dyn TableProvider>> {
        let context = factories::BuildContext {
            catalog: &self.catalog.metastore,
            stores: &self.shared.runtime.object_store_registry,
            views: self,
            depth,
            part,
        };
        factories::build(table, &context).await
    }
}

#[async_trait]
impl factories::ViewPlanner for TableBuilder {
    async fn view(&self, table: &Table, depth: usize) -> Result<Arc<dyn TableProvider>> {
        self.shared.view_provider(&self.catalog, table, depth).await
    }
}
