//! The catalog: the Glue data model behind two traits, split by concern.
//!
//! - [`Metastore`]: databases, tables and partitions (what Glue keeps).
//! - [`SecurityStore`]: users and workgroups (always embedded).
//! - [`model`]: Database, Table, StorageDescriptor, Partition (pure data).
//! - [`types`]: Glue/Hive type strings <-> Arrow types.
//! - [`memory`]: an in-memory store of both, for tests and throwaway sessions.
//! - [`sqlite`]: the embedded, persistent store of both (SQLite in the data dir).
//! - [`glue`]: the AWS Glue Data Catalog as a [`Metastore`] (aws-sdk-glue).
//! - [`provider`]: adapters that show the metastores to DataFusion.
//! - [`list`]: the named catalogs a server serves.
//!
//! Both implementations raise the same errors through the helpers at the
//! bottom of this file, so clients see the same SQLSTATE and message
//! whichever store is behind the catalog. Names are stored lower-cased, as
//! Glue does. Must not depend on `engine`, `server` or `repl`.

pub mod connectors;
pub mod glue;
pub mod list;
pub mod memory;
pub mod model;
pub mod provider;
pub mod sqlite;
pub mod types;

use crate::error::{Error, Result, SqlState};
use async_trait::async_trait;
use glaux_connector::connector::Definition;
pub use model::{
    Column, Database, LimitAction, Parameters, Partition, SerDeInfo, StorageDescriptor, Table, TableType, User,
    Workgroup,
};

/// How `create_table` treats an existing table of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Fail with 42P07.
    Fail,
    /// Keep the existing table and report that nothing was created.
    Skip,
    /// Replace it (CREATE OR REPLACE VIEW).
    Replace,
}

/// The Glue-model metastore: databases, tables, partitions. Every method
/// is atomic: it either happens whole or not at all.
#[async_trait]
pub trait Metastore: Send + Sync + std::fmt::Debug {
    /// Create a database; returns false if it existed and `if_not_exists`.
    async fn create_database(&self, db: Database, if_not_exists: bool) -> Result<bool>;
    async fn get_database(&self, name: &str) -> Result<Option<Database>>;
    async fn list_databases(&self) -> Result<Vec<Database>>;
    /// Drop a database. Without `cascade` a database holding tables is
    /// refused (2BP01). Returns false if it did not exist and `if_exists`.
    async fn drop_database(&self, name: &str, if_exists: bool, cascade: bool) -> Result<bool>;

    /// Create (or replace) a table or view with its first partitions, in
    /// one step; returns false if skipped.
    async fn create_table(&self, table: Table, if_exists: IfExists, partitions: Vec<Partition>) -> Result<bool>;
    async fn get_table(&self, database: &str, name: &str) -> Result<Option<Table>>;
    async fn list_tables(&self, database: &str) -> Result<Vec<Table>>;
    /// The names of a database's tables and views (what SHOW TABLES and
    /// error messages need, cheaper than whole entries for some stores).
    async fn list_table_names(&self, database: &str) -> Result<Vec<String>> {
        Ok(self.list_tables(database).await?.into_iter().map(|t| t.name).collect())
    }
    /// Replace a table's definition, keeping its partitions, as a
    /// compare-and-swap: only if the table is still at `table.version`
    /// (the version it was read at), else 40001 and nothing changes, so
    /// two writers never silently overwrite each other. The new definition
    /// becomes the next version, which is returned (42P01 if there is no
    /// such table).
    async fn update_table(&self, table: Table) -> Result<i64>;
    /// Every definition a table has had, oldest first, numbered from 1;
    /// the last is the current one.
    async fn table_versions(&self, database: &str, name: &str) -> Result<Vec<(i64, Table)>>;
    /// Drop a table and its partitions; returns the dropped table.
    async fn drop_table(&self, database: &str, name: &str) -> Result<Option<Table>>;

    /// Register partitions of a table (replacing ones with the same values).
    async fn add_partitions(&self, database: &str, table: &str, partitions: Vec<Partition>) -> Result<()>;
    async fn list_partitions(&self, database: &str, table: &str) -> Result<Vec<Partition>>;
    /// The partitions whose values pass every condition, read without
    /// loading the others where the store can (a superset is allowed:
    /// callers still apply the query's conditions).
    async fn list_partitions_where(
        &self,
        database: &str,
        table: &str,
        conditions: &[KeyCondition],
    ) -> Result<Vec<Partition>> {
        let all = self.list_partitions(database, table).await?;
        Ok(all.into_iter().filter(|p| conditions.iter().all(|c| c.matches(&p.values))).collect())
    }
    /// How many partitions a table has, when the store can count them
    /// without reading them all (None otherwise).
    async fn count_partitions(&self, database: &str, table: &str) -> Result<Option<usize>> {
        Ok(Some(self.list_partitions(database, table).await?.len()))
    }
    /// Remove the partitions with these values; returns how many existed.
    async fn drop_partitions(&self, database: &str, table: &str, values: &[Vec<String>]) -> Result<usize>;
}

/// The store of users and workgroups (and, with access control, grants).
/// Every method is atomic.
#[async_trait]
pub trait SecurityStore: Send + Sync + std::fmt::Debug {
    /// Create a user (`create`: 42710 if the name is taken) or replace an
    /// existing user's verifier (otherwise: 42704 if there is none).
    async fn put_user(&self, user: User, create: bool) -> Result<()>;
    async fn get_user(&self, name: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Drop a user; returns false if there was none.
    async fn drop_user(&self, name: &str) -> Result<bool>;

    /// Create a workgroup (`create`: 42710 if the name is taken) or
    /// replace one (otherwise: 42704 if there is none).
    async fn put_workgroup(&self, workgroup: Workgroup, create: bool) -> Result<()>;
    async fn get_workgroup(&self, name: &str) -> Result<Option<Workgroup>>;
    async fn list_workgroups(&self) -> Result<Vec<Workgroup>>;
    /// Drop a workgroup; returns false if there was none.
    async fn drop_workgroup(&self, name: &str) -> Result<bool>;

    /// Store a connector catalog made by CREATE CATALOG (42710 if one of
    /// that name is stored). Its options, secrets included, are kept as
    /// given; glaux shows them only through `Definition::shown_options`.
    async fn put_catalog(&self, definition: &Definition) -> Result<()>;
    /// The stored connector catalogs, by name.
    async fn list_catalogs(&self) -> Result<Vec<Definition>>;
    /// Drop a stored connector catalog; returns false if there was none.
    async fn drop_catalog(&self, name: &str) -> Result<bool>;
}

/// The error for a catalog name that is taken.
pub fn catalog_exists(name: &str) -> Error {
    Error::new(SqlState::DuplicateObject, format!("catalog {name} already exists"))
}

/// A condition on one partition key (key number `index`) that a store can
/// apply itself; values compare as text or, for `integer` keys, as numbers
/// (`007` is 7).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCondition {
    pub index: usize,
    pub integer: bool,
    pub test: KeyTest,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeyTest {
    /// The value is one of these.
    In(Vec<String>),
    /// The value is within these inclusive bounds.
    Range { low: Option<String>, high: Option<String> },
}

impl KeyCondition {
    pub fn matches(&self, partition: &[String]) -> bool {
        let Some(value) = partition.get(self.index) else { return false };
        let compare = |bound: &str| -> Option<std::cmp::Ordering> {
            if self.integer {
                Some(value.trim().parse::<i64>().ok()?.cmp(&bound.parse::<i64>().ok()?))
            } else {
                Some(value.as_str().cmp(bound))
            }
        };
        match &self.test {
            KeyTest::In(values) => values.iter().any(|v| compare(v) == Some(std::cmp::Ordering::Equal)),
            KeyTest::Range { low, high } => {
                low.as_deref().is_none_or(|l| compare(l).is_some_and(|o| o.is_ge()))
                    && high.as_deref().is_none_or(|h| compare(h).is_some_and(|o| o.is_le()))
            }
        }
    }
}

/// The check `put_user` makes, shared by the implementations.
pub fn check_user_change(name: &str, exists: bool, create: bool) -> Result<()> {
    match (exists, create) {
        (true, true) => Err(Error::new(SqlState::DuplicateObject, format!("role \"{name}\" already exists"))),
        (false, false) => Err(Error::new(SqlState::UndefinedObject, format!("role \"{name}\" does not exist"))),
        _ => Ok(()),
    }
}

/// The check `put_workgroup` makes, shared by the implementations.
pub fn check_workgroup_change(name: &str, exists: bool, create: bool) -> Result<()> {
    match (exists, create) {
        (true, true) => Err(Error::new(SqlState::DuplicateObject, format!("workgroup {name} already exists"))),
        (false, false) => Err(Error::new(SqlState::UndefinedObject, format!("workgroup {name} does not exist"))),
        _ => Ok(()),
    }
}

/// A database that must exist, or 3F000 naming the ones that do.
pub async fn require_database(catalog: &dyn Metastore, name: &str) -> Result<Database> {
    match catalog.get_database(name).await? {
        Some(db) => Ok(db),
        None => {
            let known: Vec<String> = catalog.list_databases().await?.into_iter().map(|d| d.name).collect();
            Err(unknown_database(name, &known))
        }
    }
}

/// A workgroup that must exist (42704 otherwise).
pub async fn require_workgroup(store: &dyn SecurityStore, name: &str) -> Result<Workgroup> {
    store
        .get_workgroup(name)
        .await?
        .ok_or_else(|| Error::new(SqlState::UndefinedObject, format!("workgroup {name} does not exist")))
}

pub fn unknown_database(name: &str, known: &[String]) -> Error {
    Error::new(
        SqlState::UndefinedSchema,
        format!("database {name} does not exist; known databases: {}", known.join(", ")),
    )
}

pub fn database_exists(name: &str) -> Error {
    Error::new(SqlState::DuplicateSchema, format!("database {name} already exists"))
}

pub fn database_not_empty(name: &str, tables: usize) -> Error {
    Error::new(
        SqlState::DependentObjectsStillExist,
        format!("database {name} is not empty ({tables} tables or views); drop them first or use DROP DATABASE {name} CASCADE"),
    )
}

pub fn table_exists(table: &Table) -> Error {
    let what = if table.is_view() { "view" } else { "table" };
    Error::new(SqlState::DuplicateTable, format!("{what} {}.{} already exists", table.database_name, table.name))
}

/// The compare-and-swap of `update_table` lost: someone changed the table
/// since it was read.
pub fn table_changed(table: &Table, current: i64) -> Error {
    Error::new(
        SqlState::SerializationFailure,
        format!(
            "table {}.{} was changed by another statement (it is at version {current}, this change was made to version {}); retry",
            table.database_name, table.name, table.version
        ),
    )
}

pub fn no_such_table(database: &str, name: &str) -> Error {
    Error::new(SqlState::UndefinedTable, format!("table {database}.{name} does not exist"))
}

/// Lower-case a Glue name, as Glue stores names.
pub fn normalize(name: &str) -> String {
    name.to_ascii_lowercase()
}
