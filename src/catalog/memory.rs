//! An in-memory [`Metastore`] and [`SecurityStore`]: maps behind a mutex. For tests and for
//! sessions that need no persistence.

use super::{
    check_user_change, check_workgroup_change, database_exists, database_not_empty, no_such_table, normalize,
    table_changed, table_exists, unknown_database,
};
use super::{Database, IfExists, Metastore, Partition, SecurityStore, Table, User, Workgroup};
use crate::error::Result;
use async_trait::async_trait;
use glaux_connector::connector::Definition;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct State {
    databases: BTreeMap<String, Database>,
    /// (database, table) -> table
    tables: BTreeMap<(String, String), Table>,
    /// (database, table) -> partitions
    partitions: BTreeMap<(String, String), Vec<Partition>>,
    users: BTreeMap<String, User>,
    workgroups: BTreeMap<String, Workgroup>,
    catalogs: BTreeMap<String, Definition>,
    /// (database, table) -> every definition, oldest first
    versions: BTreeMap<(String, String), Vec<Table>>,
}

#[derive(Debug, Default)]
pub struct MemoryCatalog {
    state: Mutex<State>,
}

impl MemoryCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change
        // (each method mutates once, at its end), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn known(state: &State) -> Vec<String> {
    state.databases.keys().cloned().collect()
}

#[async_trait]
impl Metastore for MemoryCatalog {
    async fn create_database(&self, mut db: Database, if_not_exists: bool) -> Result<bool> {
        db.name = normalize(&db.name);
        let mut s = self.lock();
        if s.databases.contains_key(&db.name) {
            return if if_not_exists { Ok(false) } else { Err(database_exists(&db.name)) };
        }
        s.databases.insert(db.name.clone(), db);
        Ok(true)
    }

    async fn get_database(&self, name: &str) -> Result<Option<Database>> {
        Ok(self.lock().databases.get(&normalize(name)).cloned())
    }

    async fn list_databases(&self) -> Result<Vec<Database>> {
        Ok(self.lock().databases.values().cloned().collect())
    }

    async fn drop_database(&self, name: &str, if_exists: bool, cascade: bool) -> Result<bool> {
        let name = normalize(name);
        let mut s = self.lock();
        if !s.databases.contains_key(&name) {
            return if if_exists { Ok(false) } else { Err(unknown_database(&name, &known(&s))) };
        }
        let tables = s.tables.keys().filter(|(d, _)| *d == name).count();
        if tables > 0 && !cascade {
            return Err(database_not_empty(&name, tables));
        }
        s.tables.retain(|(d, _), _| *d != name);
        s.partitions.retain(|(d, _), _| *d != name);
        s.databases.remove(&name);
        Ok(true)
    }

    async fn create_table(&self, mut table: Table, if_exists: IfExists, partitions: Vec<Partition>) -> Result<bool> {
        table.name = normalize(&table.name);
        table.database_name = normalize(&table.database_name);
        let mut s = self.lock();
        if !s.databases.contains_key(&table.database_name) {
            return Err(unknown_database(&table.database_name, &known(&s)));
        }
        let key = (table.database_name.clone(), table.name.clone());
        if let Some(existing) = s.tables.get(&key) {
            match if_exists {
                IfExists::Fail => return Err(table_exists(existing)),
                IfExists::Skip => return Ok(false),
                IfExists::Replace => {}
            }
        }
        s.partitions.remove(&key);
        if !partitions.is_empty() {
            s.partitions.insert(key.clone(), partitions);
        }
        table.version = 1;
        s.versions.insert(key.clone(), vec![table.clone()]);
        s.tables.insert(key, table);
        Ok(true)
    }

    async fn update_table(&self, mut table: Table) -> Result<i64> {
        table.name = normalize(&table.name);
        table.database_name = normalize(&table.database_name);
        let key = (table.database_name.clone(), table.name.clone());
        let mut s = self.lock();
        let Some(current) = s.tables.get(&key).map(|t| t.version) else {
            return Err(no_such_table(&key.0, &key.1));
        };
        if current != table.version {
            return Err(table_changed(&table, current));
        }
        let versions = s.versions.entry(key.clone()).or_default();
        table.version = versions.len() as i64 + 1;
        versions.push(table.clone());
        let version = table.version;
        s.tables.insert(key, table);
        Ok(version)
    }

    async fn table_versions(&self, database: &str, name: &str) -> Result<Vec<(i64, Table)>> {
        let key = (normalize(database), normalize(name));
        let versions = self.lock().versions.get(&key).cloned().unwrap_or_default();
        Ok(versions.into_iter().enumerate().map(|(i, t)| (i as i64 + 1, t)).collect())
    }

    async fn get_table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        Ok(self.lock().tables.get(&(normalize(database), normalize(name))).cloned())
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<Table>> {
        let database = normalize(database);
        let s = self.lock();
        if !s.databases.contains_key(&database) {
            return Err(unknown_database(&database, &known(&s)));
        }
        Ok(s.tables.iter().filter(|((d, _), _)| *d == database).map(|(_, t)| t.clone()).collect())
    }

    async fn drop_table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        let key = (normalize(database), normalize(name));
        let mut s = self.lock();
        s.partitions.remove(&key);
        s.versions.remove(&key);
        Ok(s.tables.remove(&key))
    }

    async fn add_partitions(&self, database: &str, table: &str, partitions: Vec<Partition>) -> Result<()> {
        let key = (normalize(database), normalize(table));
        let mut s = self.lock();
        let list = s.partitions.entry(key).or_default();
        for p in partitions {
            list.retain(|q| q.values != p.values);
            list.push(p);
        }
        Ok(())
    }

    async fn list_partitions(&self, database: &str, table: &str) -> Result<Vec<Partition>> {
        let key = (normalize(database), normalize(table));
        Ok(self.lock().partitions.get(&key).cloned().unwrap_or_default())
    }

    async fn drop_partitions(&self, database: &str, table: &str, values: &[Vec<String>]) -> Result<usize> {
        let key = (normalize(database), normalize(table));
        let mut s = self.lock();
        let Some(list) = s.partitions.get_mut(&key) else { return Ok(0) };
        let before = list.len();
        list.retain(|p| !values.contains(&p.values));
        Ok(before - list.len())
    }
}

#[async_trait]
impl SecurityStore for MemoryCatalog {
    async fn put_user(&self, user: User, create: bool) -> Result<()> {
        let mut s = self.lock();
        check_user_change(&user.name, s.users.contains_key(&user.name), create)?;
        s.users.insert(user.name.clone(), user);
        Ok(())
    }

    async fn get_user(&self, name: &str) -> Result<Option<User>> {
        Ok(self.lock().users.get(name).cloned())
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        Ok(self.lock().users.values().cloned().collect())
    }

    async fn drop_user(&self, name: &str) -> Result<bool> {
        Ok(self.lock().users.remove(name).is_some())
    }

    async fn put_workgroup(&self, mut workgroup: Workgroup, create: bool) -> Result<()> {
        workgroup.name = normalize(&workgroup.name);
        let mut s = self.lock();
        check_workgroup_change(&workgroup.name, s.workgroups.contains_key(&workgroup.name), create)?;
        s.workgroups.insert(workgroup.name.clone(), workgroup);
        Ok(())
    }

    async fn get_workgroup(&self, name: &str) -> Result<Option<Workgroup>> {
        Ok(self.lock().workgroups.get(&normalize(name)).cloned())
    }

    async fn list_workgroups(&self) -> Result<Vec<Workgroup>> {
        Ok(self.lock().workgroups.values().cloned().collect())
    }

    async fn drop_workgroup(&self, name: &str) -> Result<bool> {
        Ok(self.lock().workgroups.remove(&normalize(name)).is_some())
    }

    async fn put_catalog(&self, definition: &Definition) -> Result<()> {
        let mut s = self.lock();
        if s.catalogs.contains_key(&definition.name) {
            return Err(super::catalog_exists(&definition.name));
        }
        s.catalogs.insert(definition.name.clone(), definition.clone());
        Ok(())
    }

    async fn list_catalogs(&self) -> Result<Vec<Definition>> {
        Ok(self.lock().catalogs.values().cloned().collect())
    }

    async fn drop_catalog(&self, name: &str) -> Result<bool> {
        Ok(self.lock().catalogs.remove(name).is_some())
    }
}
