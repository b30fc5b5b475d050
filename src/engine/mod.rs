//! The engine: the only owner of DataFusion's session state. Frontends
//! (server, REPL) see [`Engine`], [`Session`], [`Output`] and [`Prepared`],
//! never DataFusion planning, the catalog or storage.
//!
//! - [`session`]: per-connection state and statement execution.
//! - [`statement`]: splitting scripts and classifying statements.
//! - [`hive_ddl`]: the Athena/Hive DDL parser.
//! - `commands`: glaux's own statements, one family per module, each
//!   statement a `Command` run against a narrow `Context`.
//! - [`output`]: what a statement produces, and its command tag.
//! - [`settings`]: SET, SHOW and RESET of session settings.
//! - [`transaction`]: transaction blocks, savepoints, the failed state.
//! - [`stream`]: wrappers of result streams.
//! - [`cursor`]: DECLARE / FETCH / CLOSE.
//! - [`single_value`]: the aggregate behind correlated scalar subqueries.
//! - [`notices`]: NOTICEs and WARNINGs a statement leaves for its client.
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
mod tokens;
pub mod transaction;
mod writes;

pub use output::{Changed, Output, Tag};
pub use session::{Prepared, Session};
pub use statement::{split, SqlText};
pub use transaction::TxStatus;

use crate::catalog::glue::GlueCatalog;
use crate::catalog::provider::{view_too_deep, GlauxCatalogList, TableFactory, MAX_VIEW_DEPTH};
use crate::catalog::sqlite::SqliteCatalog;
use crate::catalog::{Catalog, Database, Table, Workgroup};
use crate::config::Config;
use crate::error::{Error, Result, SqlState};
use crate::pgcatalog::{self, SessionView, SharedView};
use crate::table::factories;
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
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::sync::Arc;

/// The database (schema) every catalog has and sessions start in.
pub const DEFAULT_DATABASE: &str = "public";

/// One glaux instance: configuration, the catalog, storage and the
/// DataFusion runtime shared by all sessions.
#[derive(Clone, Debug)]
pub struct Engine {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    config: Config,
    catalog_name: String,
    catalog: Arc<dyn Catalog>,
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
    /// Open the engine on the configured catalog: the embedded one in the
    /// data dir, or AWS Glue (`catalog.type`; users stay in the data dir).
    pub async fn open(config: Config) -> Result<Engine> {
        let dir = config.data_dir();
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::new(SqlState::IoError, format!("cannot create data directory {}: {e}", dir.display()))
        })?;
        let embedded: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(&dir.join("catalog.db"))?);
        let catalog: Arc<dyn Catalog> = match config.get("catalog.type") {
            "embedded" => embedded,
            "glue" => Arc::new(GlueCatalog::connect(&config, embedded).await?),
            other => {
                return Err(Error::new(
                    SqlState::ConfigFileError,
                    format!("catalog.type must be embedded or glue, not {other:?}"),
                ))
            }
        };
        Engine::with_catalog(config, catalog).await
    }

    /// Open the engine over any catalog implementation.
    pub async fn with_catalog(config: Config, catalog: Arc<dyn Catalog>) -> Result<Engine> {
        catalog.create_database(Database::new(DEFAULT_DATABASE), true).await?;
        if catalog.get_workgroup(Workgroup::PRIMARY).await?.is_none() {
            catalog.put_workgroup(Workgroup::new(Workgroup::PRIMARY), true).await?;
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
        let bytes_read = Arc::new(ByteCounter::default());
        let registry = StoreRegistry::new(config.clone(), Arc::clone(&bytes_read));
        // The list-files cache is off: files added under a LOCATION must
        // be visible to the next query, as in Athena.
        let runtime = RuntimeEnvBuilder::new()
            .with_object_store_registry(Arc::new(registry))
            .with_object_list_cache_limit(0)
            .build_arc()?;
        let catalog_name = config.catalog_name().to_string();
        Ok(Engine {
            shared: Arc::new(Shared {
                config,
                catalog_name,
                catalog,
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
        vec![self.shared.catalog_name.clone()]
    }

    /// Start a session for `user` in catalog `catalog` (3D000 if unknown).
    pub fn session(&self, user: &str, catalog: Option<&str>) -> Result<Session> {
        if let Some(name) = catalog {
            if name != self.shared.catalog_name {
                return Err(Error::new(
                    SqlState::UndefinedDatabase,
                    format!("database \"{name}\" does not exist; connect to database \"{}\"", self.shared.catalog_name),
                ));
            }
        }
        Ok(Session::new(Arc::clone(&self.shared), user))
    }

    /// Bytes read from storage by all sessions since start.
    pub fn bytes_read(&self) -> u64 {
        self.shared.bytes_read.get()
    }

    /// The catalog (users are looked up in it at log-in).
    pub fn catalog(&self) -> Arc<dyn Catalog> {
        Arc::clone(&self.shared.catalog)
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
    /// `database`; `depth` counts views being expanded; `view` is the
    /// session as pg_catalog and the PostgreSQL functions see it.
    fn new_state(self: &Arc<Self>, database: &str, depth: usize, view: &SharedView) -> SessionState {
        let mut config = SessionConfig::new()
            .with_default_catalog_and_schema(&self.catalog_name, database)
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(false);
        config.options_mut().sql_parser.dialect = Dialect::PostgreSQL;
        // `timestamp with time zone` values are instants in the session's
        // zone (the session updates this on SET TimeZone).
        config.options_mut().execution.time_zone = Some(session_zone(view));
        let factory: Arc<dyn TableFactory> = Arc::new(TableBuilder(Arc::clone(self)));
        let mut system = pgcatalog::schema_providers(view, &self.catalog);
        let ledger = crate::workgroup::ledger::SystemTables { ledger: Arc::clone(&self.ledger) };
        system.push(("system".to_string(), Arc::new(ledger)));
        let catalogs = GlauxCatalogList::new(&self.catalog_name, Arc::clone(&self.catalog), factory, depth, system);
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
            .with_aggregate_functions({
                let mut aggregates = datafusion::execution::SessionStateDefaults::default_aggregate_functions();
                aggregates.push(Arc::new(single_value::udaf()));
                aggregates
            })
            .build()
    }

    async fn view_provider(self: &Arc<Self>, table: &Table, depth: usize) -> Result<Arc<dyn TableProvider>> {
        if depth >= MAX_VIEW_DEPTH {
            return Err(view_too_deep(table));
        }
        let text = table.view_original_text.as_deref().unwrap_or_default();
        let ast = Parser::new(&PostgreSqlDialect {}).try_with_sql(text).and_then(|mut p| p.parse_statement()).map_err(
            |e| {
                Error::new(
                    SqlState::DataCorrupted,
                    format!("view {}.{} has unreadable SQL ({e}); recreate it", table.database_name, table.name),
                )
            },
        )?;
        // A view is planned in its own database, seeing the catalog as the
        // session that uses it does (a fresh snapshot if it reads pg_catalog).
        let view = Arc::new(std::sync::RwLock::new(SessionView {
            schema: table.database_name.clone(),
            database: self.catalog_name.clone(),
            ..SessionView::default()
        }));
        let state = self.new_state(&table.database_name, depth + 1, &view);
        let plan = state.statement_to_plan(DfStatement::Statement(Box::new(rewrite::for_datafusion(&ast)))).await?;
        Ok(Arc::new(ViewTable::new(plan, Some(text.to_string()))))
    }
}

/// Builds DataFusion tables for catalog entries (handed to the catalog
/// adapter): each from its kind's factory (`table::factories`), with the
/// engine's shared state planning views.
#[derive(Debug)]
struct TableBuilder(Arc<Shared>);

#[async_trait]
impl TableFactory for TableBuilder {
    async fn table_provider(&self, table: &Table, depth: usize) -> Result<Arc<dyn TableProvider>> {
        let context = factories::BuildContext { catalog: &self.0.catalog, views: self, depth };
        factories::build(table, &context).await
    }
}

#[async_trait]
impl factories::ViewPlanner for TableBuilder {
    async fn view(&self, table: &Table, depth: usize) -> Result<Arc<dyn TableProvider>> {
        self.0.view_provider(table, depth).await
    }
}
