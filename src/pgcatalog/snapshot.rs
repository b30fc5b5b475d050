//! What the system catalogs show: the session (user, connected database,
//! search path, settings) and a snapshot of the Glue catalog (schemas,
//! relations and their columns with PostgreSQL types), taken once per
//! statement before it is planned, so every system table and function of
//! one statement sees the same catalog.

use super::oid;
use crate::catalog::types::hive_to_field;
use crate::catalog::{Metastore, Table, TableType};
use crate::error::Result;
use crate::pgtypes::field_info;
use pgwire::api::results::FieldFormat;
use std::sync::{Arc, RwLock};

/// The session as the system catalogs and functions see it. The engine's
/// session keeps it current; `snapshot` is replaced before each statement
/// that reads the system catalogs.
#[derive(Debug, Clone, Default)]
pub struct SessionView {
    pub user: String,
    /// The database clients connected to (a glaux catalog).
    pub database: String,
    /// Every catalog the server serves (pg_database lists them).
    pub catalogs: Vec<String>,
    /// The schema unqualified names resolve in (a Glue database).
    pub schema: String,
    /// Settings with their current values, by lower-case name.
    pub settings: Vec<(String, String)>,
    pub backend_pid: i32,
    /// The session's open cursors, for pg_cursors.
    pub cursors: Vec<CursorInfo>,
    pub snapshot: Option<Arc<Snapshot>>,
}

/// An open cursor as pg_cursors shows it.
#[derive(Debug, Clone)]
pub struct CursorInfo {
    pub name: String,
    /// The DECLARE statement's text.
    pub statement: String,
    pub holdable: bool,
    /// Microseconds since the epoch.
    pub created: i64,
}

/// Shared between a session and the system tables and functions it plans.
pub type SharedView = Arc<RwLock<SessionView>>;

/// Read the view (a poisoned lock still holds a usable value).
pub fn read(view: &SharedView) -> std::sync::RwLockReadGuard<'_, SessionView> {
    view.read().unwrap_or_else(|e| e.into_inner())
}

pub fn write(view: &SharedView) -> std::sync::RwLockWriteGuard<'_, SessionView> {
    view.write().unwrap_or_else(|e| e.into_inner())
}

impl SessionView {
    pub fn setting(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.settings.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// A schema (Glue database).
#[derive(Debug, Clone)]
pub struct Namespace {
    pub oid: u32,
    pub name: String,
    pub comment: Option<String>,
}

/// A table or view, with its columns.
#[derive(Debug, Clone)]
pub struct Relation {
    pub oid: u32,
    pub name: String,
    pub schema: String,
    pub namespace: u32,
    /// `relkind`: `r` table, `v` view.
    pub kind: char,
    pub comment: Option<String>,
    pub columns: Vec<Attribute>,
    /// A view's SQL.
    pub definition: Option<String>,
}

/// A column of a relation.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
    pub comment: Option<String>,
}

/// The user-visible catalog at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub namespaces: Vec<Namespace>,
    pub relations: Vec<Relation>,
}

impl Snapshot {
    /// Read every database and table of `catalog`, plus the system schemas
    /// and their tables.
    pub async fn load(catalog: &dyn Metastore) -> Result<Snapshot> {
        let mut snapshot = Snapshot::default();
        for (name, comment) in
            [("pg_catalog", "system catalog schema"), ("information_schema", "the SQL standard's views of the catalog")]
        {
            snapshot.namespaces.push(Namespace {
                oid: oid::namespace(name),
                name: name.into(),
                comment: Some(comment.into()),
            });
        }
        for table in super::tables::system_relations() {
            snapshot.relations.push(table);
        }
        for db in catalog.list_databases().await? {
            snapshot.namespaces.push(Namespace {
                oid: oid::namespace(&db.name),
                name: db.name.clone(),
                comment: db.description,
            });
            for table in catalog.list_tables(&db.name).await? {
                snapshot.relations.push(relation(&table));
            }
        }
        Ok(snapshot)
    }

    pub fn namespace(&self, oid: u32) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.oid == oid)
    }

    pub fn relation(&self, oid: u32) -> Option<&Relation> {
        self.relations.iter().find(|r| r.oid == oid)
    }

    /// A relation by schema and name.
    pub fn find(&self, schema: &str, name: &str) -> Option<&Relation> {
        self.relations.iter().find(|r| r.schema == schema && r.name == name)
    }
}

fn relation(table: &Table) -> Relation {
    let columns = table
        .storage_descriptor
        .columns
        .iter()
        .chain(&table.partition_keys)
        .map(|c| {
            let (type_oid, typmod) = match hive_to_field(&c.name, &c.data_type) {
                Ok(field) => {
                    let info = field_info(&field, FieldFormat::Text);
                    (info.datatype().oid(), info.type_modifier())
                }
                // A connector column's PostgreSQL type name (`uuid`).
                Err(_) => super::types::by_name(&c.data_type).map_or((25, -1), |t| (t.oid, -1)),
            };
            Attribute { name: c.name.clone(), type_oid, typmod, comment: c.comment.clone() }
        })
        .collect();
    Relation {
        oid: oid::relation(&table.database_name, &table.name),
        name: table.name.clone(),
        schema: table.database_name.clone(),
        namespace: oid::namespace(&table.database_name),
        kind: if table.table_type == TableType::VirtualView { 'v' } else { 'r' },
        comment: table.description.clone(),
        columns,
        definition: table.view_original_text.clone(),
    }
}
