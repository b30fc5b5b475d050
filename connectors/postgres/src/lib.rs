//! PostgreSQL as a glaux catalog: a bounded connection pool per catalog
//! (datafusion-table-providers' pool: TLS modes, credentials), its schemas
//! and tables listed on demand, and each table read by glaux's own scan:
//! [`columns`] maps each column's type exactly (or leaves the column
//! out), [`scan`] sends the SELECT and [`decode`] turns PostgreSQL's
//! binary rows into Arrow. Which filters reach that SELECT is glaux's
//! decision (`glaux_connector::pushdown`), made where glaux wraps the
//! table.
//!
//! Options (`CREATE CATALOG c USING postgres WITH (...)`):
//! `url` (`postgresql://host[:port]/database`, required), `user`,
//! `password`, `sslmode` (`disable`, `prefer` (the default, as libpq's),
//! `require`, `verify-ca`, `verify-full`), `sslrootcert` (a file),
//! `pool_size` (connections at most, default 4).

/// The options a catalog of this connector takes.
pub const OPTIONS: &[&str] = &["url", "user", "password", "sslmode", "sslrootcert", "pool_size"];

pub mod columns;
pub mod decode;
pub mod scan;

use async_trait::async_trait;
use datafusion_table_providers::sql::db_connection_pool::dbconnection::get_schemas;
use datafusion_table_providers::sql::db_connection_pool::dbconnection::postgresconn::PostgresConnection;
use datafusion_table_providers::sql::db_connection_pool::postgrespool::{Error as PoolError, PostgresConnectionPool};
use datafusion_table_providers::sql::db_connection_pool::DbConnectionPool;
use glaux_connector::connector::{Connector, Definition, RemoteTable};
use glaux_connector::pushdown::Dialect;
use glaux_connector::{Error, Result, SqlState};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;

/// One PostgreSQL database as a catalog.
pub struct PostgresConnector {
    catalog: String,
    /// `host:port`, for messages.
    host: String,
    pool: Arc<PostgresConnectionPool>,
}

impl std::fmt::Debug for PostgresConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConnector").field("catalog", &self.catalog).field("host", &self.host).finish()
    }
}

impl PostgresConnector {
    /// Connects the pool of `definition` (one connection is made and
    /// checked now, so a wrong host or password fails here).
    pub async fn connect(definition: &Definition) -> Result<PostgresConnector> {
        let catalog = definition.name.clone();
        let option = |key: &str| definition.options.get(key).map(String::as_str);
        let bad = |message: String| Error::new(SqlState::InvalidParameterValue, message);
        let url = option("url").ok_or_else(|| bad(format!("catalog {catalog}: option 'url' is required")))?;
        let parsed =
            url::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "postgresql" | "postgres")).ok_or_else(|| {
                // The url is not echoed: it may hold a password.
                bad(format!("catalog {catalog}: url must be postgresql://host[:port]/database"))
            })?;
        let host = parsed.host_str().filter(|h| !h.is_empty()).unwrap_or("localhost").to_string();
        let port = parsed.port().unwrap_or(5432);
        let database = parsed.path().trim_start_matches('/');
        if database.is_empty() {
            return Err(bad(format!("catalog {catalog}: its url names no database")));
        }
        if parsed.password().is_some() {
            return Err(bad(format!(
                "catalog {catalog}: its url holds a password; give it as the password option (env:NAME or file:/path keep it out of the configuration)"
            )));
        }
        let mut params: HashMap<String, SecretString> = HashMap::new();
        let mut set = |k: &str, v: &str| {
            params.insert(k.to_string(), SecretString::from(v.to_string()));
        };
        set("host", host.trim_start_matches('[').trim_end_matches(']'));
        set("port", &port.to_string());
        set("db", database);
        if let Some(user) = option("user").or(Some(parsed.username()).filter(|u| !u.is_empty())) {
            set("user", user);
        }
        if let Some(password) = option("password") {
            set("pass", password);
        }
        set("sslmode", option("sslmode").unwrap_or("prefer"));
        if let Some(root) = option("sslrootcert") {
            set("sslrootcert", root);
        }
        let size = option("pool_size").unwrap_or("4");
        let size: u32 = size.parse().ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| {
            bad(format!("catalog {catalog}: pool_size must be a whole number from 1 to 64, not {size:?}"))
        })?;
        set("connection_pool_size", &size.to_string());
        set("application_name", "glaux");
        let host = format!("{host}:{port}");
        let pool = PostgresConnectionPool::new(params).await.map_err(|e| pool_error(&catalog, &host, e))?;
        Ok(PostgresConnector { catalog, host, pool: Arc::new(pool) })
    }

    fn failed(&self, doing: &str, e: impl std::fmt::Display) -> Error {
        Error::new(SqlState::FdwError, format!("catalog {} (PostgreSQL at {}): {doing}: {e}", self.catalog, self.host))
    }

    /// Where its tables' rows come from.
    fn server(&self) -> scan::Server {
        scan::Server { pool: Arc::clone(&self.pool), host: self.host.as_str().into() }
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> Error {
        Error::new(
            SqlState::FdwUnableToEstablishConnection,
            format!("catalog {} cannot connect to PostgreSQL at {}: {}", self.catalog, self.host, one_line(&e)),
        )
    }
}

/// The relations of schema `$1` that glaux reads as tables.
const RELATIONS: &str = "SELECT c.relname FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm') ORDER BY c.relname";

/// A pool's error with its SQLSTATE: credentials 28P01, a host that
/// cannot be reached HV00N, a bad option 22023.
fn pool_error(catalog: &str, host: &str, e: PoolError) -> Error {
    let state = match &e {
        PoolError::InvalidUsernameOrPassword { .. } => SqlState::InvalidPassword,
        PoolError::InvalidParameterError { .. }
        | PoolError::InvalidIntegerParameterError { .. }
        | PoolError::InvalidRootCertPathError { .. } => SqlState::InvalidParameterValue,
        PoolError::ConnectionPoolError { .. }
        | PoolError::ConnectionPoolRunError { .. }
        | PoolError::InvalidHostOrPortError { .. }
        | PoolError::PostgresConnectionError { .. } => SqlState::FdwUnableToEstablishConnection,
        _ => SqlState::FdwError,
    };
    Error::new(state, format!("catalog {catalog} cannot connect to PostgreSQL at {host}: {}", one_line(&e)))
}

/// An error's text on one line (the library's messages span several).
pub(crate) fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

#[async_trait]
impl Connector for PostgresConnector {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn schemas(&self) -> Result<Vec<String>> {
        let connection = self.pool.connect().await.map_err(|e| self.unreachable(e))?;
        get_schemas(connection).await.map_err(|e| self.failed("listing schemas", one_line(&e)))
    }

    /// Tables, views and materialized views (what the library's scan
    /// reads the columns of; its own listing leaves views out).
    async fn tables(&self, schema: &str) -> Result<Vec<String>> {
        let connection = self.pool.connect().await.map_err(|e| self.unreachable(e))?;
        let Some(connection) = connection.as_any().downcast_ref::<PostgresConnection>() else {
            return Err(self.failed("listing tables", "the pool gave a connection of another kind"));
        };
        let rows = connection.conn.query(RELATIONS, &[&schema]).await;
        let rows = rows.map_err(|e| self.failed("listing tables", one_line(&e)))?;
        rows.iter().map(|r| r.try_get::<_, String>(0).map_err(|e| self.failed("listing tables", e))).collect()
    }

    async fn table(&self, schema: &str, name: &str) -> Result<Option<RemoteTable>> {
        let connection = self.pool.connect().await.map_err(|e| self.unreachable(e))?;
        let Some(connection) = connection.as_any().downcast_ref::<PostgresConnection>() else {
            return Err(self.failed("reading columns", "the pool gave a connection of another kind"));
        };
        let doing = format!("reading the columns of {schema}.{name}");
        let rows = connection.conn.query(columns::COLUMNS, &[&schema, &name]).await;
        let rows = rows.map_err(|e| self.failed(&doing, one_line(&e)))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let (mut read, mut skipped) = (Vec::new(), Vec::new());
        for row in &rows {
            let described = columns::Described {
                name: row.try_get(0).map_err(|e| self.failed(&doing, e))?,
                oid: row.try_get(1).map_err(|e| self.failed(&doing, e))?,
                typmod: row.try_get(2).map_err(|e| self.failed(&doing, e))?,
                is_enum: row.try_get(3).map_err(|e| self.failed(&doing, e))?,
                element: row.try_get(4).map_err(|e| self.failed(&doing, e))?,
                element_is_enum: row.try_get(5).map_err(|e| self.failed(&doing, e))?,
                type_name: row.try_get(6).map_err(|e| self.failed(&doing, e))?,
            };
            match columns::column(&described) {
                Ok(column) => read.push(column),
                Err(type_name) => skipped.push((described.name, type_name)),
            }
        }
        let view = rows[0].try_get(7).map_err(|e| self.failed(&doing, e))?;
        let source = Arc::new(scan::PostgresTable::new(schema, name, read, self.server()));
        Ok(Some(RemoteTable { source, skipped, view }))
    }

    /// The query's columns as PostgreSQL describes the prepared
    /// statement (no typmods there: numeric reads as numeric(38,10)).
    async fn query(&self, sql: &str) -> Result<RemoteTable> {
        let connection = self.pool.connect().await.map_err(|e| self.unreachable(e))?;
        let Some(connection) = connection.as_any().downcast_ref::<PostgresConnection>() else {
            return Err(self.failed("preparing the query", "the pool gave a connection of another kind"));
        };
        let text = glaux_connector::sql::passthrough_text(sql);
        let prepared = connection.conn.prepare(text).await.map_err(|e| {
            Error::new(
                SqlState::FdwError,
                format!("catalog {}: the source refused the query: {}", self.catalog, one_line(&e)),
            )
        })?;
        let (mut read, mut skipped) = (Vec::new(), Vec::new());
        for column in prepared.columns() {
            let described = columns::describe(column.name(), column.type_());
            match columns::column(&described) {
                Ok(c) => read.push(c),
                Err(type_name) => skipped.push((described.name, type_name)),
            }
        }
        let source = Arc::new(scan::PostgresTable::query(sql, read, self.server()));
        Ok(RemoteTable { source, skipped, view: false })
    }
}
