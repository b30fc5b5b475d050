//! The embedded, persistent [`Metastore`] and [`SecurityStore`]: one SQLite file (`catalog.db`) in
//! the data directory.
//!
//! Why SQLite: every DDL statement becomes one ACID transaction, so a server
//! killed mid-DDL leaves either the old catalog or the new one, never half a
//! table (WAL journal, `synchronous=FULL`). Each Glue object is stored as a
//! JSON document keyed by its names, so the Glue model can grow fields
//! without schema migrations.

use super::{
    check_user_change, check_workgroup_change, database_exists, database_not_empty, no_such_table, normalize,
    table_changed, table_exists, unknown_database,
};
use super::{Database, IfExists, KeyCondition, KeyTest, Metastore, Partition, SecurityStore, Table, User, Workgroup};
use crate::error::Result;
use async_trait::async_trait;
use glaux_connector::connector::Definition;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// A SQLite result as glaux's: the store's error travels boxed in
/// [`crate::error::Error::Store`] (the error type is shared with connector
/// crates, which must not see SQLite's types).
pub(crate) trait StoreResult<T> {
    fn store(self) -> Result<T>;
}

impl<T> StoreResult<T> for rusqlite::Result<T> {
    fn store(self) -> Result<T> {
        self.map_err(|e| crate::error::Error::Store(Box::new(e)))
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS databases (
    name TEXT PRIMARY KEY,
    doc  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tables (
    database TEXT NOT NULL,
    name     TEXT NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (database, name)
);
CREATE TABLE IF NOT EXISTS partitions (
    database TEXT NOT NULL,
    tbl      TEXT NOT NULL,
    spec     TEXT NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (database, tbl, spec)
);
-- The first partition key, as text and as a number: what a query's
-- `key = value` condition usually names (list_partitions_where).
CREATE INDEX IF NOT EXISTS partitions_key0_text ON partitions (database, tbl, json_extract(spec, '$[0]'));
CREATE INDEX IF NOT EXISTS partitions_key0_number
    ON partitions (database, tbl, CAST(json_extract(spec, '$[0]') AS INTEGER));
-- Every definition each table has had (the current one included).
CREATE TABLE IF NOT EXISTS table_versions (
    database TEXT NOT NULL,
    tbl      TEXT NOT NULL,
    version  INTEGER NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (database, tbl, version)
);
CREATE TABLE IF NOT EXISTS workgroups (
    name TEXT PRIMARY KEY,
    doc  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    doc  TEXT NOT NULL
);
-- Connector catalogs made by CREATE CATALOG: {kind, options}.
CREATE TABLE IF NOT EXISTS catalogs (
    name TEXT PRIMARY KEY,
    doc  TEXT NOT NULL
);
";

#[derive(Debug)]
pub struct SqliteCatalog {
    conn: Mutex<Connection>,
    /// Users and workgroups as last read, which every query looks up
    /// (its workgroup, the user's default, who is an admin).
    security: Mutex<SecurityCache>,
    /// Bumped by every write through this connection.
    writes: std::sync::atomic::AtomicU64,
}

/// Users and workgroups read from the file, valid while the file has not
/// changed: SQLite's `data_version` moves when another connection (another
/// process included) commits, `writes` when this one does.
#[derive(Debug, Default)]
struct SecurityCache {
    valid_for: Option<(i64, u64)>,
    users: HashMap<String, Option<User>>,
    all_users: Option<Vec<User>>,
    workgroups: HashMap<String, Option<Workgroup>>,
}

impl SqliteCatalog {
    /// Open (creating if needed) the catalog file at `path`, readable
    /// by its owner only (it holds connector catalogs' passwords).
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).store()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
                crate::error::Error::new(
                    crate::error::SqlState::IoError,
                    format!("cannot make {} private: {e}", path.display()),
                )
            })?;
        }
        conn.pragma_update(None, "journal_mode", "WAL").store()?;
        conn.pragma_update(None, "synchronous", "FULL").store()?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).store()?;
        conn.execute_batch(SCHEMA).store()?;
        Ok(SqliteCatalog { conn: Mutex::new(conn), security: Mutex::default(), writes: Default::default() })
    }

    /// `f` of the users and workgroups cache, emptied first if the file
    /// changed since it was filled; `conn` is the locked connection.
    fn cached<T>(&self, conn: &Connection, f: impl FnOnce(&mut SecurityCache) -> Result<T>) -> Result<T> {
        let version: i64 = conn.prepare_cached("PRAGMA data_version").store()?.query_row([], |r| r.get(0)).store()?;
        let key = (version, self.writes.load(std::sync::atomic::Ordering::SeqCst));
        let mut cache = self.security.lock().unwrap_or_else(|p| p.into_inner());
        if cache.valid_for != Some(key) {
            *cache = SecurityCache { valid_for: Some(key), ..SecurityCache::default() };
        }
        f(&mut cache)
    }

    /// Run `f` in one transaction, committed only if it returns Ok. The
    /// write lock is taken first (IMMEDIATE), so what `f` reads cannot
    /// change under it, even from another process on the same file.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).store()?;
        let out = f(&tx)?;
        // Readers take the same lock, so none reads between the two.
        self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tx.commit().store()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| crate::error::Error::internal(format!("encoding catalog entry: {e}")))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        crate::error::Error::new(crate::error::SqlState::DataCorrupted, format!("catalog entry is unreadable: {e}"))
    })
}

fn docs<T: DeserializeOwned>(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).store()?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0)).store()?;
    let mut out = Vec::new();
    for row in rows {
        out.push(from_json(&row.store()?)?);
    }
    Ok(out)
}

/// Store a table's definition as current and as its next version, which
/// is returned (and recorded in the stored definition).
fn put_table(tx: &Connection, table: &Table) -> Result<i64> {
    let last: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM table_versions WHERE database = ?1 AND tbl = ?2",
            params![table.database_name, table.name],
            |r| r.get(0),
        )
        .store()?;
    let table = Table { version: last + 1, ..table.clone() };
    let doc = to_json(&table)?;
    tx.execute(
        "INSERT OR REPLACE INTO tables (database, name, doc) VALUES (?1, ?2, ?3)",
        params![table.database_name, table.name, doc],
    )
    .store()?;
    tx.execute(
        "INSERT INTO table_versions (database, tbl, version, doc) VALUES (?1, ?2, ?3, ?4)",
        params![table.database_name, table.name, table.version, doc],
    )
    .store()?;
    Ok(table.version)
}

fn database_names(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM databases ORDER BY name").store()?;
    let names = stmt.query_map([], |r| r.get(0)).store()?.collect::<Result<Vec<String>, _>>().store()?;
    Ok(names)
}

fn has_database(conn: &Connection, name: &str) -> Result<bool> {
    let found: Option<i64> =
        conn.query_row("SELECT 1 FROM databases WHERE name = ?1", [name], |r| r.get(0)).optional().store()?;
    Ok(found.is_some())
}

#[async_trait]
impl Metastore for SqliteCatalog {
    async fn create_database(&self, mut db: Database, if_not_exists: bool) -> Result<bool> {
        db.name = normalize(&db.name);
        self.write(|tx| {
            if has_database(tx, &db.name)? {
                return if if_not_exists { Ok(false) } else { Err(database_exists(&db.name)) };
            }
            tx.execute("INSERT INTO databases (name, doc) VALUES (?1, ?2)", params![db.name, to_json(&db)?]).store()?;
            Ok(true)
        })
    }

    async fn get_database(&self, name: &str) -> Result<Option<Database>> {
        self.read(|c| Ok(docs(c, "SELECT doc FROM databases WHERE name = ?1", [normalize(name)])?.pop()))
    }

    async fn list_databases(&self) -> Result<Vec<Database>> {
        self.read(|c| docs(c, "SELECT doc FROM databases ORDER BY name", []))
    }

    async fn drop_database(&self, name: &str, if_exists: bool, cascade: bool) -> Result<bool> {
        let name = normalize(name);
        self.write(|tx| {
            if !has_database(tx, &name)? {
                return if if_exists { Ok(false) } else { Err(unknown_database(&name, &database_names(tx)?)) };
            }
            let tables: i64 =
                tx.query_row("SELECT count(*) FROM tables WHERE database = ?1", [&name], |r| r.get(0)).store()?;
            if tables > 0 && !cascade {
                return Err(database_not_empty(&name, tables as usize));
            }
            tx.execute("DELETE FROM partitions WHERE database = ?1", [&name]).store()?;
            tx.execute("DELETE FROM tables WHERE database = ?1", [&name]).store()?;
            tx.execute("DELETE FROM databases WHERE name = ?1", [&name]).store()?;
            Ok(true)
        })
    }

    async fn create_table(&self, mut table: Table, if_exists: IfExists, partitions: Vec<Partition>) -> Result<bool> {
        table.name = normalize(&table.name);
        table.database_name = normalize(&table.database_name);
        self.write(|tx| {
            if !has_database(tx, &table.database_name)? {
                return Err(unknown_database(&table.database_name, &database_names(tx)?));
            }
            let existing: Option<Table> = docs(
                tx,
                "SELECT doc FROM tables WHERE database = ?1 AND name = ?2",
                params![table.database_name, table.name],
            )?
            .pop();
            if let Some(existing) = existing {
                match if_exists {
                    IfExists::Fail => return Err(table_exists(&existing)),
                    IfExists::Skip => return Ok(false),
                    IfExists::Replace => {}
                }
            }
            tx.execute(
                "DELETE FROM partitions WHERE database = ?1 AND tbl = ?2",
                params![table.database_name, table.name],
            )
            .store()?;
            tx.execute(
                "DELETE FROM table_versions WHERE database = ?1 AND tbl = ?2",
                params![table.database_name, table.name],
            )
            .store()?;
            put_table(tx, &table)?;
            for p in &partitions {
                tx.execute(
                    "INSERT OR REPLACE INTO partitions (database, tbl, spec, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![table.database_name, table.name, to_json(&p.values)?, to_json(p)?],
                )
                .store()?;
            }
            Ok(true)
        })
    }

    async fn get_table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        self.read(|c| {
            Ok(docs(
                c,
                "SELECT doc FROM tables WHERE database = ?1 AND name = ?2",
                params![normalize(database), normalize(name)],
            )?
            .pop())
        })
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<Table>> {
        let database = normalize(database);
        self.read(|c| {
            if !has_database(c, &database)? {
                return Err(unknown_database(&database, &database_names(c)?));
            }
            docs(c, "SELECT doc FROM tables WHERE database = ?1 ORDER BY name", [&database])
        })
    }

    async fn update_table(&self, mut table: Table) -> Result<i64> {
        table.name = normalize(&table.name);
        table.database_name = normalize(&table.database_name);
        self.write(|tx| {
            let current: Option<Table> = docs(
                tx,
                "SELECT doc FROM tables WHERE database = ?1 AND name = ?2",
                params![table.database_name, table.name],
            )?
            .pop();
            match current {
                None => Err(no_such_table(&table.database_name, &table.name)),
                Some(current) if current.version != table.version => Err(table_changed(&table, current.version)),
                Some(_) => put_table(tx, &table),
            }
        })
    }

    async fn table_versions(&self, database: &str, name: &str) -> Result<Vec<(i64, Table)>> {
        let (database, name) = (normalize(database), normalize(name));
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT version, doc FROM table_versions WHERE database = ?1 AND tbl = ?2 ORDER BY version",
                )
                .store()?;
            let rows = stmt
                .query_map(params![database, name], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .store()?;
            let mut out = Vec::new();
            for row in rows {
                let (version, doc) = row.store()?;
                out.push((version, from_json(&doc)?));
            }
            Ok(out)
        })
    }

    async fn drop_table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        let (database, name) = (normalize(database), normalize(name));
        self.write(|tx| {
            let existing: Option<Table> =
                docs(tx, "SELECT doc FROM tables WHERE database = ?1 AND name = ?2", params![database, name])?.pop();
            tx.execute("DELETE FROM partitions WHERE database = ?1 AND tbl = ?2", params![database, name]).store()?;
            tx.execute("DELETE FROM tables WHERE database = ?1 AND name = ?2", params![database, name]).store()?;
            tx.execute("DELETE FROM table_versions WHERE database = ?1 AND tbl = ?2", params![database, name])
                .store()?;
            Ok(existing)
        })
    }

    async fn add_partitions(&self, database: &str, table: &str, partitions: Vec<Partition>) -> Result<()> {
        let (database, table) = (normalize(database), normalize(table));
        self.write(|tx| {
            for p in &partitions {
                tx.execute(
                    "INSERT OR REPLACE INTO partitions (database, tbl, spec, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![database, table, to_json(&p.values)?, to_json(p)?],
                )
                .store()?;
            }
            Ok(())
        })
    }

    async fn list_partitions(&self, database: &str, table: &str) -> Result<Vec<Partition>> {
        self.read(|c| {
            docs(
                c,
                "SELECT doc FROM partitions WHERE database = ?1 AND tbl = ?2 ORDER BY spec",
                params![normalize(database), normalize(table)],
            )
        })
    }

    async fn list_partitions_where(
        &self,
        database: &str,
        table: &str,
        conditions: &[KeyCondition],
    ) -> Result<Vec<Partition>> {
        use rusqlite::types::Value;
        let mut sql = "SELECT doc FROM partitions WHERE database = ?1 AND tbl = ?2".to_string();
        let mut args: Vec<Value> = vec![Value::Text(normalize(database)), Value::Text(normalize(table))];
        for c in conditions {
            let value = if c.integer {
                format!("CAST(json_extract(spec, '$[{}]') AS INTEGER)", c.index)
            } else {
                format!("json_extract(spec, '$[{}]')", c.index)
            };
            let mut mark = |v: &String| {
                args.push(match (c.integer, v.parse::<i64>()) {
                    (true, Ok(n)) => Value::Integer(n),
                    _ => Value::Text(v.clone()),
                });
                format!("?{}", args.len())
            };
            match &c.test {
                KeyTest::In(values) => {
                    let marks: Vec<String> = values.iter().map(&mut mark).collect();
                    sql.push_str(&format!(" AND {value} IN ({})", marks.join(", ")));
                }
                KeyTest::Range { low, high } => {
                    if let Some(low) = low {
                        sql.push_str(&format!(" AND {value} >= {}", mark(low)));
                    }
                    if let Some(high) = high {
                        sql.push_str(&format!(" AND {value} <= {}", mark(high)));
                    }
                }
            }
        }
        // No ORDER BY: it would make SQLite walk the primary key (every
        // partition of the table) instead of the key index.
        let mut found: Vec<Partition> = self.read(|c| docs(c, &sql, rusqlite::params_from_iter(args)))?;
        // SQLite's CAST reads "7x" as 7: check again exactly.
        found.retain(|p| conditions.iter().all(|c| c.matches(&p.values)));
        found.sort_by(|a, b| a.values.cmp(&b.values));
        Ok(found)
    }

    async fn count_partitions(&self, database: &str, table: &str) -> Result<Option<usize>> {
        self.read(|c| {
            let n: i64 = c
                .query_row(
                    "SELECT count(*) FROM partitions WHERE database = ?1 AND tbl = ?2",
                    params![normalize(database), normalize(table)],
                    |r| r.get(0),
                )
                .store()?;
            Ok(Some(usize::try_from(n).unwrap_or(0)))
        })
    }

    async fn drop_partitions(&self, database: &str, table: &str, values: &[Vec<String>]) -> Result<usize> {
        let (database, table) = (normalize(database), normalize(table));
        self.write(|tx| {
            let mut dropped = 0;
            for v in values {
                dropped += tx
                    .execute(
                        "DELETE FROM partitions WHERE database = ?1 AND tbl = ?2 AND spec = ?3",
                        params![database, table, to_json(v)?],
                    )
                    .store()?;
            }
            Ok(dropped)
        })
    }
}

#[async_trait]
impl SecurityStore for SqliteCatalog {
    async fn put_user(&self, user: User, create: bool) -> Result<()> {
        self.write(|tx| {
            let exists = tx
                .query_row("SELECT 1 FROM users WHERE name = ?1", [&user.name], |_| Ok(()))
                .optional()
                .store()?
                .is_some();
            check_user_change(&user.name, exists, create)?;
            tx.execute("INSERT OR REPLACE INTO users (name, doc) VALUES (?1, ?2)", params![user.name, to_json(&user)?])
                .store()?;
            Ok(())
        })
    }

    async fn get_user(&self, name: &str) -> Result<Option<User>> {
        self.read(|c| {
            self.cached(c, |cache| {
                if let Some(user) = cache.users.get(name) {
                    return Ok(user.clone());
                }
                let user: Option<User> = docs(c, "SELECT doc FROM users WHERE name = ?1", [name])?.pop();
                cache.users.insert(name.to_string(), user.clone());
                Ok(user)
            })
        })
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.read(|c| {
            self.cached(c, |cache| {
                if let Some(users) = &cache.all_users {
                    return Ok(users.clone());
                }
                let users: Vec<User> = docs(c, "SELECT doc FROM users ORDER BY name", [])?;
                cache.all_users = Some(users.clone());
                Ok(users)
            })
        })
    }

    async fn drop_user(&self, name: &str) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM users WHERE name = ?1", [name]).store()? > 0))
    }

    async fn put_workgroup(&self, mut workgroup: Workgroup, create: bool) -> Result<()> {
        workgroup.name = normalize(&workgroup.name);
        self.write(|tx| {
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM workgroups WHERE name = ?1", [&workgroup.name], |r| r.get(0))
                .optional()
                .store()?;
            check_workgroup_change(&workgroup.name, exists.is_some(), create)?;
            tx.execute(
                "INSERT OR REPLACE INTO workgroups (name, doc) VALUES (?1, ?2)",
                params![workgroup.name, to_json(&workgroup)?],
            )
            .store()?;
            Ok(())
        })
    }

    async fn get_workgroup(&self, name: &str) -> Result<Option<Workgroup>> {
        let name = normalize(name);
        self.read(|c| {
            self.cached(c, |cache| {
                if let Some(workgroup) = cache.workgroups.get(&name) {
                    return Ok(workgroup.clone());
                }
                let workgroup: Option<Workgroup> =
                    docs(c, "SELECT doc FROM workgroups WHERE name = ?1", [name.as_str()])?.pop();
                cache.workgroups.insert(name.clone(), workgroup.clone());
                Ok(workgroup)
            })
        })
    }

    async fn list_workgroups(&self) -> Result<Vec<Workgroup>> {
        self.read(|c| docs(c, "SELECT doc FROM workgroups ORDER BY name", []))
    }

    async fn drop_workgroup(&self, name: &str) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM workgroups WHERE name = ?1", [normalize(name)]).store()? > 0))
    }

    async fn put_catalog(&self, definition: &Definition) -> Result<()> {
        let doc = to_json(&StoredCatalog { kind: definition.kind.clone(), options: definition.options.clone() })?;
        self.write(|tx| {
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM catalogs WHERE name = ?1", [&definition.name], |r| r.get(0))
                .optional()
                .store()?;
            if exists.is_some() {
                return Err(super::catalog_exists(&definition.name));
            }
            tx.execute("INSERT INTO catalogs (name, doc) VALUES (?1, ?2)", params![definition.name, doc]).store()?;
            Ok(())
        })
    }

    async fn list_catalogs(&self) -> Result<Vec<Definition>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT name, doc FROM catalogs ORDER BY name").store()?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).store()?;
            let mut out = Vec::new();
            for row in rows {
                let (name, doc) = row.store()?;
                let stored: StoredCatalog = from_json(&doc)?;
                out.push(Definition { name, kind: stored.kind, options: stored.options });
            }
            Ok(out)
        })
    }

    async fn drop_catalog(&self, name: &str) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM catalogs WHERE name = ?1", [name]).store()? > 0))
    }
}

/// A connector catalog as the `catalogs` table keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredCatalog {
    kind: String,
    options: std::collections::BTreeMap<String, String>,
}
