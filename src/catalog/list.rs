//! The catalogs a server serves: each a name (the Postgres database a
//! client connects to) and the [`Metastore`] behind it.
//!
//! The first is the one `catalog.name` and `catalog.type` configure; the
//! others come from `catalog.others` (`archive:embedded, lake:glue`). A
//! session's catalog resolves its one- and two-part names; three-part
//! names `catalog.database.table` reach any catalog in the list, so one
//! query can join across them.

use super::connectors::ConnectorCatalog;
use super::Metastore;
use crate::error::{Error, Result, SqlState};
use std::sync::Arc;

/// One catalog: its name and its metastore.
#[derive(Debug, Clone)]
pub struct NamedCatalog {
    pub name: String,
    pub metastore: Arc<dyn Metastore>,
}

/// A table's name resolved: the catalog it is in, its database and name.
#[derive(Debug, Clone)]
pub struct Qualified {
    pub catalog: NamedCatalog,
    pub database: String,
    pub name: String,
}

/// The catalogs, in configuration order; never empty. Connector
/// catalogs (`super::connectors`) are reached by three-part names.
#[derive(Debug, Clone)]
pub struct Catalogs {
    list: Vec<NamedCatalog>,
    connectors: Vec<Arc<ConnectorCatalog>>,
}

/// A catalog `catalog.others` asks for: its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherCatalog {
    pub name: String,
    /// `embedded` or `glue`.
    pub kind: String,
}

impl Catalogs {
    /// The list whose first (default) catalog is `first`.
    pub fn new(first: NamedCatalog) -> Catalogs {
        Catalogs { list: vec![first], connectors: Vec::new() }
    }

    /// Add a catalog (F0000 if its name is taken).
    pub fn push(&mut self, catalog: NamedCatalog) -> Result<()> {
        if self.get(&catalog.name).is_some() {
            return Err(Error::new(
                SqlState::ConfigFileError,
                format!("catalog {} is configured twice; catalog names must be distinct", catalog.name),
            ));
        }
        self.list.push(catalog);
        Ok(())
    }

    /// Add a connector catalog (F0000 if its name is taken).
    pub fn push_connector(&mut self, catalog: ConnectorCatalog) -> Result<()> {
        if self.get(catalog.name()).is_some() || self.connector(catalog.name()).is_some() {
            return Err(Error::new(
                SqlState::ConfigFileError,
                format!("catalog {} is configured twice; catalog names must be distinct", catalog.name()),
            ));
        }
        self.connectors.push(Arc::new(catalog));
        Ok(())
    }

    pub fn connectors(&self) -> impl Iterator<Item = &Arc<ConnectorCatalog>> {
        self.connectors.iter()
    }

    pub fn connector(&self, name: &str) -> Option<&Arc<ConnectorCatalog>> {
        self.connectors.iter().find(|c| c.name() == name)
    }

    /// The catalog sessions use when the client names none.
    pub fn first(&self) -> &NamedCatalog {
        &self.list[0]
    }

    pub fn get(&self, name: &str) -> Option<&NamedCatalog> {
        self.list.iter().find(|c| c.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &NamedCatalog> {
        self.list.iter()
    }

    pub fn names(&self) -> Vec<String> {
        self.list.iter().map(|c| c.name.clone()).collect()
    }

    /// The catalog `name`, or an error with `state` naming the known ones.
    pub fn require(&self, name: &str, state: SqlState) -> Result<&NamedCatalog> {
        self.get(name).ok_or_else(|| {
            Error::new(state, format!("catalog {name} does not exist; known catalogs: {}", self.names().join(", ")))
        })
    }
}

/// `catalog.others`: `name:type` pairs separated by commas; a name is
/// lower-case letters, digits and `_`, and the type `embedded` or `glue`.
pub fn parse_others(text: &str) -> Result<Vec<OtherCatalog>> {
    let bad = |what: String| Error::new(SqlState::ConfigFileError, format!("catalog.others: {what}"));
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, kind)) = item.split_once(':') else {
            return Err(bad(format!("{item:?} must be name:type (archive:embedded, lake:glue)")));
        };
        let (name, kind) = (name.trim(), kind.trim());
        let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(bad(format!("catalog name {name:?} must be lower-case letters, digits and _")));
        }
        if kind != "embedded" && kind != "glue" {
            return Err(bad(format!("catalog {name} has type {kind:?}; the types are embedded and glue")));
        }
        out.push(OtherCatalog { name: name.to_string(), kind: kind.to_string() });
    }
    Ok(out)
}
