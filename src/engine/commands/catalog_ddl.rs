//! Catalog statements: CREATE/DROP DATABASE, CREATE EXTERNAL TABLE,
//! DROP TABLE, CREATE/DROP VIEW. Each ends in exactly one catalog call,
//! which is atomic, after every check has passed.

use super::{Claimed, Command, Context, Family};
use crate::catalog::types::arrow_to_hive;
use crate::catalog::{
    model::now, Column, Database, IfExists, Metastore, Partition, StorageDescriptor, Table, TableType,
};
use crate::engine::hive_ddl::{self, CreateDatabase, CreateExternalTable, RowFormat, Storage};
use crate::engine::output::{Changed, Output, Tag};
use crate::engine::parser::leading_words;
use crate::engine::statement::{object_name_parts, object_name_string, SqlText};
use crate::engine::DEFAULT_DATABASE;
use crate::error::{Error, Result, SqlState};
use crate::table::format::{
    compression_from_extension, storage_for, StoredAs, TableFormat, COMPRESSION_KEY, LAZY_SIMPLE_SERDE,
};
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::{self, ObjectName, ObjectType, Statement as Ast};
use std::sync::Arc;

pub(super) const FAMILY: Family = Family { own_syntax: Some((is_hive_ddl, parse_hive_ddl)), from_ast: Some(from_ast) };

/// Athena's CREATE [EXTERNAL] TABLE and CREATE DATABASE, which glaux
/// parses itself (`engine/hive_ddl.rs`).
fn is_hive_ddl(words: &[&str]) -> bool {
    matches!(
        words,
        ["CREATE", "EXTERNAL" | "TABLE" | "DATABASE" | "SCHEMA", ..] | ["CREATE", "OR", "REPLACE", "EXTERNAL"]
    )
}

fn parse_hive_ddl(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let words = leading_words(&stmt.text, 2);
    if matches!(words.get(1).map(String::as_str), Some("DATABASE" | "SCHEMA")) {
        return Ok(Box::new(hive_ddl::parse_create_database(stmt)?));
    }
    Ok(Box::new(hive_ddl::parse_create_table(stmt)?))
}

fn from_ast(ast: Ast) -> Result<Claimed> {
    let command: Box<dyn Command> = match ast {
        Ast::Drop { object_type, if_exists, names, cascade, purge, .. } => match object_type {
            ObjectType::Table => Box::new(DropTables { names, if_exists, view: false, purge }),
            ObjectType::View if purge => {
                return Err(Error::syntax("DROP VIEW takes no PURGE: a view has no files", None))
            }
            ObjectType::View => Box::new(DropTables { names, if_exists, view: true, purge }),
            ObjectType::Schema | ObjectType::Database => {
                if names.len() != 1 {
                    return Err(Error::not_supported("dropping several databases in one statement"));
                }
                Box::new(DropDatabase { name: object_name_string(&names[0]), if_exists, cascade })
            }
            other => return Err(Error::not_supported(format!("DROP {other}"))),
        },
        Ast::CreateView(view) => {
            if view.materialized {
                return Err(Error::not_supported("CREATE MATERIALIZED VIEW"));
            }
            if !view.columns.is_empty() {
                return Err(Error::not_supported("a column list in CREATE VIEW (alias the columns in the query)"));
            }
            let sql = crate::engine::time_travel::restore_text(&view.query.to_string());
            Box::new(CreateView { name: view.name, or_replace: view.or_replace, query: view.query, sql })
        }
        other => return Ok(Claimed::Not(Box::new(other))),
    };
    Ok(Claimed::Command(command))
}

#[async_trait::async_trait]
impl Command for CreateDatabase {
    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        create_database(cx.metastore().as_ref(), self).await?;
        Ok(Output::done("CREATE DATABASE"))
    }
}

#[derive(Debug, Clone)]
struct DropDatabase {
    name: String,
    if_exists: bool,
    cascade: bool,
}

#[async_trait::async_trait]
impl Command for DropDatabase {
    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        drop_database(cx.metastore().as_ref(), &self.name, self.if_exists, self.cascade).await?;
        if self.name == cx.database() {
            cx.set_database(DEFAULT_DATABASE).await.ok();
        }
        Ok(Output::done("DROP DATABASE"))
    }
}

#[async_trait::async_trait]
impl Command for CreateExternalTable {
    /// CTAS's query, which reads the catalogs.
    fn query(&self) -> Option<Ast> {
        let query = self.as_query.as_ref()?;
        crate::engine::time_travel::parse_statements(&query.text).ok()?.pop()
    }

    /// CTAS reads as a query does.
    fn metered(&self) -> bool {
        self.as_query.is_some()
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        if let Some(query) = &self.as_query {
            // PostgreSQL's tags: `SELECT n`, or `CREATE TABLE AS` without rows.
            let rows = if crate::iceberg::register::is_registration(self) {
                crate::iceberg::create::create_as(cx, self, query).await?
            } else {
                super::unload::create_hive_table_as(cx, self, query).await?
            };
            return Ok(match rows {
                Some(rows) => Output::Done { tag: Tag::Changed { verb: Changed::CreateTableAs, rows } },
                None => Output::done("CREATE TABLE AS"),
            });
        }
        create_external_table(cx, self).await?;
        Ok(Output::done("CREATE TABLE"))
    }
}

/// DROP TABLE or DROP VIEW of one or more names.
#[derive(Debug, Clone)]
struct DropTables {
    names: Vec<ObjectName>,
    if_exists: bool,
    view: bool,
    /// DROP TABLE ... PURGE: an Iceberg table's files go too.
    purge: bool,
}

#[async_trait::async_trait]
impl Command for DropTables {
    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        for name in &self.names {
            let q = cx.qualify(&object_name_parts(name))?;
            if self.purge {
                purge_table(cx, q.catalog.metastore.as_ref(), &q.database, &q.name, self.if_exists).await?;
                continue;
            }
            drop_table(q.catalog.metastore.as_ref(), &q.database, &q.name, self.if_exists, self.view).await?;
        }
        Ok(Output::done(if self.view { "DROP VIEW" } else { "DROP TABLE" }))
    }
}

#[derive(Debug, Clone)]
struct CreateView {
    name: ObjectName,
    or_replace: bool,
    query: Box<ast::Query>,
    /// The query's text, as stored in the catalog.
    sql: String,
}

#[async_trait::async_trait]
impl Command for CreateView {
    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        let q = cx.qualify(&object_name_parts(&self.name))?;
        let plan = cx.plan_query(&Ast::Query(self.query.clone())).await?;
        create_view(q.catalog.metastore.as_ref(), &q.database, &q.name, &self.sql, &plan, self.or_replace).await?;
        Ok(Output::done("CREATE VIEW"))
    }
}

async fn create_database(catalog: &dyn Metastore, c: &CreateDatabase) -> Result<()> {
    let mut db = Database::new(&c.name);
    db.description = c.comment.clone();
    db.location_uri = c.location.clone();
    db.parameters = c.properties.clone();
    catalog.create_database(db, c.if_not_exists).await?;
    Ok(())
}

async fn drop_database(catalog: &dyn Metastore, name: &str, if_exists: bool, cascade: bool) -> Result<()> {
    // Clients assume `public` exists; it is created at start and stays.
    if name == DEFAULT_DATABASE {
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            format!("database {name} always exists and cannot be dropped; drop its tables and views instead"),
        ));
    }
    catalog.drop_database(name, if_exists, cascade).await?;
    Ok(())
}

/// The StorageDescriptor for the ROW FORMAT / STORED AS clauses given.
fn storage_descriptor(t: &CreateExternalTable) -> Result<StorageDescriptor> {
    let (serde, mut params) = match &t.row_format {
        RowFormat::Default => (None, Default::default()),
        RowFormat::Serde(class) => (Some(class.clone()), Default::default()),
        RowFormat::Delimited(p) => (Some(LAZY_SIMPLE_SERDE.to_string()), p.clone()),
    };
    params.extend(t.serde_properties.clone());
    Ok(match &t.storage {
        Some(Storage::Format(f)) => storage_for(*f, serde, params),
        None => storage_for(StoredAs::TextFile, serde, params),
        Some(Storage::InputOutput { input, output }) => {
            let mut sd = storage_for(StoredAs::TextFile, serde, params);
            sd.input_format = Some(input.clone());
            sd.output_format = Some(output.clone());
            sd
        }
    })
}

async fn create_external_table(cx: &dyn Context, t: &CreateExternalTable) -> Result<()> {
    if crate::iceberg::register::is_registration(t) {
        if !t.external {
            return crate::iceberg::create::create(cx, t).await;
        }
        return crate::iceberg::register::register(cx, t).await;
    }
    if let Some(field) = t.partition_fields.first() {
        return Err(Error::syntax(
            format!("PARTITIONED BY ({field}): a Hive table's partition columns are listed with their types, as (dt string)"),
            Some(field.position),
        )
        .with_hint("partition fields without types and transforms such as day(ts) are for Iceberg tables: TBLPROPERTIES ('table_type' = 'ICEBERG')"));
    }
    if !t.external {
        return Err(Error::not_supported("CREATE TABLE without EXTERNAL (managed tables)")
            .with_hint("create a table over existing files with CREATE EXTERNAL TABLE ... LOCATION '...'"));
    }
    let qualified = cx.qualify(&t.name)?;
    let (database, name) = (qualified.database, qualified.name);
    let location = t.location.clone().ok_or_else(|| {
        Error::syntax("CREATE EXTERNAL TABLE needs a LOCATION: the folder (or file) holding the data", None)
    })?;
    let mut sd = storage_descriptor(t)?;
    sd.location = Some(location);
    sd.columns = t.columns.clone();
    let mut table = Table {
        name,
        database_name: database,
        table_type: TableType::ExternalTable,
        description: t.comment.clone(),
        storage_descriptor: sd,
        partition_keys: t.partition_keys.clone(),
        parameters: t.properties.clone(),
        view_original_text: None,
        view_expanded_text: None,
        create_time: now(),
        update_time: now(),
        version: 0,
        owner: Some(cx.user().to_string()),
    };
    table.parameters.insert("EXTERNAL".into(), "TRUE".into());
    let format = TableFormat::of_table(&table)?;
    let state = cx.state();
    let is_text = matches!(format, TableFormat::Csv(_) | TableFormat::Json(_));
    if is_text && !table.parameters.contains_key(COMPRESSION_KEY) {
        // Athena decides compression by file extension; glaux records it
        // once, from the files present at CREATE time.
        let files = crate::table::data_files(&table, state).await?;
        if let Some(c) = files.iter().find_map(|f| compression_from_extension(f.location.as_ref())) {
            table.storage_descriptor.compressed = true;
            table.storage_descriptor.parameters.insert(COMPRESSION_KEY.into(), c.into());
        }
    }
    if table.storage_descriptor.columns.is_empty() {
        table.storage_descriptor.columns = crate::table::infer_columns(&table, state).await?;
    }
    // Building the provider checks the location, format and types.
    crate::table::external_table(&table, state.config())?;
    // A partitioned table starts with the partitions its folders hold
    // (what MSCK REPAIR TABLE would add); later folders need MSCK REPAIR
    // or ALTER TABLE ADD PARTITION, as in Athena. A table with partition
    // projection registers none: its properties are checked instead.
    let projected = crate::table::projection::Projection::of_table(&table)?.is_some();
    let partitions = if table.partition_keys.is_empty() || projected {
        Vec::new()
    } else {
        let found = crate::table::partitioned::discover(&table, state).await?;
        if let Some(problem) = found.problems.first() {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!(
                    "the files under LOCATION do not fit PARTITIONED BY: {problem}{}",
                    if found.problems.len() > 1 {
                        format!(" (and {} more)", found.problems.len() - 1)
                    } else {
                        String::new()
                    }
                ),
            )
            .with_hint("move the files into key=value folders, or check the PARTITIONED BY columns and types"));
        }
        found.partitions
    };
    let mode = if t.if_not_exists { IfExists::Skip } else { IfExists::Fail };
    let catalog = qualified.catalog.metastore;
    let now = now();
    let partitions =
        partitions.into_iter().map(|values| Partition { values, create_time: now, ..Partition::default() }).collect();
    catalog.create_table(table, mode, partitions).await?;
    Ok(())
}

/// DROP TABLE ... PURGE: an Iceberg table, by an admin or its creator;
/// every file its metadata reaches is listed before the entry is dropped
/// (so a table whose files cannot be listed stays), then deleted.
async fn purge_table(
    cx: &dyn Context,
    catalog: &dyn Metastore,
    database: &str,
    name: &str,
    if_exists: bool,
) -> Result<()> {
    let Some(entry) = catalog.get_table(database, name).await? else {
        return drop_table(catalog, database, name, if_exists, false).await;
    };
    if !crate::iceberg::is_iceberg(&entry.parameters) {
        let what = if entry.is_view() { "a view" } else { "an external (Hive) table, whose files glaux does not own" };
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            format!("DROP TABLE ... PURGE deletes an Iceberg table's files; {database}.{name} is {what}"),
        )
        .with_hint("drop it without PURGE"));
    }
    let what = format!("purge table {database}.{name}");
    super::require_admin_or_owner(cx, entry.owner.as_deref(), &what).await?;
    let stores = Arc::clone(&cx.state().runtime_env().object_store_registry);
    let loaded = crate::iceberg::load(crate::iceberg::metadata_location(&entry)?, Arc::clone(&stores)).await?;
    if crate::iceberg::gc_disabled(&loaded.metadata) {
        // Iceberg's mark of a table whose files another table owns (a
        // snapshot or migration of it).
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            format!(
                "{database}.{name} has gc.enabled = false: its files may be another table's; drop it without PURGE"
            ),
        ));
    }
    let files = crate::iceberg::purge::files(&loaded, Arc::clone(&stores)).await?;
    catalog.drop_table(database, name).await?;
    let deleted = crate::iceberg::purge::delete(&format!("{database}.{name}"), files, stores).await?;
    cx.notice(format!("deleted {deleted} files of Iceberg table {database}.{name}"));
    Ok(())
}

async fn drop_table(catalog: &dyn Metastore, database: &str, name: &str, if_exists: bool, view: bool) -> Result<()> {
    let what = if view { "view" } else { "table" };
    match catalog.get_table(database, name).await? {
        None if if_exists => Ok(()),
        None => {
            crate::catalog::require_database(catalog, database).await?;
            Err(Error::new(SqlState::UndefinedTable, format!("{what} {database}.{name} does not exist")))
        }
        Some(t) if t.is_view() != view => {
            let (is, use_) = if t.is_view() { ("a view", "DROP VIEW") } else { ("a table", "DROP TABLE") };
            Err(Error::new(SqlState::WrongObjectType, format!("{database}.{name} is {is}; use {use_}")))
        }
        Some(_) => {
            catalog.drop_table(database, name).await?;
            Ok(())
        }
    }
}

async fn create_view(
    catalog: &dyn Metastore,
    database: &str,
    name: &str,
    sql: &str,
    plan: &LogicalPlan,
    or_replace: bool,
) -> Result<()> {
    if let Some(existing) = catalog.get_table(database, name).await? {
        if !existing.is_view() {
            return Err(Error::new(
                SqlState::WrongObjectType,
                format!("{database}.{name} is a table; drop it first or choose another view name"),
            ));
        }
    }
    let columns = plan
        .schema()
        .fields()
        .iter()
        .map(|f| Ok(Column::new(f.name().clone(), arrow_to_hive(f.data_type())?)))
        .collect::<Result<Vec<_>>>()?;
    let table = Table {
        name: name.to_string(),
        database_name: database.to_string(),
        table_type: TableType::VirtualView,
        description: None,
        storage_descriptor: StorageDescriptor { columns, ..Default::default() },
        partition_keys: Vec::new(),
        parameters: [("presto_view".to_string(), "false".to_string())].into_iter().collect(),
        view_original_text: Some(sql.to_string()),
        view_expanded_text: Some(sql.to_string()),
        create_time: now(),
        update_time: now(),
        version: 0,
        owner: None,
    };
    let mode = if or_replace { IfExists::Replace } else { IfExists::Fail };
    catalog.create_table(table, mode, Vec::new()).await?;
    Ok(())
}
