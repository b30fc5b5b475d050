//! Arrow Flight SQL servers as glaux catalogs: any source that speaks
//! Flight SQL (a team's own connector in any language, run as its own
//! process) lists its schemas and tables through Flight SQL's metadata
//! commands and answers the SELECTs glaux writes, its rows arriving as
//! Arrow batches (no decoding: each column must arrive in the type the
//! server described, or the query fails naming it).
//!
//! The server's SQL dialect is unknown to glaux, so what is sent is
//! standard SQL with double-quoted identifiers, and only what any SQL
//! engine evaluates alike (`glaux_connector::pushdown`, dialect
//! `FlightSql`): conditions on integer and boolean columns, LIMIT, and
//! joins, GROUP BY and ORDER BY on integer keys.
//!
//! Options (`CREATE CATALOG c USING flightsql WITH (...)`): `url`
//! (`grpc://host:port` or `http://host:port`, or `grpc+tls://host:port`
//! or `https://host:port` over TLS, required), `tls_ca` (a PEM file of
//! certificates to trust besides the system's, for a private CA),
//! `user` and `password` (Flight's basic-auth handshake,
//! whose bearer token goes with every call), or `token` (a bearer token
//! as it is), `catalog` (the server's catalog whose schemas are listed;
//! all of them by default), `pool_size` (calls at once, default 4).

/// The options a catalog of this connector takes.
pub const OPTIONS: &[&str] = &["url", "tls_ca", "user", "password", "token", "catalog", "pool_size"];

pub mod client;
pub mod columns;
pub mod scan;

use arrow_flight::sql::{CommandGetDbSchemas, CommandGetTables, CommandStatementQuery};
use async_trait::async_trait;
use client::{Client, ConnectError};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::Schema;
use futures::TryStreamExt;
use glaux_connector::connector::{Connector, Definition, RemoteTable};
use glaux_connector::pushdown::Dialect;
use glaux_connector::{Error, Result, SqlState};
use std::sync::Arc;
use tonic::Status;

/// One Flight SQL server as a catalog.
#[derive(Debug)]
pub struct FlightSqlConnector {
    catalog: String,
    /// The url, for messages.
    url: String,
    /// The server's catalog listed, if one was chosen.
    server_catalog: Option<String>,
    client: Client,
}

impl FlightSqlConnector {
    /// Connects to the server of `definition` and authenticates now (so
    /// a wrong address or password fails here).
    pub async fn connect(definition: &Definition) -> Result<FlightSqlConnector> {
        let catalog = definition.name.clone();
        let option = |key: &str| definition.options.get(key).map(String::as_str);
        let bad = |message: String| Error::new(SqlState::InvalidParameterValue, message);
        let url = option("url").ok_or_else(|| bad(format!("catalog {catalog}: option 'url' is required")))?;
        let plain = url.strip_prefix("grpc://").or_else(|| url.strip_prefix("http://"));
        let secure = url.strip_prefix("grpc+tls://").or_else(|| url.strip_prefix("https://"));
        let (scheme, address) = match (plain, secure) {
            (Some(address), _) if !address.is_empty() => ("http", address),
            (_, Some(address)) if !address.is_empty() => ("https", address),
            _ => {
                return Err(bad(format!(
                    "catalog {catalog}: url must be grpc://host:port or http://host:port, or grpc+tls://host:port or https://host:port for TLS"
                )))
            }
        };
        let url = format!("{scheme}://{address}");
        let tls = match (scheme, option("tls_ca")) {
            ("http", Some(_)) => {
                return Err(bad(format!("catalog {catalog}: option tls_ca needs a grpc+tls:// or https:// url")))
            }
            ("http", None) => None,
            (_, None) => Some(client::Tls { ca: None }),
            (_, Some(path)) => {
                let pem = std::fs::read(path)
                    .map_err(|e| bad(format!("catalog {catalog}: option tls_ca: cannot read {path}: {e}")))?;
                Some(client::Tls { ca: Some(pem) })
            }
        };
        let size = option("pool_size").unwrap_or("4");
        let size: usize = size.parse().ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| {
            bad(format!("catalog {catalog}: pool_size must be a whole number from 1 to 64, not {size:?}"))
        })?;
        let client = Client::connect(&url, size, tls).await.map_err(|e| match e {
            ConnectError::Url(why) => bad(format!("catalog {catalog}: url {url}: {why}")),
            ConnectError::Unreachable(why) => Error::new(
                SqlState::FdwUnableToEstablishConnection,
                format!("catalog {catalog} cannot connect to the Flight SQL server at {url}: {why}"),
            ),
        })?;
        let server_catalog = option("catalog").map(str::to_string);
        let mut connector = FlightSqlConnector { catalog, url, server_catalog, client };
        let authenticated = match (option("user"), option("password"), option("token")) {
            (_, _, Some(token)) => connector.client.set_token(token),
            (Some(user), password, None) => connector.client.handshake(user, password.unwrap_or_default()).await,
            _ => Ok(()),
        };
        authenticated.map_err(|s| connector.status(&s))?;
        // One call now, so a server that refuses glaux fails here.
        connector.schemas().await?;
        Ok(connector)
    }

    /// A server's refusal with its SQLSTATE: credentials 28P01, a server
    /// that cannot be reached HV00N, anything else HV000.
    fn status(&self, status: &Status) -> Error {
        let (state, what) = client::classify(status);
        Error::new(state, format!("catalog {} (Flight SQL at {}) {what}: {}", self.catalog, self.url, status.message()))
    }

    /// The batches answering a metadata command.
    async fn metadata(&self, command: &impl arrow_flight::sql::ProstMessageExt) -> Result<Vec<RecordBatch>> {
        let info = self.client.info(command).await.map_err(|s| self.status(&s))?;
        self.client.rows(info).try_collect().await.map_err(|e| self.flight_error(e))
    }

    fn flight_error(&self, e: arrow_flight::error::FlightError) -> Error {
        match e {
            arrow_flight::error::FlightError::Tonic(status) => self.status(&status),
            other => Error::new(
                SqlState::FdwError,
                format!("catalog {} (Flight SQL at {}): {other}", self.catalog, self.url),
            ),
        }
    }

    /// The tables of `schema` (exactly that name: Flight SQL's patterns
    /// treat `%` and `_` as wildcards), each with the server's catalog
    /// holding it and, when one `name` is asked for, its Arrow schema.
    async fn listed(&self, schema: &str, name: Option<&str>) -> Result<Vec<Listed>> {
        let command = CommandGetTables {
            catalog: self.server_catalog.clone(),
            db_schema_filter_pattern: Some(schema.to_string()),
            table_name_filter_pattern: name.map(str::to_string),
            table_types: Vec::new(),
            include_schema: name.is_some(),
        };
        let mut tables = Vec::new();
        for batch in self.metadata(&command).await? {
            let text = |column: &str| batch.column_by_name(column).and_then(|c| c.as_string_opt::<i32>().cloned());
            let (Some(schemas), Some(names)) = (text("db_schema_name"), text("table_name")) else {
                return Err(self.bad_answer("its table list lacks db_schema_name or table_name"));
            };
            let described = batch.column_by_name("table_schema").and_then(|c| c.as_binary_opt::<i32>().cloned());
            let catalogs = text("catalog_name");
            let kinds = text("table_type");
            for row in 0..batch.num_rows() {
                if schemas.is_null(row) || schemas.value(row) != schema {
                    continue;
                }
                if name.is_some_and(|n| n != names.value(row)) {
                    continue;
                }
                let arrow = match &described {
                    Some(bytes) if name.is_some() => Some(
                        Schema::try_from(arrow_flight::IpcMessage(bytes.value(row).to_vec().into()))
                            .map_err(|e| self.bad_answer(&format!("a table's schema does not decode: {e}")))?,
                    ),
                    _ => None,
                };
                let catalog = catalogs.as_ref().filter(|c| c.is_valid(row)).map(|c| c.value(row).to_string());
                let view = kinds.as_ref().is_some_and(|k| k.is_valid(row) && k.value(row).eq_ignore_ascii_case("view"));
                tables.push(Listed { name: names.value(row).to_string(), catalog, schema: arrow, view });
            }
        }
        Ok(tables)
    }

    fn bad_answer(&self, why: &str) -> Error {
        Error::new(SqlState::FdwError, format!("catalog {} (Flight SQL at {}): {why}", self.catalog, self.url))
    }
}

#[async_trait]
impl Connector for FlightSqlConnector {
    fn dialect(&self) -> Dialect {
        Dialect::FlightSql
    }

    async fn schemas(&self) -> Result<Vec<String>> {
        let command = CommandGetDbSchemas { catalog: self.server_catalog.clone(), db_schema_filter_pattern: None };
        let mut schemas = Vec::new();
        for batch in self.metadata(&command).await? {
            let Some(names) = batch.column_by_name("db_schema_name").and_then(|c| c.as_string_opt::<i32>().cloned())
            else {
                return Err(self.bad_answer("its schema list lacks db_schema_name"));
            };
            for name in names.iter().flatten() {
                if !schemas.iter().any(|s| s == name) {
                    schemas.push(name.to_string());
                }
            }
        }
        Ok(schemas)
    }

    async fn tables(&self, schema: &str) -> Result<Vec<String>> {
        Ok(self.listed(schema, None).await?.into_iter().map(|t| t.name).collect())
    }

    async fn table(&self, schema: &str, name: &str) -> Result<Option<RemoteTable>> {
        let Some(listed) = self.listed(schema, Some(name)).await?.into_iter().next() else {
            return Ok(None);
        };
        let described = listed.schema.ok_or_else(|| self.bad_answer("it did not send the table's schema"))?;
        let (read, skipped) = columns::readable(&described);
        // Named in the server's catalog that holds it (not the server's
        // default one), when the server has catalogs.
        let from = match listed.catalog.filter(|c| !c.is_empty()) {
            Some(catalog) => format!("{}.{}.{}", quote(&catalog), quote(schema), quote(name)),
            None => format!("{}.{}", quote(schema), quote(name)),
        };
        let source = Arc::new(scan::FlightSqlTable::new(from, true, read, self.client.clone()));
        Ok(Some(RemoteTable { source, skipped, view: listed.view }))
    }

    /// The query's columns as the server describes them (GetFlightInfo
    /// of the statement, whose schema is its result's).
    async fn query(&self, sql: &str) -> Result<RemoteTable> {
        let text = glaux_connector::sql::passthrough_text(sql).to_string();
        let info = self
            .client
            .info(&CommandStatementQuery { query: text, transaction_id: None })
            .await
            .map_err(|s| self.status(&s))?;
        let described = info.try_decode_schema().map_err(|e| self.bad_answer(&format!("its schema: {e}")))?;
        let (read, skipped) = columns::readable(&described);
        let from = glaux_connector::sql::passthrough_from(sql, Dialect::FlightSql);
        let source = Arc::new(scan::FlightSqlTable::new(from, false, read, self.client.clone()));
        Ok(RemoteTable { source, skipped, view: false })
    }
}

/// A table the server listed.
struct Listed {
    name: String,
    /// The server's catalog holding it, if it has catalogs.
    catalog: Option<String>,
    schema: Option<Schema>,
    /// Whether its `table_type` is `VIEW`.
    view: bool,
}

/// `name` as a standard SQL identifier.
pub fn quote(name: &str) -> String {
    glaux_connector::sql::quote(Dialect::FlightSql, name)
}
