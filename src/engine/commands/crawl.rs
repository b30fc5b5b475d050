//! `CRAWL 'location' [INTO database]` (and `glaux crawl`): the crawler.
//! It surveys the location (`table::crawl`), then for each dataset:
//!
//! - a new table is created with its partitions, each partition keeping
//!   the columns its own files have (schema drift is read through them);
//! - an existing table gains the new columns and wider types, through
//!   `update_table`, which records a new schema version; its new
//!   partitions are added; partitions already registered, and a table
//!   with nothing new, are not touched;
//! - a table of that name with another location or other partition keys
//!   is left alone and reported.
//!
//! Rows of (table, action, detail) report what was done.

use super::{Command, Context, Family};
use crate::catalog::{model::now, IfExists, Partition, StorageDescriptor, Table};
use crate::engine::output::{text_rows, Output};
use crate::engine::parser::GlauxParser;
use crate::engine::statement::SqlText;
use crate::error::Result;
use crate::table::crawl::{merge_columns, survey, Dataset};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub struct Crawl {
    pub location: String,
    pub database: Option<String>,
}

pub(super) const FAMILY: Family = Family { own_syntax: Some((|w| matches!(w, ["CRAWL", ..]), parse)), from_ast: None };

#[async_trait::async_trait]
impl Command for Crawl {
    fn schema(&self, _cx: &dyn Context) -> Result<SchemaRef> {
        Ok(result_schema())
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        run(cx, self).await
    }
}

fn parse(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut w = GlauxParser::new(stmt)?;
    w.expect_word("CRAWL")?;
    if w.is_word("LOCATION") {
        w.next_word()?;
    }
    let location = w.string()?;
    let database = if w.is_word("INTO") {
        w.next_word()?;
        if w.is_word("DATABASE") || w.is_word("SCHEMA") {
            w.next_word()?;
        }
        Some(w.name()?)
    } else {
        None
    };
    if !w.at_end() {
        return Err(w.error_here("CRAWL takes 'location' [INTO database]"));
    }
    Ok(Box::new(Crawl { location, database }))
}

fn result_schema() -> SchemaRef {
    Arc::new(Schema::new(
        ["table", "action", "detail"].iter().map(|n| Field::new(*n, DataType::Utf8, false)).collect::<Vec<_>>(),
    ))
}

async fn run(cx: &dyn Context, crawl: &Crawl) -> Result<Output> {
    let catalog = cx.metastore();
    let catalog = catalog.as_ref();
    let database = match &crawl.database {
        Some(d) => crate::catalog::normalize(d),
        None => cx.database().to_string(),
    };
    crate::catalog::require_database(catalog, &database).await?;
    let found = survey(&crawl.location, &database, cx.state()).await?;
    let mut report: Vec<[String; 3]> = Vec::new();
    for dataset in found.datasets {
        let name = format!("{database}.{}", dataset.name);
        for note in &dataset.notes {
            report.push([name.clone(), "note".into(), note.clone()]);
        }
        match catalog.get_table(&database, &dataset.name).await? {
            None => {
                let count = dataset.partitions.len();
                let columns = dataset.table.storage_descriptor.columns.len();
                let partitions = partitions_of(&dataset.table, &dataset, |_| true);
                let keyed = !dataset.table.partition_keys.is_empty();
                catalog
                    .create_table(dataset.table, IfExists::Fail, if keyed { partitions } else { Vec::new() })
                    .await?;
                let detail =
                    if keyed { format!("{columns} columns, {count} partitions") } else { format!("{columns} columns") };
                report.push([name, "created".into(), format!("{detail}; version 1")]);
            }
            Some(existing) => report.extend(update(catalog, &name, existing, &dataset).await?),
        }
    }
    for problem in found.problems {
        report.push([String::new(), "skipped".into(), problem]);
    }
    let columns: Vec<Vec<String>> = (0..3).map(|i| report.iter().map(|r| r[i].clone()).collect()).collect();
    text_rows(result_schema(), columns, "CRAWL")
}

/// Bring an existing table up to date with a dataset.
async fn update(
    catalog: &dyn crate::catalog::Metastore,
    name: &str,
    mut table: Table,
    dataset: &Dataset,
) -> Result<Vec<[String; 3]>> {
    let mut report = Vec::new();
    let same_place = table.storage_descriptor.location.as_deref().map(|l| l.trim_end_matches('/'))
        == dataset.table.storage_descriptor.location.as_deref().map(|l| l.trim_end_matches('/'));
    let keys = |t: &Table| t.partition_keys.iter().map(|k| k.name.clone()).collect::<Vec<_>>();
    if table.is_view() || !same_place || keys(&table) != keys(&dataset.table) {
        report.push([
            name.to_string(),
            "skipped".into(),
            "a table of that name exists with another location or partition keys; drop it or crawl into another database"
                .to_string(),
        ]);
        return Ok(report);
    }
    let key_names = keys(&table);
    let mut notes = Vec::new();
    let merged = merge_columns(
        &table.storage_descriptor.columns,
        dataset.partitions.iter().map(|(v, _, c)| (v.as_slice(), c.as_slice())),
        &key_names,
        &mut notes,
    );
    let before = table.storage_descriptor.columns.clone();
    if merged != before {
        let added: Vec<String> =
            merged.iter().filter(|c| !before.iter().any(|b| b.name == c.name)).map(|c| c.name.clone()).collect();
        let widened: Vec<String> = merged
            .iter()
            .filter(|c| before.iter().any(|b| b.name == c.name && b.data_type != c.data_type))
            .map(|c| format!("{} to {}", c.name, c.data_type))
            .collect();
        table.storage_descriptor.columns = merged;
        table.update_time = now();
        let version = catalog.update_table(table.clone()).await?;
        let mut detail = Vec::new();
        if !added.is_empty() {
            detail.push(format!("new columns {}", added.join(", ")));
        }
        if !widened.is_empty() {
            detail.push(format!("widened {}", widened.join(", ")));
        }
        report.push([name.to_string(), "updated".into(), format!("{}; version {version}", detail.join("; "))]);
    }
    if !key_names.is_empty() {
        let registered: Vec<Vec<String>> =
            catalog.list_partitions(&table.database_name, &table.name).await?.into_iter().map(|p| p.values).collect();
        let new = partitions_of(&table, dataset, |values| !registered.iter().any(|r| r == values));
        if !new.is_empty() {
            report.push([name.to_string(), "partitions added".into(), new.len().to_string()]);
            catalog.add_partitions(&table.database_name, &table.name, new).await?;
        }
    }
    if report.is_empty() {
        report.push([name.to_string(), "unchanged".into(), String::new()]);
    }
    Ok(report)
}

/// The dataset's partitions that `wanted` keeps, each with the table's
/// storage at its folder and its own columns.
fn partitions_of(table: &Table, dataset: &Dataset, wanted: impl Fn(&Vec<String>) -> bool) -> Vec<Partition> {
    dataset
        .partitions
        .iter()
        .filter(|(values, _, _)| !values.is_empty() && wanted(values))
        .map(|(values, location, columns)| Partition {
            values: values.clone(),
            storage_descriptor: StorageDescriptor {
                location: Some(location.clone()),
                columns: columns.clone(),
                ..table.storage_descriptor.clone()
            },
            parameters: Default::default(),
            create_time: now(),
        })
        .collect()
}
