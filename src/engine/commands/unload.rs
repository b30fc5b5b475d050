//! A query's rows written as files, Athena's two ways:
//!
//! ```sql
//! UNLOAD (SELECT ...) TO 's3://bucket/prefix/'
//!   [WITH (format = 'PARQUET' | 'ORC' | 'TEXTFILE' | 'JSON', compression = 'gzip',
//!          field_delimiter = ',', partitioned_by = ARRAY['col', ...])]
//! CREATE TABLE t WITH (format = ..., external_location = '...', partitioned_by = ARRAY['dt'],
//!   write_compression = ..., field_delimiter = ...) AS SELECT ... [WITH [NO] DATA]
//! ```
//!
//! UNLOAD writes the files and registers nothing; CTAS without
//! `table_type = 'ICEBERG'` makes an external (Hive) table over them,
//! with its partitions registered. Both write through
//! `crate::table::write` (one file per partition, Hive's `k=v/` folders,
//! partition columns last in each row's place and left out of the
//! files), as a statement that is metered like a query; both need an
//! empty (or new) location, and write to no other (22023 otherwise);
//! a location on the server's own disk takes an admin (42501).
//! UNLOAD answers `UNLOAD n`, CTAS `SELECT n`. A CTAS whose rows fail to
//! be written drops its table again (the writer deletes its files).

use super::{Command, Context, Family};
use crate::catalog::model::now;
use crate::catalog::{Column, IfExists, Metastore, Table, TableType};
use crate::engine::hive_ddl::{with_options, AsQuery, CreateExternalTable};
use crate::engine::output::{Changed, Output, Tag};
use crate::engine::parser::GlauxParser;
use crate::engine::statement::SqlText;
use crate::error::{Error, Result, SqlState};
use crate::table::write::{athena_storage, WriteTarget};
use datafusion::common::TableReference;
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::Statement as Ast;
use datafusion::sql::sqlparser::tokenizer::Token;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const FAMILY: Family = Family { own_syntax: Some((|w| matches!(w, ["UNLOAD", ..]), parse)), from_ast: None };

/// `UNLOAD (query) TO 'location' [WITH (...)]`.
#[derive(Debug, Clone)]
struct Unload {
    query: String,
    location: String,
    options: BTreeMap<String, Vec<String>>,
}

fn parse(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut w = GlauxParser::new(stmt)?;
    w.expect_word("UNLOAD")?;
    w.expect_token(Token::LParen)?;
    let start = w.here() - stmt.offset - 1;
    let mut depth = 1;
    let end = loop {
        let at = w.here() - stmt.offset - 1;
        match w.advance() {
            Token::LParen => depth += 1,
            Token::RParen if depth == 1 => break at,
            Token::RParen => depth -= 1,
            Token::EOF => return Err(w.error_here("UNLOAD (query): the query's parenthesis is not closed")),
            _ => {}
        }
    };
    let query = w.text_between(start, Some(end));
    w.expect_word("TO")?;
    let location = w.string()?;
    let mut options = BTreeMap::new();
    if w.word("WITH") {
        for (key, position, values) in with_options(&mut w)? {
            if !matches!(key.as_str(), "format" | "compression" | "field_delimiter" | "partitioned_by") {
                return Err(Error::syntax(
                    format!("UNLOAD takes format, compression, field_delimiter and partitioned_by, not {key}"),
                    Some(position),
                ));
            }
            options.insert(key, values);
        }
    }
    w.finish()?;
    Ok(Box::new(Unload { query, location, options }))
}

impl Unload {
    fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).and_then(|v| v.first()).map(String::as_str)
    }
}

#[async_trait::async_trait]
impl Command for Unload {
    fn query(&self) -> Option<Ast> {
        crate::engine::time_travel::parse_statements(&self.query).ok()?.pop()
    }

    fn metered(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        let cx: &dyn Context = cx;
        let (plan, columns) = crate::iceberg::create::ctas_query(cx, &self.query).await?;
        let (mut storage, parameters) =
            athena_storage(self.option("format"), self.option("compression"), self.option("field_delimiter"))?;
        storage.location = Some(self.location.clone());
        let partitioned_by = self.options.get("partitioned_by").cloned().unwrap_or_default();
        let names = names_of(&columns);
        let (data, keys) = split_columns(columns, &partitioned_by)?;
        storage.columns = data;
        let table = hive_table(String::new(), "unload".into(), storage, keys, parameters, None);
        empty_location(cx, &table, "UNLOAD").await?;
        let rows = write(cx, plan, &names, table, None).await?;
        Ok(Output::Done { tag: Tag::Changed { verb: Changed::Unload, rows } })
    }
}

/// CTAS of an external (Hive) table: the table made over `external_location`
/// (or `location`) with the query's columns, then its rows written there.
/// Returns the rows written (None for `WITH NO DATA`, or a table that
/// existed with IF NOT EXISTS).
pub(super) async fn create_hive_table_as(
    cx: &dyn Context,
    t: &CreateExternalTable,
    query: &AsQuery,
) -> Result<Option<u64>> {
    let qualified = cx.qualify(&t.name)?;
    let metastore = Arc::clone(&qualified.catalog.metastore);
    let (database, name) = (qualified.database.clone(), qualified.name.clone());
    if metastore.get_table(&database, &name).await?.is_some() {
        if t.if_not_exists {
            cx.notice(format!("table {database}.{name} already exists, skipping"));
            return Ok(None);
        }
        return Err(Error::new(SqlState::DuplicateTable, format!("table {database}.{name} already exists")));
    }
    crate::catalog::require_database(metastore.as_ref(), &database).await?;
    if let Some(field) = t.partition_fields.first() {
        return Err(Error::syntax(
            format!("partitioning = ARRAY['{field}'] is for Iceberg tables; a Hive table takes partitioned_by"),
            Some(field.position),
        )
        .with_hint("add table_type = 'ICEBERG', or write partitioned_by = ARRAY['col', ...]"));
    }
    let mut properties = t.properties.clone();
    let mut take = |key: &str| properties.remove(key);
    let (format, compression, delimiter) = (take("format"), take("write_compression"), take("field_delimiter"));
    let partitioned_by: Vec<String> = take("partitioned_by")
        .map(|v| v.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect())
        .unwrap_or_default();
    if let Some(key) = ["bucketed_by", "bucket_count"].into_iter().find(|k| properties.contains_key(*k)) {
        return Err(Error::new(SqlState::FeatureNotSupported, format!("{key}: glaux does not write bucketed tables")));
    }
    let location = t.location.clone().ok_or_else(|| {
        Error::syntax(
            format!("CREATE TABLE {database}.{name} AS needs external_location: the folder its files are written to"),
            None,
        )
        .with_hint("WITH (format = 'PARQUET', external_location = 's3://bucket/prefix/') AS SELECT ...")
    })?;
    let (plan, columns) = crate::iceberg::create::ctas_query(cx, &query.text).await?;
    let (mut storage, written) = athena_storage(format.as_deref(), compression.as_deref(), delimiter.as_deref())?;
    storage.location = Some(location);
    let names = names_of(&columns);
    let (data, keys) = split_columns(columns, &partitioned_by)?;
    storage.columns = data;
    properties.extend(written);
    properties.insert("EXTERNAL".into(), "TRUE".into());
    let mut table = hive_table(database.clone(), name.clone(), storage, keys, properties, Some(cx.user().to_string()));
    table.description = t.comment.clone();
    empty_location(cx, &table, "CREATE TABLE AS").await?;
    let mode = if t.if_not_exists { IfExists::Skip } else { IfExists::Fail };
    if !metastore.create_table(table.clone(), mode, Vec::new()).await? {
        // Another statement made it meanwhile (IF NOT EXISTS).
        cx.notice(format!("table {database}.{name} already exists, skipping"));
        return Ok(None);
    }
    if !query.with_data {
        return Ok(None);
    }
    // Leave no half-made table, also when the statement is cancelled or
    // times out mid-way (the writer deletes its files itself).
    let guard = DropUnlessWritten { metastore: Arc::clone(&metastore), database, name, written: false };
    match write(cx, plan, &names, table, Some(metastore)).await {
        Ok(rows) => {
            guard.written();
            Ok(Some(rows))
        }
        Err(e) => {
            guard.drop_now().await;
            Err(e)
        }
    }
}

/// Drops the table a CTAS made, unless its rows were written.
struct DropUnlessWritten {
    metastore: Arc<dyn Metastore>,
    database: String,
    name: String,
    written: bool,
}

impl DropUnlessWritten {
    fn written(mut self) {
        self.written = true;
    }

    /// Drops the table now (the statement failed), before it answers.
    async fn drop_now(mut self) {
        self.written = true;
        let _ = self.metastore.drop_table(&self.database, &self.name).await;
    }
}

impl Drop for DropUnlessWritten {
    fn drop(&mut self) {
        if self.written {
            return;
        }
        let (metastore, database, name) = (Arc::clone(&self.metastore), self.database.clone(), self.name.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = metastore.drop_table(&database, &name).await {
                    log::warn!("a failed CREATE TABLE AS could not drop {database}.{name}: {e}");
                }
            });
        }
    }
}

fn names_of(columns: &[Column]) -> Vec<String> {
    columns.iter().map(|c| c.name.clone()).collect()
}

/// An external table's catalog entry.
fn hive_table(
    database: String,
    name: String,
    storage: crate::catalog::StorageDescriptor,
    partition_keys: Vec<Column>,
    parameters: crate::catalog::Parameters,
    owner: Option<String>,
) -> Table {
    Table {
        name,
        database_name: database,
        table_type: TableType::ExternalTable,
        description: None,
        storage_descriptor: storage,
        partition_keys,
        parameters,
        view_original_text: None,
        view_expanded_text: None,
        create_time: now(),
        update_time: now(),
        version: 0,
        owner,
    }
}

/// The query's columns as a table's data columns and its partition keys
/// (`partitioned_by`, in that order; each must be a column of the query).
fn split_columns(columns: Vec<Column>, partitioned_by: &[String]) -> Result<(Vec<Column>, Vec<Column>)> {
    let mut keys = Vec::new();
    for key in partitioned_by {
        let column = columns.iter().find(|c| c.name == *key).ok_or_else(|| {
            Error::new(SqlState::UndefinedColumn, format!("partitioned_by names {key}, which the query does not have"))
        })?;
        if keys.iter().any(|k: &Column| k.name == *key) {
            return Err(Error::syntax(format!("partitioned_by names {key} twice"), None));
        }
        keys.push(column.clone());
    }
    let data: Vec<Column> = columns.into_iter().filter(|c| !partitioned_by.contains(&c.name)).collect();
    if data.is_empty() {
        return Err(Error::syntax("the files need at least one column that is not a partition column", None));
    }
    Ok((data, keys))
}

/// Refuses a location that already holds files (Athena's rule: neither
/// statement adds to or overwrites what is there); a local one that does
/// not exist is made. Files on the server's own disk are written only
/// for an admin (42501): another user could otherwise write anywhere the
/// server may.
async fn empty_location(cx: &dyn Context, table: &Table, statement: &str) -> Result<()> {
    let location = table.storage_descriptor.location.as_deref().unwrap_or_default();
    let url = crate::table::store::listing_url(location)?;
    if let Some(path) = crate::table::store::local_path(&url) {
        let what = format!("write files to the server's disk ({location}); an object store location needs no admin");
        super::require_admin_or_owner(cx, None, &what).await?;
        std::fs::create_dir_all(&path).map_err(|e| {
            Error::new(SqlState::IoError, format!("{statement}: cannot make the folder {location}: {e}"))
        })?;
    }
    let files = crate::table::data_files(table, cx.state()).await?;
    if let Some(file) = files.first() {
        return Err(Error::new(
            SqlState::InvalidParameterValue,
            format!(
                "{statement}: {location} already holds files ({} among them); it writes only to an empty location",
                file.location
            ),
        ));
    }
    Ok(())
}

/// Writes the rows of `plan` (whose columns are `names`, in order) as
/// `table`'s files, each column cast to the table's type and put in the
/// table's order; `catalog` registers its partitions.
async fn write(
    cx: &dyn Context,
    plan: LogicalPlan,
    names: &[String],
    table: Table,
    catalog: Option<Arc<dyn Metastore>>,
) -> Result<u64> {
    let target = Arc::new(WriteTarget::new(table, catalog)?);
    let schema = datafusion::catalog::TableProvider::schema(target.as_ref());
    let input = plan.schema().columns();
    let mut exprs = Vec::new();
    for field in schema.fields() {
        let at = names
            .iter()
            .position(|n| n == field.name())
            .ok_or_else(|| Error::internal(format!("the query has no column {}", field.name())))?;
        exprs.push(cast(Expr::Column(input[at].clone()), field.data_type().clone()).alias(field.name()));
    }
    let projected = LogicalPlanBuilder::from(plan).project(exprs)?.build()?;
    let insert = LogicalPlanBuilder::insert_into(
        projected,
        TableReference::bare("written"),
        provider_as_source(target),
        InsertOp::Append,
    )?
    .build()?;
    crate::engine::writes::changed_rows(cx.start(insert, true)).await
}
