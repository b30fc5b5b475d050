//! SHOW DATABASES, SHOW TABLES, DESCRIBE, SHOW CREATE TABLE and SHOW
//! <setting>: their result schemas and rows, built from the catalog.

use super::session::{no_columns, Output, Session};
use super::statement::{object_name_parts, Statement};
use crate::catalog::{require_database, Catalog, Table};
use crate::error::{Error, Result, SqlState};
use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::physical_plan::memory::MemoryStream;
use std::sync::Arc;

fn utf8_schema(names: &[&str]) -> SchemaRef {
    Arc::new(Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect::<Vec<_>>()))
}

fn describe_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("column_name", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("partition_key", DataType::Boolean, false),
        Field::new("comment", DataType::Utf8, true),
    ]))
}

/// The result columns of a command (empty when it returns no rows).
pub fn result_schema(statement: &Statement) -> SchemaRef {
    match statement {
        Statement::ShowDatabases { .. } => utf8_schema(&["database_name"]),
        Statement::ShowTables { .. } => utf8_schema(&["table_name"]),
        Statement::Describe { .. } => describe_schema(),
        Statement::ShowCreateTable { .. } => utf8_schema(&["createtab_stmt"]),
        Statement::ShowVariable { name } if name == "all" => utf8_schema(&["name", "setting", "description"]),
        Statement::ShowVariable { name } => utf8_schema(&[name.as_str()]),
        Statement::Partitions(command) => super::partitions::result_schema(command),
        Statement::Crawl(_) => super::crawl::result_schema(),
        Statement::Workgroup(command) => super::workgroups::result_schema(command),
        _ => no_columns(),
    }
}

fn rows(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<Output> {
    tagged_rows(schema, columns, "SHOW")
}

fn tagged_rows(schema: SchemaRef, columns: Vec<ArrayRef>, tag: &'static str) -> Result<Output> {
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(datafusion::error::DataFusionError::from)?;
    let stream = MemoryStream::try_new(vec![batch], Arc::clone(&schema), None)?;
    Ok(Output::Rows { schema, stream: Box::pin(stream), tag })
}

/// The rows of a glaux command that answers with text columns (a
/// column of `String` or of `Option<String>` each).
pub(crate) fn text_rows<T>(schema: SchemaRef, columns: Vec<Vec<T>>, tag: &'static str) -> Result<Output>
where
    StringArray: From<Vec<T>>,
{
    tagged_rows(schema, columns.into_iter().map(|c| Arc::new(StringArray::from(c)) as ArrayRef).collect(), tag)
}

fn strings(values: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

/// SQL LIKE with % and _ (case-insensitive, as Athena's SHOW does); `*` and
/// `|` work as in Hive's SHOW TABLES patterns. Matched in one pass that
/// backs up only to the last wildcard, so no pattern costs more than
/// pattern length times name length (a recursive matcher was exponential
/// in the number of `%`).
fn like(pattern: &str, value: &str) -> bool {
    if pattern.contains('|') {
        return pattern.split('|').any(|p| like(p, value));
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let any = |c: char| c == '%' || c == '*';
    let (mut pi, mut vi) = (0, 0);
    // After the last wildcard seen: where the pattern resumes, and the
    // value position that wildcard's match ends at.
    let mut resume: Option<(usize, usize)> = None;
    while vi < v.len() {
        match p.get(pi) {
            Some(&c) if any(c) => {
                resume = Some((pi + 1, vi));
                pi += 1;
            }
            Some(&c) if c == '_' || c.eq_ignore_ascii_case(&v[vi]) => {
                pi += 1;
                vi += 1;
            }
            _ => match resume {
                Some((after, end)) => {
                    resume = Some((after, end + 1));
                    pi = after;
                    vi = end + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| any(c))
}

pub async fn run(session: &Session, catalog: &dyn Catalog, statement: &Statement) -> Result<Output> {
    let schema = result_schema(statement);
    match statement {
        Statement::ShowDatabases { like: pattern } => {
            let names = catalog
                .list_databases()
                .await?
                .into_iter()
                .map(|d| d.name)
                .filter(|n| pattern.as_deref().is_none_or(|p| like(p, n)))
                .collect();
            rows(schema, vec![strings(names)])
        }
        Statement::ShowTables { database, like: pattern } => {
            let db = database.clone().unwrap_or_else(|| session.database().to_string());
            let names = catalog
                .list_tables(&db)
                .await?
                .into_iter()
                .map(|t| t.name)
                .filter(|n| pattern.as_deref().is_none_or(|p| like(p, n)))
                .collect();
            rows(schema, vec![strings(names)])
        }
        Statement::Describe { table } => {
            let table = lookup(session, catalog, &object_name_parts(table)).await?;
            let sd = &table.storage_descriptor;
            let all: Vec<(&crate::catalog::Column, bool)> =
                sd.columns.iter().map(|c| (c, false)).chain(table.partition_keys.iter().map(|c| (c, true))).collect();
            rows(
                schema,
                vec![
                    strings(all.iter().map(|(c, _)| c.name.clone()).collect()),
                    strings(all.iter().map(|(c, _)| c.data_type.clone()).collect()),
                    Arc::new(BooleanArray::from(all.iter().map(|(_, p)| *p).collect::<Vec<_>>())),
                    Arc::new(StringArray::from(all.iter().map(|(c, _)| c.comment.clone()).collect::<Vec<_>>())),
                ],
            )
        }
        Statement::ShowCreateTable { table } => {
            let table = lookup(session, catalog, &object_name_parts(table)).await?;
            rows(schema, vec![strings(vec![show_create(&table)])])
        }
        Statement::ShowVariable { name } if name == "all" => {
            let all = crate::pgcatalog::settings::SETTINGS;
            let values = all.iter().map(|s| session.setting(s.name).unwrap_or_default()).collect();
            rows(
                schema,
                vec![
                    strings(all.iter().map(|s| s.name.to_string()).collect()),
                    strings(values),
                    strings(all.iter().map(|s| s.description.to_string()).collect()),
                ],
            )
        }
        Statement::ShowVariable { name }
            if name.eq_ignore_ascii_case("workgroup") || name.eq_ignore_ascii_case("glaux.workgroup") =>
        {
            rows(schema, vec![strings(vec![session.current_workgroup().await?])])
        }
        Statement::ShowVariable { name } => rows(schema, vec![strings(vec![session.show_setting(name)?])]),
        other => Err(Error::internal(format!("{other:?} is not a SHOW statement"))),
    }
}

async fn lookup(session: &Session, catalog: &dyn Catalog, parts: &[String]) -> Result<Table> {
    let (db, name) = session.qualify(parts)?;
    match catalog.get_table(&db, &name).await? {
        Some(t) => Ok(t),
        None => {
            require_database(catalog, &db).await?;
            Err(Error::new(SqlState::UndefinedTable, format!("table {db}.{name} does not exist")))
        }
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "\\'"))
}

fn column_lines(columns: &[crate::catalog::Column]) -> String {
    columns
        .iter()
        .map(|c| match &c.comment {
            Some(comment) => format!("  `{}` {} COMMENT {}", c.name, c.data_type, quote(comment)),
            None => format!("  `{}` {}", c.name, c.data_type),
        })
        .collect::<Vec<_>>()
        .join(",\n")
}

fn properties(p: &crate::catalog::Parameters) -> String {
    p.iter().map(|(k, v)| format!("  {}={}", quote(k), quote(v))).collect::<Vec<_>>().join(",\n")
}

/// The DDL that recreates a table or view, in Athena's layout.
pub fn show_create(t: &Table) -> String {
    if t.is_view() {
        return format!(
            "CREATE VIEW `{}`.`{}` AS\n{}",
            t.database_name,
            t.name,
            t.view_original_text.as_deref().unwrap_or("")
        );
    }
    let sd = &t.storage_descriptor;
    let mut out = format!("CREATE EXTERNAL TABLE `{}`.`{}`(\n{})", t.database_name, t.name, column_lines(&sd.columns));
    if let Some(c) = &t.description {
        out.push_str(&format!("\nCOMMENT {}", quote(c)));
    }
    if !t.partition_keys.is_empty() {
        out.push_str(&format!("\nPARTITIONED BY (\n{})", column_lines(&t.partition_keys)));
    }
    if let Some(serde) = &sd.serde_info.serialization_library {
        out.push_str(&format!("\nROW FORMAT SERDE\n  {}", quote(serde)));
    }
    if !sd.serde_info.parameters.is_empty() {
        out.push_str(&format!("\nWITH SERDEPROPERTIES (\n{})", properties(&sd.serde_info.parameters)));
    }
    if let (Some(i), Some(o)) = (&sd.input_format, &sd.output_format) {
        out.push_str(&format!("\nSTORED AS INPUTFORMAT\n  {}\nOUTPUTFORMAT\n  {}", quote(i), quote(o)));
    }
    if let Some(l) = &sd.location {
        out.push_str(&format!("\nLOCATION\n  {}", quote(l)));
    }
    let mut props = t.parameters.clone();
    props.remove("EXTERNAL");
    if let Some(c) = sd.parameters.get(crate::table::format::COMPRESSION_KEY) {
        props.entry(crate::table::format::COMPRESSION_KEY.to_string()).or_insert_with(|| c.clone());
    }
    if !props.is_empty() {
        out.push_str(&format!("\nTBLPROPERTIES (\n{})", properties(&props)));
    }
    out
}
