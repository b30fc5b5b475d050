//! Partition statements, as Athena has them:
//!
//! - `ALTER TABLE t ADD [IF NOT EXISTS] PARTITION (k = 'v', ...) [LOCATION
//!   '...'] [PARTITION (...) [LOCATION '...'] ...]`;
//! - `ALTER TABLE t DROP [IF EXISTS] PARTITION (k = 'v', ...) [, PARTITION
//!   (...) ...]`;
//! - `SHOW PARTITIONS t`: one row per partition, `k1=v1/k2=v2`;
//! - `ALTER TABLE t SET TBLPROPERTIES ('k' = 'v', ...)`: sets table
//!   properties (partition projection is checked before it is stored; an
//!   Iceberg table's go through `crate::iceberg::alter`);
//! - `ALTER TABLE t ADD COLUMNS (...) | DROP COLUMN c | CHANGE [COLUMN] c
//!   new type`: parsed here, applied to Iceberg tables by
//!   `crate::iceberg::alter` (the only tables whose columns glaux changes);
//! - `ALTER TABLE t CONVERT TO ICEBERG`: parsed here, run by
//!   `super::migrate`;
//! - `SHOW TABLE VERSIONS t`: the table's definitions, oldest first (each
//!   change of its columns, properties or storage is a version);
//! - `MSCK REPAIR TABLE t`: registers the `k=v/` folders under the table's
//!   LOCATION that are missing from the catalog, and reports what it added,
//!   which registered partitions have no folder, and which folders do not fit.
//!
//! Each statement is one catalog call, so it happens whole or not at all.

use super::{Command, Context, Family};
use crate::catalog::types::hive_to_arrow;
use crate::catalog::{model::now, KeyCondition, KeyTest, Metastore, Partition, StorageDescriptor, Table};
use crate::engine::output::{text_rows, Output};
use crate::engine::parser::GlauxParser;
use crate::engine::statement::SqlText;
use crate::error::{Error, Result, SqlState};
use crate::table::partitioned::{self, partition_values};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::sql::sqlparser::tokenizer::Token;
use std::sync::Arc;

/// One partition named in a statement: (key, value) pairs as written.
pub type Spec = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
pub enum PartitionCommand {
    Add {
        table: Vec<String>,
        if_not_exists: bool,
        partitions: Vec<(Spec, Option<String>)>,
    },
    Drop {
        table: Vec<String>,
        if_exists: bool,
        partitions: Vec<Spec>,
    },
    Show {
        table: Vec<String>,
    },
    Repair {
        table: Vec<String>,
    },
    SetProperties {
        table: Vec<String>,
        properties: Vec<(String, String)>,
    },
    Versions {
        table: Vec<String>,
    },
    /// ADD COLUMNS, DROP COLUMN, CHANGE COLUMN: Iceberg tables only.
    Columns {
        table: Vec<String>,
        change: crate::iceberg::alter::Change,
    },
    /// CONVERT TO ICEBERG (`super::migrate`).
    Convert {
        table: Vec<String>,
    },
}

pub(super) const FAMILY: Family = Family { own_syntax: Some((is_partition_statement, parse)), from_ast: None };

#[async_trait::async_trait]
impl Command for PartitionCommand {
    fn schema(&self, _cx: &dyn Context) -> Result<SchemaRef> {
        Ok(result_schema(self))
    }

    fn metered(&self) -> bool {
        // CONVERT TO ICEBERG reads every data file's footer.
        matches!(self, PartitionCommand::Convert { .. })
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        run(cx, self).await
    }
}

/// Whether a statement's first words make it a partition statement.
fn is_partition_statement(words: &[&str]) -> bool {
    matches!(
        words,
        ["ALTER", "TABLE", ..]
            | ["SHOW", "PARTITIONS", ..]
            | ["SHOW", "TABLE", "VERSIONS", ..]
            | ["MSCK", "REPAIR", ..]
    )
}

fn parse(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut w = GlauxParser::new(stmt)?;
    let command = match w.next_word()?.as_str() {
        "SHOW" if w.is_word("TABLE") => {
            w.expect_word("TABLE")?;
            w.expect_word("VERSIONS")?;
            PartitionCommand::Versions { table: w.object_name()? }
        }
        "SHOW" => {
            w.expect_word("PARTITIONS")?;
            PartitionCommand::Show { table: w.object_name()? }
        }
        "MSCK" => {
            w.expect_word("REPAIR")?;
            w.expect_word("TABLE")?;
            PartitionCommand::Repair { table: w.object_name()? }
        }
        _ => alter_table(&mut w)?,
    };
    if !w.at_end() {
        return Err(w.error_here("unexpected text after the statement"));
    }
    Ok(Box::new(command))
}

/// `ALTER TABLE t ADD | DROP PARTITION ...`, `SET TBLPROPERTIES (...)`,
/// `ADD COLUMNS`, `DROP COLUMN` or `CHANGE [COLUMN]`, after `ALTER`.
fn alter_table(w: &mut GlauxParser<'_>) -> Result<PartitionCommand> {
    w.expect_word("TABLE")?;
    let table = w.object_name()?;
    Ok(match w.next_word()?.as_str() {
        "ADD" if w.is_word("COLUMNS") => {
            w.next_word()?;
            let columns = crate::engine::hive_ddl::columns(w)?;
            PartitionCommand::Columns { table, change: crate::iceberg::alter::Change::AddColumns(columns) }
        }
        "DROP" if w.is_word("COLUMN") => {
            w.next_word()?;
            let column = w.name()?;
            PartitionCommand::Columns { table, change: crate::iceberg::alter::Change::DropColumn(column) }
        }
        "CONVERT" => {
            w.expect_word("TO")?;
            w.expect_word("ICEBERG")?;
            PartitionCommand::Convert { table }
        }
        "CHANGE" => {
            if w.is_word("COLUMN") {
                w.next_word()?;
            }
            let column = w.name()?;
            let name = w.name()?;
            let data_type = crate::engine::hive_ddl::type_text(w)?;
            let comment = if w.is_word("COMMENT") {
                w.next_word()?;
                Some(w.string()?)
            } else {
                None
            };
            let to = crate::catalog::Column { name, data_type, comment };
            PartitionCommand::Columns { table, change: crate::iceberg::alter::Change::Change { column, to } }
        }
        "ADD" => {
            let if_not_exists = w.is_word("IF");
            if if_not_exists {
                w.next_word()?;
                w.expect_word("NOT")?;
                w.expect_word("EXISTS")?;
            }
            let mut partitions = Vec::new();
            while w.is_word("PARTITION") {
                w.next_word()?;
                let spec = spec(w)?;
                let location = if w.is_word("LOCATION") {
                    w.next_word()?;
                    Some(w.string()?)
                } else {
                    None
                };
                partitions.push((spec, location));
            }
            if partitions.is_empty() {
                return Err(w.error_here("ALTER TABLE ... ADD needs PARTITION (key = 'value', ...)"));
            }
            PartitionCommand::Add { table, if_not_exists, partitions }
        }
        "DROP" => {
            let if_exists = w.is_word("IF");
            if if_exists {
                w.next_word()?;
                w.expect_word("EXISTS")?;
            }
            let mut partitions = Vec::new();
            loop {
                w.expect_word("PARTITION")?;
                partitions.push(spec(w)?);
                if !w.consume(&Token::Comma) {
                    break;
                }
            }
            PartitionCommand::Drop { table, if_exists, partitions }
        }
        "SET" => {
            w.expect_word("TBLPROPERTIES")?;
            w.expect_token(Token::LParen)?;
            let mut properties = Vec::new();
            loop {
                let key = w.string()?;
                w.expect_token(Token::Eq)?;
                properties.push((key, w.string()?));
                if !w.consume(&Token::Comma) {
                    break;
                }
            }
            w.expect_token(Token::RParen)?;
            PartitionCommand::SetProperties { table, properties }
        }
        other => {
            return Err(Error::not_supported(format!(
                "ALTER TABLE ... {other} (glaux's ALTER TABLE adds and drops partitions, sets TBLPROPERTIES, converts Hive tables TO ICEBERG, and on Iceberg tables adds, drops and changes columns)"
            )))
        }
    })
}

/// `(k = 'v', ...)`
fn spec(w: &mut GlauxParser<'_>) -> Result<Spec> {
    w.expect_token(Token::LParen)?;
    let mut pairs = Vec::new();
    loop {
        let key = w.name()?;
        w.expect_token(Token::Eq)?;
        pairs.push((key, w.literal()?));
        if !w.consume(&Token::Comma) {
            break;
        }
    }
    w.expect_token(Token::RParen)?;
    Ok(pairs)
}

/// The result columns of a partition statement.
fn result_schema(command: &PartitionCommand) -> SchemaRef {
    let names: &[&str] = match command {
        PartitionCommand::Show { .. } => &["partition"],
        PartitionCommand::Repair { .. } => &["action", "partition"],
        PartitionCommand::Versions { .. } => &["version", "columns", "partition_keys", "updated"],
        _ => &[],
    };
    Arc::new(Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, false)).collect::<Vec<_>>()))
}

async fn run(cx: &dyn Context, command: &PartitionCommand) -> Result<Output> {
    let name = match command {
        PartitionCommand::Add { table, .. }
        | PartitionCommand::Drop { table, .. }
        | PartitionCommand::Show { table }
        | PartitionCommand::Repair { table }
        | PartitionCommand::SetProperties { table, .. }
        | PartitionCommand::Versions { table }
        | PartitionCommand::Columns { table, .. }
        | PartitionCommand::Convert { table } => table,
    };
    let qualified = cx.qualify(name)?;
    let (catalog, database, table_name) = (qualified.catalog.metastore.as_ref(), qualified.database, qualified.name);
    let any_table = matches!(
        command,
        PartitionCommand::SetProperties { .. }
            | PartitionCommand::Versions { .. }
            | PartitionCommand::Columns { .. }
            | PartitionCommand::Convert { .. }
    );
    let table = match catalog.get_table(&database, &table_name).await? {
        Some(t) if (any_table || !t.partition_keys.is_empty()) && !t.is_view() => t,
        Some(t) if t.is_view() => {
            return Err(Error::new(
                SqlState::WrongObjectType,
                format!("{database}.{table_name} is a view, not a table"),
            ))
        }
        Some(_) => {
            return Err(Error::new(
                SqlState::WrongObjectType,
                format!("{database}.{table_name} is not partitioned (it has no PARTITIONED BY columns)"),
            ))
        }
        None => {
            crate::catalog::require_database(catalog, &database).await?;
            return Err(Error::new(SqlState::UndefinedTable, format!("table {database}.{table_name} does not exist")));
        }
    };
    match command {
        PartitionCommand::Convert { table } => {
            super::migrate::convert(cx, table).await?;
            Ok(Output::done("ALTER TABLE"))
        }
        PartitionCommand::Versions { .. } => {
            let versions = catalog.table_versions(&database, &table_name).await?;
            let list = |columns: &[crate::catalog::Column]| {
                columns.iter().map(|c| format!("{} {}", c.name, c.data_type)).collect::<Vec<_>>().join(", ")
            };
            let mut out: [Vec<String>; 4] = Default::default();
            for (version, t) in versions {
                out[0].push(version.to_string());
                out[1].push(list(&t.storage_descriptor.columns));
                out[2].push(list(&t.partition_keys));
                let at = if t.update_time > 0 { t.update_time } else { t.create_time };
                out[3].push(chrono::DateTime::from_timestamp(at, 0).map(|d| d.to_rfc3339()).unwrap_or_default());
            }
            rows(result_schema(command), out.into_iter().collect())
        }
        PartitionCommand::SetProperties { properties, .. } if crate::iceberg::is_iceberg(&table.parameters) => {
            let change = crate::iceberg::alter::Change::SetProperties(properties.iter().cloned().collect());
            let stores = Arc::clone(&cx.state().runtime_env().object_store_registry);
            crate::iceberg::alter::alter(Arc::clone(&qualified.catalog.metastore), stores, &table, &change).await?;
            Ok(Output::done("ALTER TABLE"))
        }
        PartitionCommand::Columns { change, .. } => {
            if !crate::iceberg::is_iceberg(&table.parameters) {
                return Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("ALTER TABLE {database}.{table_name} ... COLUMN(S): glaux changes the columns of Iceberg tables only"),
                )
                .with_hint("recreate an external (Hive) table with its new columns"));
            }
            if matches!(change, crate::iceberg::alter::Change::DropColumn(_)) {
                let what = format!("drop a column of {database}.{table_name}");
                super::require_admin_or_owner(cx, table.owner.as_deref(), &what).await?;
            }
            let stores = Arc::clone(&cx.state().runtime_env().object_store_registry);
            crate::iceberg::alter::alter(Arc::clone(&qualified.catalog.metastore), stores, &table, change).await?;
            Ok(Output::done("ALTER TABLE"))
        }
        PartitionCommand::SetProperties { properties, .. } => {
            let mut table = table;
            table.parameters.extend(properties.iter().cloned());
            table.update_time = now();
            crate::table::projection::Projection::of_table(&table)?;
            catalog.update_table(table).await?;
            Ok(Output::done("ALTER TABLE"))
        }
        PartitionCommand::Add { if_not_exists, partitions, .. } => {
            add(catalog, &table, *if_not_exists, partitions).await
        }
        PartitionCommand::Drop { if_exists, partitions, .. } => {
            drop_named(catalog, &table, *if_exists, partitions).await
        }
        PartitionCommand::Show { .. } => {
            let names = catalog
                .list_partitions(&database, &table_name)
                .await?
                .iter()
                .map(|p| display(&table, &p.values))
                .collect();
            rows(result_schema(command), vec![names])
        }
        PartitionCommand::Repair { .. } => repair(cx, catalog, &table, result_schema(command)).await,
    }
}

/// Which of the `named` partitions are registered, read through the
/// catalog's key conditions where the key types allow (so a statement
/// does not read a table's whole partition list).
async fn registered_among(catalog: &dyn Metastore, table: &Table, named: &[Vec<String>]) -> Result<Vec<Vec<String>>> {
    let conditions: Vec<KeyCondition> = table
        .partition_keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let t = hive_to_arrow(&key.data_type).ok()?;
            let integer = t.is_integer();
            if !integer && t != DataType::Utf8 || integer && named.iter().any(|v| v[i].parse::<i64>().is_err()) {
                return None;
            }
            Some(KeyCondition { index: i, integer, test: KeyTest::In(named.iter().map(|v| v[i].clone()).collect()) })
        })
        .collect();
    let (database, name) = (&table.database_name, &table.name);
    let found = if conditions.is_empty() {
        catalog.list_partitions(database, name).await?
    } else {
        catalog.list_partitions_where(database, name, &conditions).await?
    };
    Ok(found.into_iter().map(|p| p.values).collect())
}

/// The registered partition with the same values as `values` compared
/// as the keys' types (`day = 1` names the folder `day=01`).
fn find_same<'a>(table: &Table, registered: &'a [Vec<String>], values: &[String]) -> Option<&'a Vec<String>> {
    let typed = |v: &[String]| partition_values(table, &Partition { values: v.to_vec(), ..Partition::default() }).ok();
    let wanted = typed(values);
    registered.iter().find(|r| r.as_slice() == values || (wanted.is_some() && typed(r) == wanted))
}

/// A statement's (key, value) pairs as values in the table's key order.
fn ordered_values(table: &Table, spec: &Spec) -> Result<Vec<String>> {
    let keys: Vec<&str> = table.partition_keys.iter().map(|k| k.name.as_str()).collect();
    if let Some((unknown, _)) = spec.iter().find(|(k, _)| !keys.iter().any(|key| key.eq_ignore_ascii_case(k))) {
        return Err(Error::new(
            SqlState::UndefinedColumn,
            format!("{unknown} is not a partition key of {}.{} ({})", table.database_name, table.name, keys.join(", ")),
        ));
    }
    let mut values = Vec::with_capacity(keys.len());
    for key in &keys {
        let given: Vec<&(String, String)> = spec.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).collect();
        match given.as_slice() {
            [(_, v)] => values.push(v.clone()),
            [] => {
                return Err(Error::new(
                    SqlState::InvalidParameterValue,
                    format!(
                        "no value for partition key {key}; {}.{} is partitioned by ({})",
                        table.database_name,
                        table.name,
                        keys.join(", ")
                    ),
                ))
            }
            _ => return Err(Error::new(SqlState::InvalidParameterValue, format!("partition key {key} given twice"))),
        }
    }
    Ok(values)
}

/// ALTER TABLE ADD PARTITION: every partition named, in one catalog call.
async fn add(
    catalog: &dyn Metastore,
    table: &Table,
    if_not_exists: bool,
    partitions: &[(Spec, Option<String>)],
) -> Result<Output> {
    let named = partitions.iter().map(|(spec, _)| ordered_values(table, spec)).collect::<Result<Vec<_>>>()?;
    let existing = registered_among(catalog, table, &named).await?;
    let mut added = Vec::new();
    for (spec, location) in partitions {
        let values = ordered_values(table, spec)?;
        if find_same(table, &existing, &values).is_some() || added.iter().any(|p: &Partition| p.values == values) {
            if if_not_exists {
                continue;
            }
            return Err(Error::new(
                SqlState::DuplicateObject,
                format!(
                    "partition {} of {}.{} already exists",
                    display(table, &values),
                    table.database_name,
                    table.name
                ),
            )
            .with_hint("use ADD IF NOT EXISTS to skip partitions that exist"));
        }
        let storage_descriptor = StorageDescriptor { location: location.clone(), ..StorageDescriptor::default() };
        let partition = Partition { values, storage_descriptor, create_time: now(), ..Partition::default() };
        partition_values(table, &partition)?;
        added.push(partition);
    }
    catalog.add_partitions(&table.database_name, &table.name, added).await?;
    Ok(Output::done("ALTER TABLE"))
}

/// ALTER TABLE DROP PARTITION: every partition named, in one catalog call.
async fn drop_named(catalog: &dyn Metastore, table: &Table, if_exists: bool, partitions: &[Spec]) -> Result<Output> {
    let named = partitions.iter().map(|spec| ordered_values(table, spec)).collect::<Result<Vec<_>>>()?;
    let existing = registered_among(catalog, table, &named).await?;
    let mut dropped = Vec::new();
    for spec in partitions {
        let values = ordered_values(table, spec)?;
        let Some(registered) = find_same(table, &existing, &values) else {
            if if_exists {
                continue;
            }
            return Err(Error::new(
                SqlState::UndefinedObject,
                format!(
                    "partition {} of {}.{} does not exist",
                    display(table, &values),
                    table.database_name,
                    table.name
                ),
            ));
        };
        dropped.push(registered.clone());
    }
    catalog.drop_partitions(&table.database_name, &table.name, &dropped).await?;
    Ok(Output::done("ALTER TABLE"))
}

/// MSCK REPAIR TABLE: register the partition folders the catalog lacks,
/// and report registered partitions without files and folders that do not fit.
async fn repair(cx: &dyn Context, catalog: &dyn Metastore, table: &Table, schema: SchemaRef) -> Result<Output> {
    let found = partitioned::discover(table, cx.state()).await?;
    let registered: Vec<Vec<String>> =
        catalog.list_partitions(&table.database_name, &table.name).await?.into_iter().map(|p| p.values).collect();
    let missing: Vec<Partition> = found
        .partitions
        .iter()
        .filter(|v| !registered.contains(v))
        .map(|values| Partition { values: values.clone(), create_time: now(), ..Partition::default() })
        .collect();
    let (mut actions, mut names) = (Vec::new(), Vec::new());
    for p in &missing {
        actions.push("added".to_string());
        names.push(display(table, &p.values));
    }
    // Registered partitions under the table's LOCATION whose folder is gone.
    for values in registered.iter().filter(|v| !found.partitions.contains(v)) {
        actions.push("no files".to_string());
        names.push(display(table, values));
    }
    for problem in &found.problems {
        actions.push("skipped".to_string());
        names.push(problem.clone());
    }
    catalog.add_partitions(&table.database_name, &table.name, missing).await?;
    rows(schema, vec![actions, names])
}

/// `k1=v1/k2=v2`
fn display(table: &Table, values: &[String]) -> String {
    table.partition_keys.iter().zip(values).map(|(k, v)| format!("{}={v}", k.name)).collect::<Vec<_>>().join("/")
}

fn rows(schema: SchemaRef, columns: Vec<Vec<String>>) -> Result<Output> {
    text_rows(schema, columns, "SHOW")
}
