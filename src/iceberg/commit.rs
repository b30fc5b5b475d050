//! Commits to an Iceberg table, with glaux's catalog as the owner of the
//! table's pointer.
//!
//! iceberg-rust's transactions (INSERT's append, `super::write`) commit
//! through an `iceberg::Catalog`. [`TableCatalog`]
//! is that catalog for one table of glaux's metastore:
//!
//! - `load_table` reads the metadata file the catalog entry points at now;
//! - `update_table` applies a commit (its requirements, then its updates)
//!   to that metadata, writes the next metadata file beside it
//!   (`NNNNN-<uuid>.metadata.json`, never overwriting one), and swaps the
//!   entry's `metadata_location` (the old one becomes
//!   `previous_metadata_location`) with the metastore's compare-and-swap:
//!   one SQLite transaction in the embedded catalog, `UpdateTable` guarded
//!   by the table's version in AWS Glue.
//!
//! Commits to one table from this server are serialized (`commit_lock`)
//! around reading the entry and swapping it; the swap is what guards
//! against writers elsewhere.
//!
//! A lost swap, or a commit whose requirements no longer hold because
//! another writer committed first, is a retryable `CatalogCommitConflicts`:
//! the transaction then reloads the table and applies its actions again on
//! the winner's snapshot (appends commute). When the retries run out it
//! surfaces as 40001 (`super::error`) and the table is as the winner left
//! it; the loser's files are orphans no snapshot references.

use super::{METADATA_LOCATION, PREVIOUS_METADATA_LOCATION};
use crate::catalog::Metastore;
use async_trait::async_trait;
use datafusion::execution::object_store::ObjectStoreRegistry;
use iceberg::table::Table;
use iceberg::{
    Catalog, Error, ErrorKind, MetadataLocation, Namespace, NamespaceIdent, Result, TableCommit, TableCreation,
    TableIdent, TableRequirement, TableUpdate,
};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};

/// One table of glaux's metastore, as the `iceberg::Catalog` its
/// commits go through.
#[derive(Debug)]
pub struct TableCatalog {
    metastore: Arc<dyn Metastore>,
    stores: Arc<dyn ObjectStoreRegistry>,
    ident: TableIdent,
}

impl TableCatalog {
    /// The catalog of `database.name`, whose files are read and written
    /// through `stores`.
    pub fn new(
        metastore: Arc<dyn Metastore>,
        stores: Arc<dyn ObjectStoreRegistry>,
        database: &str,
        name: &str,
    ) -> TableCatalog {
        let ident = TableIdent::new(NamespaceIdent::new(database.to_string()), name.to_string());
        TableCatalog { metastore, stores, ident }
    }

    /// Commits `updates` to the table as it is now, if `requirements`
    /// hold for it: the next metadata file, then the swap of the catalog
    /// entry. A requirement that no longer holds, or a lost swap, is a
    /// retryable `CatalogCommitConflicts`.
    pub async fn commit(&self, requirements: Vec<TableRequirement>, updates: Vec<TableUpdate>) -> Result<Table> {
        self.commit_with(requirements, updates, Default::default()).await
    }

    /// [`Self::commit`], also setting `parameters` on the catalog entry
    /// (ALTER TABLE ... SET TBLPROPERTIES). Every commit writes the
    /// current schema's columns into the entry, as Glue keeps them.
    pub async fn commit_with(
        &self,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
        parameters: crate::catalog::Parameters,
    ) -> Result<Table> {
        self.commit_checked(None, requirements, updates, parameters).await
    }

    /// [`Self::commit`], only if the table is still at the metadata file
    /// `base` (any commit since, whatever it changed, is a retryable
    /// conflict): for a change that must see every ref, as VACUUM's
    /// expiry must.
    pub async fn commit_on(
        &self,
        base: &str,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> Result<Table> {
        self.commit_checked(Some(base), requirements, updates, Default::default()).await
    }

    async fn commit_checked(
        &self,
        base: Option<&str>,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
        parameters: crate::catalog::Parameters,
    ) -> Result<Table> {
        let lock = commit_lock(&self.ident);
        let _serialized = lock.lock().await;
        let entry = self.entry().await?;
        if let Some(base) = base {
            if super::metadata_location(&entry).map_err(glaux)? != base {
                let why = "the table changed since the statement read it";
                return Err(Error::new(ErrorKind::CatalogCommitConflicts, why).with_retryable(true));
            }
        }
        let current = self.table_of(&entry).await?;
        for requirement in requirements {
            requirement.check(Some(current.metadata())).map_err(|e| {
                // The winner of a race broke it: apply again on its snapshot.
                let conflict = e.kind() == ErrorKind::CatalogCommitConflicts;
                e.with_retryable(conflict)
            })?;
        }
        let old = current.metadata_location_result()?.to_string();
        let mut builder = current.metadata().clone().into_builder(Some(old.clone()));
        for update in updates {
            builder = update.apply(builder)?;
        }
        let metadata = builder.build()?.metadata;
        let new = MetadataLocation::from_str(&old)?.with_next_version().with_new_metadata(&metadata);
        metadata.write_to(current.file_io(), &new).await?;
        let new = new.to_string();
        let mut next = entry;
        next.parameters.extend(parameters);
        next.storage_descriptor.columns = super::register::columns(&metadata, &new).map_err(glaux)?;
        next.parameters.insert(METADATA_LOCATION.to_string(), new.clone());
        next.parameters.insert(PREVIOUS_METADATA_LOCATION.to_string(), old);
        next.update_time = crate::catalog::model::now();
        if let Err(e) = self.metastore.update_table(next).await {
            // A retried swap whose first try landed reports a conflict
            // with itself: the entry tells which it was.
            let now = self.entry().await.ok().and_then(|e| e.parameters.get(METADATA_LOCATION).cloned());
            if now.as_deref() != Some(new.as_str()) {
                if e.sqlstate() == crate::error::SqlState::SerializationFailure {
                    // The swap lost: nothing points at the new file.
                    let _ = current.file_io().delete(&new).await;
                }
                return Err(glaux(e));
            }
        }
        Table::builder()
            .metadata(Arc::new(metadata))
            .metadata_location(new)
            .identifier(self.ident.clone())
            .file_io(current.file_io().clone())
            .runtime(iceberg::Runtime::try_current()?)
            .build()
    }

    /// The table as the catalog entry points at it now.
    pub async fn current(&self) -> Result<Table> {
        self.table_of(&self.entry().await?).await
    }

    fn is_this(&self, table: &TableIdent) -> Result<()> {
        if table == &self.ident {
            return Ok(());
        }
        Err(Error::new(ErrorKind::TableNotFound, format!("table {table} is not the one this commit writes")))
    }

    /// The catalog entry, as it is now.
    async fn entry(&self) -> Result<crate::catalog::Table> {
        let (database, name) = (self.ident.namespace().to_url_string(), self.ident.name());
        let entry = self.metastore.get_table(&database, name).await.map_err(glaux)?;
        entry.ok_or_else(|| Error::new(ErrorKind::TableNotFound, format!("table {database}.{name} was dropped")))
    }

    /// The table the catalog entry points at now.
    async fn table_of(&self, entry: &crate::catalog::Table) -> Result<Table> {
        let location = super::metadata_location(entry).map_err(glaux)?;
        let loaded = super::load(location, Arc::clone(&self.stores)).await.map_err(glaux)?;
        Table::builder()
            .metadata(Arc::clone(&loaded.metadata))
            .metadata_location(loaded.location)
            .identifier(self.ident.clone())
            .file_io(super::io::file_io(Arc::clone(&self.stores)))
            .runtime(iceberg::Runtime::try_current()?)
            .build()
    }
}

/// How many times iceberg-rust retries an append that lost a race, when
/// the table does not say (`commit.retry.num-retries`).
pub const APPEND_RETRIES: u32 = 10;

/// The lock that serializes this server's commits to a table (by name,
/// in any catalog). The metastore's compare-and-swap is what keeps
/// writers apart; this lock keeps this server's own writers from racing
/// each other for it, which also covers a Glue endpoint that does not
/// check `VersionId` (moto does not). Writers in other processes are kept
/// apart by the swap alone.
fn commit_lock(ident: &TableIdent) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);
    let mut locks = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(locks.entry(ident.to_string()).or_default())
}

/// A glaux error inside an iceberg-rust one (`super::error` finds it
/// again and keeps its SQLSTATE).
fn glaux(e: crate::error::Error) -> Error {
    let conflict = e.sqlstate() == crate::error::SqlState::SerializationFailure;
    let kind = if conflict { ErrorKind::CatalogCommitConflicts } else { ErrorKind::Unexpected };
    Error::new(kind, "the catalog refused").with_retryable(conflict).with_source(e)
}

fn unsupported(what: &str) -> Error {
    Error::new(ErrorKind::FeatureUnsupported, format!("{what} is not done through an Iceberg commit in glaux"))
}

#[async_trait]
impl Catalog for TableCatalog {
    async fn list_namespaces(&self, parent: Option<&NamespaceIdent>) -> Result<Vec<NamespaceIdent>> {
        Ok(if parent.is_none() { vec![self.ident.namespace().clone()] } else { Vec::new() })
    }

    async fn create_namespace(&self, _: &NamespaceIdent, _: HashMap<String, String>) -> Result<Namespace> {
        Err(unsupported("CREATE DATABASE"))
    }

    async fn get_namespace(&self, namespace: &NamespaceIdent) -> Result<Namespace> {
        Ok(Namespace::new(namespace.clone()))
    }

    async fn namespace_exists(&self, namespace: &NamespaceIdent) -> Result<bool> {
        Ok(namespace == self.ident.namespace())
    }

    async fn update_namespace(&self, _: &NamespaceIdent, _: HashMap<String, String>) -> Result<()> {
        Err(unsupported("ALTER DATABASE"))
    }

    async fn drop_namespace(&self, _: &NamespaceIdent) -> Result<()> {
        Err(unsupported("DROP DATABASE"))
    }

    async fn list_tables(&self, namespace: &NamespaceIdent) -> Result<Vec<TableIdent>> {
        Ok(if namespace == self.ident.namespace() { vec![self.ident.clone()] } else { Vec::new() })
    }

    async fn create_table(&self, _: &NamespaceIdent, _: TableCreation) -> Result<Table> {
        Err(unsupported("CREATE TABLE"))
    }

    /// The table as iceberg-rust's own commits (INSERT's append) see it:
    /// retried [`APPEND_RETRIES`] times unless the table sets
    /// `commit.retry.num-retries` (iceberg-rust's default, 4, loses
    /// appends that commute when several sessions insert at once).
    async fn load_table(&self, table: &TableIdent) -> Result<Table> {
        self.is_this(table)?;
        let table = self.current().await?;
        let key = iceberg::spec::TableProperties::PROPERTY_COMMIT_NUM_RETRIES;
        if table.metadata().properties().contains_key(key) {
            return Ok(table);
        }
        let mut properties = table.metadata().properties().clone();
        properties.insert(key.to_string(), APPEND_RETRIES.to_string());
        // Only in memory: a commit is built on the metadata the catalog
        // entry points at, which this does not change.
        let metadata = table.metadata().clone().into_builder(None).set_properties(properties)?.build()?.metadata;
        Table::builder()
            .metadata(Arc::new(metadata))
            .metadata_location(table.metadata_location_result()?.to_string())
            .identifier(self.ident.clone())
            .file_io(table.file_io().clone())
            .runtime(iceberg::Runtime::try_current()?)
            .build()
    }

    async fn drop_table(&self, _: &TableIdent) -> Result<()> {
        Err(unsupported("DROP TABLE"))
    }

    async fn purge_table(&self, _: &TableIdent) -> Result<()> {
        Err(unsupported("DROP TABLE ... PURGE"))
    }

    async fn table_exists(&self, table: &TableIdent) -> Result<bool> {
        Ok(table == &self.ident)
    }

    async fn rename_table(&self, _: &TableIdent, _: &TableIdent) -> Result<()> {
        Err(unsupported("ALTER TABLE ... RENAME"))
    }

    async fn register_table(&self, _: &TableIdent, _: String) -> Result<Table> {
        Err(unsupported("registering a table"))
    }

    async fn update_table(&self, mut commit: TableCommit) -> Result<Table> {
        self.is_this(commit.identifier())?;
        self.commit(commit.take_requirements(), commit.take_updates()).await
    }
}
