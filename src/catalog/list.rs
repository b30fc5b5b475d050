//! The catalogs a server serves: each a name (the Postgres database a
//! client connects to) and the [`Metastore`] behind it.
//!
//! The first is the one `catalog.name` and `catalog.type` configure; the
//! others come from `catalog.others` (`archive:embedded, lake:glue`).
//! Connector catalogs follow: those of the configuration file, then those
//! made by CREATE CATALOG (added and dropped while the server runs, so
//! they are held behind a lock every clone of the list shares). A
//! session's catalog resolves its one- and two-part names; three-part
//! names `catalog.database.table` reach any catalog in the list, so one
//! query can join across them.

use super::connectors::ConnectorCatalog;
use super::Metastore;
use crate::error::{Error, Result, SqlState};
use std::sync::{Arc, RwLock};

/// One catalog: its name and its metastore.
#[derive(Debug, Clone)]
pub struct NamedCatalog {
    pub name: String,
    /// `embedded`, `glue`, `memory`, or a connector's kind (`postgres`).
    pub kind: String,
    pub metastore: Arc<dyn Metastore>,
    /// The connector behind a connector catalog (whose metastore is the
    /// same connector, read-only).
    pub connector: Option<Arc<ConnectorCatalog>>,
}

impl NamedCatalog {
    /// A Glue-model catalog of `kind` kept in `metastore`.
    pub fn new(name: impl Into<String>, kind: &str, metastore: Arc<dyn Metastore>) -> NamedCatalog {
        NamedCatalog { name: name.into(), kind: kind.to_string(), metastore, connector: None }
    }

    /// A connector catalog.
    pub fn connector(catalog: &Arc<ConnectorCatalog>) -> NamedCatalog {
        NamedCatalog {
            name: catalog.name().to_string(),
            kind: catalog.definition.kind.clone(),
            metastore: Arc::clone(catalog) as Arc<dyn Metastore>,
            connector: Some(Arc::clone(catalog)),
        }
    }

    /// The schema sessions in a connector catalog start in (None for a
    /// Glue-model catalog: the engine's default database).
    pub fn connector_schema(&self) -> Option<String> {
        self.connector.as_ref().map(|c| c.default_schema())
    }
}

/// A table's name resolved: the catalog it is in, its database and name.
#[derive(Debug, Clone)]
pub struct Qualified {
    pub catalog: NamedCatalog,
    pub database: String,
    pub name: String,
}

/// The catalogs, in configuration order; never empty. Connector
/// catalogs (`super::connectors`) come after the Glue-model ones.
#[derive(Debug, Clone)]
pub struct Catalogs {
    list: Vec<NamedCatalog>,
    /// Shared by every clone: CREATE and DROP CATALOG change it.
    connectors: Arc<RwLock<Vec<Arc<ConnectorCatalog>>>>,
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
        Catalogs { list: vec![first], connectors: Arc::default() }
    }

    /// Add a catalog (F0000 if its name is taken).
    pub fn push(&mut self, catalog: NamedCatalog) -> Result<()> {
        if self.get(&catalog.name).is_some() {
            return Err(configured_twice(&catalog.name));
        }
        self.list.push(catalog);
        Ok(())
    }

    /// Add a connector catalog; 42710 if the name is taken.
    pub fn add_connector(&self, catalog: Arc<ConnectorCatalog>) -> Result<()> {
        let mut connectors = self.connectors.write().unwrap_or_else(|e| e.into_inner());
        let name = catalog.name();
        if self.list.iter().any(|c| c.name == name) || connectors.iter().any(|c| c.name() == name) {
            return Err(Error::new(SqlState::DuplicateObject, format!("catalog {name} already exists")));
        }
        connectors.push(catalog);
        Ok(())
    }

    /// Remove the connector catalog `name`; returns it if there was one.
    pub fn remove_connector(&self, name: &str) -> Option<Arc<ConnectorCatalog>> {
        let mut connectors = self.connectors.write().unwrap_or_else(|e| e.into_inner());
        let at = connectors.iter().position(|c| c.name() == name)?;
        Some(connectors.remove(at))
    }

    /// The connector catalogs, now.
    pub fn connectors(&self) -> Vec<Arc<ConnectorCatalog>> {
        self.connectors.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The connector catalog `name`.
    pub fn connector(&self, name: &str) -> Option<Arc<ConnectorCatalog>> {
        self.connectors().into_iter().find(|c| c.name() == name)
    }

    /// The catalog sessions use when the client names none.
    pub fn first(&self) -> &NamedCatalog {
        &self.list[0]
    }

    /// The catalog `name`, Glue-model or connector.
    pub fn get(&self, name: &str) -> Option<NamedCatalog> {
        if let Some(found) = self.list.iter().find(|c| c.name == name) {
            return Some(found.clone());
        }
        self.connectors().iter().find(|c| c.name() == name).map(NamedCatalog::connector)
    }

    /// Every catalog, Glue-model ones first.
    pub fn all(&self) -> Vec<NamedCatalog> {
        self.list.iter().cloned().chain(self.connectors().iter().map(NamedCatalog::connector)).collect()
    }

    /// The Glue-model catalogs.
    pub fn metastores(&self) -> impl Iterator<Item = &NamedCatalog> {
        self.list.iter()
    }

    pub fn names(&self) -> Vec<String> {
        self.all().into_iter().map(|c| c.name).collect()
    }

    /// The catalog `name`, or an error with `state` naming the known ones.
    pub fn require(&self, name: &str, state: SqlState) -> Result<NamedCatalog> {
        self.get(name).ok_or_else(|| {
            Error::new(state, format!("catalog {name} does not exist; known catalogs: {}", self.names().join(", ")))
        })
    }
}

fn configured_twice(name: &str) -> Error {
    Error::new(SqlState::ConfigFileError, format!("catalog {name} is configured twice; catalog names must be distinct"))
}

/// Whether `name` may name a catalog: lower-case letters, digits and `_`,
/// not starting with a digit.
pub fn valid_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
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
        if !valid_name(name) {
            return Err(bad(format!("catalog name {name:?} must be lower-case letters, digits and _")));
        }
        if kind != "embedded" && kind != "glue" {
            return Err(bad(format!("catalog {name} has type {kind:?}; the types are embedded and glue")));
        }
        out.push(OtherCatalog { name: name.to_string(), kind: kind.to_string() });
    }
    Ok(out)
}
