//! MySQL and MariaDB as glaux catalogs: a bounded pool of connections per
//! catalog (mysql_async), the server's databases as schemas, listed on
//! demand, and each table read by glaux's own scan ([`scan`]) through the
//! binary protocol, so every value arrives in its own type (no float is
//! re-parsed from text). [`columns`] maps each column's type exactly
//! from information_schema, or leaves the column out.
//!
//! Every connection sets `time_zone = '+00:00'` (TIMESTAMP values are
//! read as the instants they are) and utf8mb4.
//!
//! Options (`CREATE CATALOG c USING mysql WITH (...)`): `url`
//! (`mysql://host[:port]/database`, required; the database is the schema
//! sessions in the catalog start in), `user`, `password`, `sslmode`
//! (`disable`, the default, `require`, `verify-ca`, `verify-full`),
//! `sslrootcert` (a file), `pool_size` (connections at most, default 4).

/// The options a catalog of this connector takes.
pub const OPTIONS: &[&str] = &["url", "user", "password", "sslmode", "sslrootcert", "pool_size"];

pub mod columns;
pub mod scan;

use async_trait::async_trait;
use glaux_connector::connector::{Connector, Definition, RemoteTable};
use glaux_connector::pushdown::Dialect;
use glaux_connector::{Error, Result, SqlState};
use mysql_async::prelude::Queryable;
use mysql_async::{OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};
use std::sync::Arc;

/// One MySQL or MariaDB server as a catalog.
pub struct MySqlConnector {
    catalog: String,
    /// `host:port`, for messages.
    host: String,
    /// The url's database: the schema sessions start in.
    database: String,
    pool: Pool,
}

impl std::fmt::Debug for MySqlConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlConnector").field("catalog", &self.catalog).field("host", &self.host).finish()
    }
}

impl MySqlConnector {
    /// Makes the pool of `definition` and one connection now, so a wrong
    /// host or password fails here.
    pub async fn connect(definition: &Definition) -> Result<MySqlConnector> {
        let catalog = definition.name.clone();
        let option = |key: &str| definition.options.get(key).map(String::as_str);
        let bad = |message: String| Error::new(SqlState::InvalidParameterValue, message);
        let url = option("url").ok_or_else(|| bad(format!("catalog {catalog}: option 'url' is required")))?;
        let parsed = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "mysql" | "mariadb"))
            .ok_or_else(|| bad(format!("catalog {catalog}: url must be mysql://host[:port]/database")))?;
        if parsed.password().is_some() {
            return Err(bad(format!(
                "catalog {catalog}: its url holds a password; give it as the password option (env:NAME or file:/path keep it out of the configuration)"
            )));
        }
        let host = parsed.host_str().filter(|h| !h.is_empty()).unwrap_or("localhost").to_string();
        let port = parsed.port().unwrap_or(3306);
        let database = parsed.path().trim_start_matches('/').to_string();
        if database.is_empty() {
            return Err(bad(format!("catalog {catalog}: its url names no database")));
        }
        let size = option("pool_size").unwrap_or("4");
        let size: usize = size.parse().ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| {
            bad(format!("catalog {catalog}: pool_size must be a whole number from 1 to 64, not {size:?}"))
        })?;
        let ssl = match option("sslmode").unwrap_or("disable") {
            "disable" => None,
            "require" => Some(SslOpts::default().with_danger_accept_invalid_certs(true)),
            mode @ ("verify-ca" | "verify-full") => {
                let mut ssl = SslOpts::default().with_danger_skip_domain_validation(mode == "verify-ca");
                if let Some(root) = option("sslrootcert") {
                    ssl = ssl.with_root_certs(vec![std::path::PathBuf::from(root).into()]);
                }
                Some(ssl)
            }
            other => {
                return Err(bad(format!(
                    "catalog {catalog}: sslmode must be disable, require, verify-ca or verify-full, not {other:?}"
                )))
            }
        };
        let user = option("user").map(str::to_string).or(Some(parsed.username().to_string()).filter(|u| !u.is_empty()));
        let constraints = PoolConstraints::new(0, size).ok_or_else(|| bad(format!("catalog {catalog}: pool_size")))?;
        let opts = OptsBuilder::default()
            .ip_or_hostname(host.trim_start_matches('[').trim_end_matches(']'))
            .tcp_port(port)
            .user(user)
            .pass(option("password"))
            .db_name(Some(database.clone()))
            .prefer_socket(false)
            .ssl_opts(ssl)
            .init(vec!["SET time_zone = '+00:00'", "SET NAMES utf8mb4"])
            .pool_opts(PoolOpts::default().with_constraints(constraints));
        let host = format!("{host}:{port}");
        let pool = Pool::new(opts);
        let connector = MySqlConnector { catalog, host, database, pool };
        connector.pool.get_conn().await.map_err(|e| connector.connect_error(e))?;
        Ok(connector)
    }

    /// The schema sessions in this catalog start in: the url's database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// A connection's error with its SQLSTATE: refused credentials 28P01,
    /// anything else while connecting HV00N.
    fn connect_error(&self, e: mysql_async::Error) -> Error {
        let state = match &e {
            // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR
            mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1044 => SqlState::InvalidPassword,
            _ => SqlState::FdwUnableToEstablishConnection,
        };
        Error::new(state, format!("catalog {} cannot connect to MySQL at {}: {e}", self.catalog, self.host))
    }

    /// Where its tables' rows come from.
    fn server(&self) -> scan::Server {
        scan::Server { pool: self.pool.clone(), host: self.host.as_str().into() }
    }

    fn failed(&self, doing: &str, e: impl std::fmt::Display) -> Error {
        Error::new(SqlState::FdwError, format!("catalog {} (MySQL at {}): {doing}: {e}", self.catalog, self.host))
    }

    /// The rows of `sql` with `params`, each as its columns' values.
    async fn rows<T: mysql_async::prelude::FromRow + Send + 'static>(
        &self,
        doing: &str,
        sql: &str,
        params: Vec<String>,
    ) -> Result<Vec<T>> {
        let mut conn = self.pool.get_conn().await.map_err(|e| self.connect_error(e))?;
        conn.exec(sql, params).await.map_err(|e| self.failed(doing, e))
    }
}

#[async_trait]
impl Connector for MySqlConnector {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    async fn schemas(&self) -> Result<Vec<String>> {
        self.rows(
            "listing schemas",
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA \
             WHERE SCHEMA_NAME NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys') ORDER BY 1",
            Vec::new(),
        )
        .await
    }

    async fn tables(&self, schema: &str) -> Result<Vec<String>> {
        self.rows(
            "listing tables",
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1",
            vec![schema.to_string()],
        )
        .await
    }

    async fn table(&self, schema: &str, name: &str) -> Result<Option<RemoteTable>> {
        let described: Vec<columns::Described> = self
            .rows(
                &format!("reading the columns of {schema}.{name}"),
                columns::COLUMNS,
                vec![schema.to_string(), name.to_string()],
            )
            .await?;
        if described.is_empty() {
            return Ok(None);
        }
        let (mut read, mut skipped) = (Vec::new(), Vec::new());
        for column in described {
            match columns::column(&column) {
                Some(c) => read.push(c),
                None => skipped.push((column.0, column.2)),
            }
        }
        let kind: Vec<String> = self
            .rows(
                &format!("reading the kind of {schema}.{name}"),
                "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                vec![schema.to_string(), name.to_string()],
            )
            .await?;
        let view = kind.first().is_some_and(|k| k == "VIEW");
        let source = Arc::new(scan::MySqlTable::new(schema, name, read, self.server()));
        Ok(Some(RemoteTable { source, skipped, view }))
    }

    /// The query's columns as the server describes the prepared
    /// statement, mapped as a table's are.
    async fn query(&self, sql: &str) -> Result<RemoteTable> {
        let mut conn = self.pool.get_conn().await.map_err(|e| self.connect_error(e))?;
        let text = glaux_connector::sql::passthrough_text(sql);
        let statement = conn.prep(text).await.map_err(|e| {
            Error::new(SqlState::FdwError, format!("catalog {}: the source refused the query: {e}", self.catalog))
        })?;
        let (mut read, mut skipped) = (Vec::new(), Vec::new());
        for column in statement.columns() {
            let described = columns::describe(column);
            match columns::column(&described) {
                Some(c) => read.push(c),
                None => skipped.push((described.0, described.2)),
            }
        }
        conn.close(statement).await.map_err(|e| self.failed("closing the prepared query", e))?;
        let source = Arc::new(scan::MySqlTable::query(sql, read, self.server()));
        Ok(RemoteTable { source, skipped, view: false })
    }
}
