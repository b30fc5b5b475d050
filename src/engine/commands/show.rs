//! SHOW CATALOGS (name, type, options without secrets), SHOW DATABASES, SHOW TABLES [IN [catalog.]database],
//! DESCRIBE, SHOW CREATE TABLE and SHOW TBLPROPERTIES: their result schemas
//! and rows, built from the catalogs.

use super::{Claimed, Command, Context, Family};
use crate::catalog::{require_database, Table};
use crate::engine::output::{tagged_rows, utf8_schema, Output};
use crate::engine::parser::GlauxParser;
use crate::engine::statement::{object_name_parts, SqlText};
use crate::error::{Error, Result, SqlState};
use datafusion::arrow::array::{ArrayRef, BooleanArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::sql::sqlparser::ast::{
    ObjectName, ShowCreateObject, ShowStatementFilter, ShowStatementFilterPosition, Statement as Ast,
};
use datafusion::sql::sqlparser::tokenizer::Token;
use std::sync::Arc;

pub(super) const FAMILY: Family = Family {
    own_syntax: Some((|w| matches!(w, ["SHOW", "CATALOGS" | "TBLPROPERTIES", ..]), parse_own)),
    from_ast: Some(from_ast),
};

/// The SHOW statements sqlparser does not parse: `SHOW CATALOGS [LIKE
/// 'pattern']` (Trino's) and `SHOW TBLPROPERTIES t [('key')]` (Hive's and
/// Athena's).
fn parse_own(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut p = GlauxParser::new(stmt)?;
    p.expect_word("SHOW")?;
    let show = if p.word("CATALOGS") {
        Show::Catalogs { like: if p.word("LIKE") { Some(p.string()?) } else { None } }
    } else {
        p.expect_word("TBLPROPERTIES")?;
        let table = p.object_name()?;
        let key = if p.consume(&Token::LParen) {
            let key = p.string()?;
            p.expect_token(Token::RParen)?;
            Some(key)
        } else {
            None
        };
        Show::Properties { table, key }
    };
    p.finish()?;
    Ok(Box::new(show))
}

/// A statement that shows what the catalog holds.
#[derive(Debug, Clone)]
enum Show {
    Catalogs {
        like: Option<String>,
    },
    Databases {
        like: Option<String>,
    },
    /// `database`: `[catalog.]database`, as its parts.
    Tables {
        database: Option<Vec<String>>,
        like: Option<String>,
    },
    Describe {
        table: ObjectName,
    },
    CreateTable {
        table: ObjectName,
    },
    /// The table's parameters, or the one `key` names.
    Properties {
        table: Vec<String>,
        key: Option<String>,
    },
}

fn from_ast(ast: Ast) -> Result<Claimed> {
    let show = match ast {
        Ast::ShowDatabases { show_options, .. } | Ast::ShowSchemas { show_options, .. } => {
            Show::Databases { like: like_filter(show_options.filter_position)? }
        }
        Ast::ShowTables { show_options, .. } => Show::Tables {
            database: show_options.show_in.and_then(|i| i.parent_name).map(|n| object_name_parts(&n)),
            like: like_filter(show_options.filter_position)?,
        },
        Ast::ExplainTable { table_name, .. } => Show::Describe { table: table_name },
        Ast::ShowCreate { obj_type: ShowCreateObject::Table | ShowCreateObject::View, obj_name } => {
            Show::CreateTable { table: obj_name }
        }
        other => return Ok(Claimed::Not(Box::new(other))),
    };
    Ok(Claimed::Command(Box::new(show)))
}

fn like_filter(filter: Option<ShowStatementFilterPosition>) -> Result<Option<String>> {
    match filter {
        None => Ok(None),
        Some(ShowStatementFilterPosition::Suffix(f) | ShowStatementFilterPosition::Infix(f)) => match f {
            ShowStatementFilter::Like(p) | ShowStatementFilter::ILike(p) | ShowStatementFilter::NoKeyword(p) => {
                Ok(Some(p))
            }
            ShowStatementFilter::Where(_) => Err(Error::not_supported("SHOW ... WHERE")),
        },
    }
}

fn describe_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("column_name", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("partition_key", DataType::Boolean, false),
        Field::new("comment", DataType::Utf8, true),
    ]))
}

#[async_trait::async_trait]
impl Command for Show {
    fn schema(&self, _cx: &dyn Context) -> Result<SchemaRef> {
        Ok(match self {
            Show::Catalogs { .. } => utf8_schema(&["catalog_name", "type", "options"]),
            Show::Databases { .. } => utf8_schema(&["database_name"]),
            Show::Tables { .. } => utf8_schema(&["table_name"]),
            Show::Describe { .. } => describe_schema(),
            Show::CreateTable { .. } => utf8_schema(&["createtab_stmt"]),
            Show::Properties { .. } => utf8_schema(&["prpt_name", "prpt_value"]),
        })
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        let schema = self.schema(cx)?;
        let catalog = cx.metastore();
        let catalog = catalog.as_ref();
        match self {
            Show::Catalogs { like: pattern } => {
                let shown: Vec<_> = cx
                    .catalogs()
                    .all()
                    .into_iter()
                    .filter(|c| pattern.as_deref().is_none_or(|p| like(p, &c.name)))
                    .collect();
                // A connector's options as glaux shows them: no secrets.
                let options = |c: &crate::catalog::list::NamedCatalog| {
                    let Some(connector) = &c.connector else { return String::new() };
                    let options = connector.definition.shown_options();
                    let options: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    options.join(", ")
                };
                rows(
                    schema,
                    vec![
                        strings(shown.iter().map(|c| c.name.clone()).collect()),
                        strings(shown.iter().map(|c| c.kind.clone()).collect()),
                        strings(shown.iter().map(options).collect()),
                    ],
                )
            }
            Show::Databases { like: pattern } => {
                let names = catalog
                    .list_databases()
                    .await?
                    .into_iter()
                    .map(|d| d.name)
                    .filter(|n| pattern.as_deref().is_none_or(|p| like(p, n)))
                    .collect();
                rows(schema, vec![strings(names)])
            }
            Show::Tables { database, like: pattern } => {
                let (catalog, db) = match database.as_deref() {
                    None => (cx.metastore(), cx.database().to_string()),
                    Some([db]) => (cx.metastore(), db.clone()),
                    Some([catalog, db]) => {
                        (Arc::clone(&cx.catalogs().require(catalog, SqlState::UndefinedSchema)?.metastore), db.clone())
                    }
                    Some(parts) => {
                        return Err(Error::syntax(
                            format!("SHOW TABLES IN {}: too many dotted names", parts.join(".")),
                            None,
                        ))
                    }
                };
                let names = catalog
                    .list_table_names(&db)
                    .await?
                    .into_iter()
                    .filter(|n| pattern.as_deref().is_none_or(|p| like(p, n)))
                    .collect();
                rows(schema, vec![strings(names)])
            }
            Show::Describe { table } => {
                let table = lookup(cx, &object_name_parts(table)).await?;
                let sd = &table.storage_descriptor;
                let all: Vec<(&crate::catalog::Column, bool)> = sd
                    .columns
                    .iter()
                    .map(|c| (c, false))
                    .chain(table.partition_keys.iter().map(|c| (c, true)))
                    .collect();
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
            Show::CreateTable { table } => {
                let table = lookup(cx, &object_name_parts(table)).await?;
                rows(schema, vec![strings(vec![show_create(&table)])])
            }
            Show::Properties { table, key } => {
                let table = lookup(cx, table).await?;
                let shown: Vec<(&String, &String)> =
                    table.parameters.iter().filter(|(k, _)| key.as_ref().is_none_or(|key| key == *k)).collect();
                if let (Some(key), true) = (key, shown.is_empty()) {
                    return Err(Error::new(
                        SqlState::UndefinedObject,
                        format!("table {}.{} has no property {key}", table.database_name, table.name),
                    ));
                }
                let names = shown.iter().map(|(k, _)| k.to_string()).collect();
                rows(schema, vec![strings(names), strings(shown.iter().map(|(_, v)| v.to_string()).collect())])
            }
        }
    }
}

pub(super) fn rows(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<Output> {
    tagged_rows(schema, columns, "SHOW")
}

pub(super) fn strings(values: Vec<String>) -> ArrayRef {
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

/// The table `parts` names, in whichever catalog it is.
async fn lookup(cx: &dyn Context, parts: &[String]) -> Result<Table> {
    let qualified = cx.qualify(parts)?;
    let (catalog, db, name) = (qualified.catalog.metastore.as_ref(), qualified.database, qualified.name);
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
    if t.table_type == crate::catalog::TableType::Iceberg {
        // The statement that registers it again: its columns and
        // partitioning are its metadata's.
        let mut props = t.parameters.clone();
        props.remove("EXTERNAL");
        let location = sd.location.as_deref().unwrap_or_default();
        return format!(
            "CREATE EXTERNAL TABLE `{}`.`{}`\nLOCATION\n  {}\nTBLPROPERTIES (\n{})",
            t.database_name,
            t.name,
            quote(location),
            properties(&props)
        );
    }
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
