//! What a connector is to glaux: another system's schemas and tables,
//! shown as one catalog.
//!
//! glaux asks a [`Connector`] for names only when a client lists them
//! (`\dn`, `\dt`, information_schema) and for a table only when a
//! statement names it, so a slow or large source slows nothing else. A
//! table comes back as a [`Source`]: its columns, and the plan that reads
//! some of them with the filters glaux chose to send (following
//! [`crate::pushdown`]: only what the source answers exactly as glaux
//! would is sent there; everything else runs in glaux).

use crate::error::Result;
use crate::pushdown::Dialect;
use crate::sql::Source;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One source, as a catalog: its schemas and tables.
#[async_trait]
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// The dialect the source's SQL is written in (what glaux may push).
    fn dialect(&self) -> Dialect;

    /// The source's schemas, in its own order.
    async fn schemas(&self) -> Result<Vec<String>>;

    /// The tables and views of `schema`.
    async fn tables(&self, schema: &str) -> Result<Vec<String>>;

    /// The table `schema.name`; None when the source has no such table.
    async fn table(&self, schema: &str, name: &str) -> Result<Option<RemoteTable>>;

    /// The rows of `sql`, native SQL run at the source as it is written
    /// (a passthrough query), described as a table.
    async fn query(&self, sql: &str) -> Result<RemoteTable> {
        let _ = sql;
        Err(crate::Error::new(
            crate::SqlState::FeatureNotSupported,
            format!("passthrough queries are not available for {:?}", self.dialect()),
        ))
    }
}

/// A source's table as glaux reads it.
#[derive(Debug)]
pub struct RemoteTable {
    pub source: Arc<dyn Source>,
    /// Columns left out because glaux cannot read their type exactly:
    /// each name with the source's name for its type.
    pub skipped: Vec<(String, String)>,
    /// Whether the source defines it as a view (the catalogs list it as
    /// one; it is read as any table is).
    pub view: bool,
}

/// A catalog definition: `CREATE CATALOG name USING kind WITH (options)`
/// or the same from the configuration file. Options whose key is
/// [`is_secret`] never appear in anything glaux shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    /// `postgres`, `mysql`, `sqlite` or `flightsql`.
    pub kind: String,
    pub options: BTreeMap<String, String>,
}

impl std::fmt::Debug for Definition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Definition")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("options", &self.shown_options())
            .finish()
    }
}

impl Definition {
    /// The options as glaux shows them: secrets as `********`, and any
    /// value holding `scheme://user:password@` with its password so too.
    pub fn shown_options(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .map(|(k, v)| (k.clone(), if is_secret(k) { "********".to_string() } else { without_password(v) }))
            .collect()
    }
}

/// Whether an option holds a secret (a password, key or token), which
/// glaux never shows.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "key"].iter().any(|s| key.contains(s))
}

/// `value` with the password of a `scheme://user:password@host` in it
/// replaced by `********`.
fn without_password(value: &str) -> String {
    let Some(start) = value.find("://").map(|i| i + 3) else { return value.to_string() };
    let rest = &value[start..];
    let Some(at) = rest.find('@') else { return value.to_string() };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}:********{}", &value[..start], &rest[..colon], &rest[at..]),
        None => value.to_string(),
    }
}
