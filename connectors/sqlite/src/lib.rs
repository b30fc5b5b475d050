//! SQLite database files as glaux catalogs: a file's tables and views as
//! the schema `main`, each read by glaux's own scan ([`scan`]) on a
//! read-only connection opened per statement (opening a file costs
//! microseconds; no pool is kept). [`columns`] decides each column's type
//! from its declared type, by SQLite's affinity rules.
//!
//! Options (`CREATE CATALOG c USING sqlite WITH (...)`): `path`, the
//! database file (required; it must exist).

/// The options a catalog of this connector takes.
pub const OPTIONS: &[&str] = &["path"];

pub mod columns;
pub mod scan;

use async_trait::async_trait;
use glaux_connector::connector::{Connector, Definition, RemoteTable};
use glaux_connector::pushdown::Dialect;
use glaux_connector::{Error, Result, SqlState};
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::Arc;

/// One SQLite file as a catalog.
#[derive(Debug)]
pub struct SqliteConnector {
    catalog: String,
    path: PathBuf,
}

/// The one schema of a SQLite file.
const SCHEMA: &str = "main";

impl SqliteConnector {
    /// The catalog of `definition`, its file opened once now (so a
    /// missing or unreadable file fails here).
    pub async fn connect(definition: &Definition) -> Result<SqliteConnector> {
        let catalog = definition.name.clone();
        let path = definition.options.get("path").ok_or_else(|| {
            Error::new(SqlState::InvalidParameterValue, format!("catalog {catalog}: option 'path' is required"))
        })?;
        let connector = SqliteConnector { catalog, path: PathBuf::from(path) };
        let opened = connector.open()?;
        // A file that is not a database fails at its first read.
        opened.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())).map_err(|e| connector.unreachable(e))?;
        Ok(connector)
    }

    /// A read-only connection to the file.
    fn open(&self) -> Result<Connection> {
        if !self.path.is_file() {
            return Err(self.unreachable(format!("{} is not a file", self.path.display())));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(&self.path, flags).map_err(|e| self.unreachable(e))
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> Error {
        Error::new(
            SqlState::FdwUnableToEstablishConnection,
            format!("catalog {} cannot open SQLite file {}: {e}", self.catalog, self.path.display()),
        )
    }

    fn failed(&self, doing: &str, e: impl std::fmt::Display) -> Error {
        Error::new(
            SqlState::FdwError,
            format!("catalog {} (SQLite {}): {doing}: {e}", self.catalog, self.path.display()),
        )
    }

    /// Run `f` on a fresh connection on a blocking thread.
    async fn with_connection<T: Send + 'static>(
        &self,
        doing: &str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let connection = self.open()?;
        let done = tokio::task::spawn_blocking(move || f(&connection)).await;
        let done = done.map_err(|e| self.failed(doing, e))?;
        done.map_err(|e| self.failed(doing, e))
    }

    /// The tables and views of `schema` (SQLite's `main` only), each with
    /// its kind (`table` or `view`).
    async fn listed(&self, schema: &str) -> Result<Vec<(String, String)>> {
        if schema != SCHEMA {
            return Ok(Vec::new());
        }
        self.with_connection("listing tables", |c| {
            let mut statement = c.prepare(
                "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )?;
            let names = statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            names.collect()
        })
        .await
    }
}

#[async_trait]
impl Connector for SqliteConnector {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn schemas(&self) -> Result<Vec<String>> {
        Ok(vec![SCHEMA.to_string()])
    }

    async fn tables(&self, schema: &str) -> Result<Vec<String>> {
        Ok(self.listed(schema).await?.into_iter().map(|(name, _)| name).collect())
    }

    async fn table(&self, schema: &str, name: &str) -> Result<Option<RemoteTable>> {
        let Some((_, kind)) = self.listed(schema).await?.into_iter().find(|(t, _)| t == name) else {
            return Ok(None);
        };
        let table = name.to_string();
        let declared = self
            .with_connection(&format!("reading the columns of {name}"), move |c| {
                let mut statement =
                    c.prepare("SELECT name, type FROM pragma_table_xinfo(?1) WHERE hidden IN (0, 2, 3)")?;
                let rows = statement.query_map([&table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        let (mut read, mut skipped) = (Vec::new(), Vec::new());
        for (column, declared) in declared {
            match columns::column(&column, &declared) {
                Some(c) => read.push(c),
                None => skipped.push((column, declared)),
            }
        }
        let source = Arc::new(scan::SqliteTable::new(self.path.clone(), self.catalog.clone(), name, read));
        Ok(Some(RemoteTable { source, skipped, view: kind == "view" }))
    }

    /// The query's columns as SQLite describes the prepared statement: a
    /// column read straight from a table has its declared type; any other
    /// none (text).
    async fn query(&self, sql: &str) -> Result<RemoteTable> {
        let text = glaux_connector::sql::passthrough_text(sql).to_string();
        let declared = self
            .with_connection("preparing the query", move |c| {
                let statement = c.prepare(&text)?;
                Ok(statement
                    .columns()
                    .iter()
                    .map(|c| (c.name().to_string(), c.decl_type().unwrap_or_default().to_string()))
                    .collect::<Vec<_>>())
            })
            .await?;
        let (mut read, mut skipped) = (Vec::new(), Vec::new());
        for (column, declared) in declared {
            match columns::column(&column, &declared) {
                Some(c) => read.push(c),
                None => skipped.push((column, declared)),
            }
        }
        let source = Arc::new(scan::SqliteTable::query(self.path.clone(), self.catalog.clone(), sql, read));
        Ok(RemoteTable { source, skipped, view: false })
    }
}
