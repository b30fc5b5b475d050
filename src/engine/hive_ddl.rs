//! Athena's Hive DDL: `CREATE EXTERNAL TABLE` and `CREATE DATABASE|SCHEMA`,
//! parsed by glaux's parser ([`super::parser`]) with Hive's lexical rules.
//!
//! Grammar (clauses after the column list may come in any order):
//! ```text
//! CREATE [EXTERNAL] TABLE [IF NOT EXISTS] [db.]name [(col type [COMMENT 's'], ...)]
//!   [COMMENT 's'] [PARTITIONED BY (col type [COMMENT 's'], ...)
//!                  | PARTITIONED BY (col | transform(col) | transform(n, col), ...)]
//!   [ROW FORMAT SERDE 'class' [WITH SERDEPROPERTIES ('k'='v', ...)]
//!    | ROW FORMAT DELIMITED [FIELDS TERMINATED BY 'c' [ESCAPED BY 'c']]
//!        [COLLECTION ITEMS TERMINATED BY 'c'] [MAP KEYS TERMINATED BY 'c']
//!        [LINES TERMINATED BY 'c'] [NULL DEFINED AS 's']]
//!   [STORED AS PARQUET|ORC|TEXTFILE|JSON | STORED AS INPUTFORMAT 'c' OUTPUTFORMAT 'c']
//!   [WITH SERDEPROPERTIES (...)] LOCATION 'url' [TBLPROPERTIES ('k'='v', ...)]
//! CREATE DATABASE|SCHEMA [IF NOT EXISTS] name [COMMENT 's'] [LOCATION 'url']
//!   [WITH DBPROPERTIES ('k'='v', ...)]
//! ```
//! Column types are Hive type strings, checked by `catalog::types`. A
//! partition item without a type (`ts`, `day(ts)`, `bucket(16, id)`) is an
//! Iceberg partition field; the engine decides which kind a table may have.

use super::parser::GlauxParser;
use super::statement::SqlText;
use crate::catalog::types::normalize_hive_type;
use crate::catalog::{Column, Parameters};
use crate::error::{Error, Result};
use crate::table::format::StoredAs;
use datafusion::sql::sqlparser::tokenizer::Token;

#[derive(Debug, Clone, PartialEq)]
pub struct CreateDatabase {
    pub name: String,
    pub if_not_exists: bool,
    pub comment: Option<String>,
    pub location: Option<String>,
    pub properties: Parameters,
}

/// The query of a CREATE TABLE AS, as written, and whether its rows are
/// written (`WITH NO DATA` creates the table empty).
#[derive(Debug, Clone, PartialEq)]
pub struct AsQuery {
    pub text: String,
    pub with_data: bool,
}

/// How rows are encoded (`ROW FORMAT`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RowFormat {
    #[default]
    Default,
    Serde(String),
    /// `ROW FORMAT DELIMITED`, as LazySimpleSerDe parameters.
    Delimited(Parameters),
}

/// How files are stored (`STORED AS`).
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    Format(StoredAs),
    InputOutput { input: String, output: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateExternalTable {
    /// `[db.]name`, normalized.
    pub name: Vec<String>,
    pub if_not_exists: bool,
    /// False for `CREATE TABLE` without EXTERNAL (rejected by the engine).
    pub external: bool,
    pub columns: Vec<Column>,
    pub comment: Option<String>,
    pub partition_keys: Vec<Column>,
    /// Iceberg partition fields (`PARTITIONED BY (day(ts), ...)`).
    pub partition_fields: Vec<PartitionField>,
    pub row_format: RowFormat,
    pub storage: Option<Storage>,
    pub serde_properties: Parameters,
    pub location: Option<String>,
    pub properties: Parameters,
    /// CTAS: `WITH (...) AS <query> [WITH [NO] DATA]`.
    pub as_query: Option<AsQuery>,
}

/// An Iceberg partition field as written: `col` (identity), `day(ts)` or
/// `bucket(16, id)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionField {
    /// The transform's name, lower case (`identity` for a bare column).
    pub transform: String,
    /// A transform's number argument (bucket count, truncate width).
    pub width: Option<u32>,
    pub column: String,
    /// Where the field starts in the statement, for errors.
    pub position: usize,
}

impl std::fmt::Display for PartitionField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.transform.as_str(), self.width) {
            ("identity", _) => write!(f, "{}", self.column),
            (t, Some(n)) => write!(f, "{t}({n}, {})", self.column),
            (t, None) => write!(f, "{t}({})", self.column),
        }
    }
}

/// A column type, as text, up to a top-level `,`, `)` or COMMENT.
pub(crate) fn type_text(c: &mut GlauxParser<'_>) -> Result<String> {
    let start = c.here();
    let mut text = String::new();
    let mut depth = 0i32;
    loop {
        match c.peek() {
            Token::EOF | Token::SemiColon => break,
            Token::Comma | Token::RParen if depth == 0 => break,
            _ if depth == 0 && c.is_word("COMMENT") => break,
            Token::Lt | Token::LParen => depth += 1,
            Token::Gt | Token::RParen => depth -= 1,
            Token::ShiftRight => depth -= 2,
            _ => {}
        }
        match c.advance() {
            Token::Word(w) => {
                // Keep words apart, so `bigint LOCATION` is not one word.
                if text.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                    text.push(' ');
                }
                text.push_str(&w.value)
            }
            other => text.push_str(&other.to_string()),
        }
    }
    if text.is_empty() {
        return Err(c.expected("a column type"));
    }
    normalize_hive_type(&text).map_err(|e| match e {
        Error::Sql { state, message, hint, .. } => Error::Sql { state, message, position: Some(start), hint },
        other => other,
    })
}

/// `(name type [COMMENT 's'], ...)`
pub(crate) fn columns(c: &mut GlauxParser<'_>) -> Result<Vec<Column>> {
    c.expect_token(Token::LParen)?;
    let mut out = Vec::new();
    if c.consume(&Token::RParen) {
        return Ok(out);
    }
    loop {
        let name = c.name()?;
        let data_type = type_text(c)?;
        let comment = if c.word("COMMENT") { Some(c.string()?) } else { None };
        if out.iter().any(|c: &Column| c.name == name) {
            return Err(Error::new(crate::error::SqlState::DuplicateObject, format!("column {name} is listed twice")));
        }
        out.push(Column { name, data_type, comment });
        if !c.consume(&Token::Comma) {
            break;
        }
    }
    c.expect_token(Token::RParen)?;
    Ok(out)
}

/// `PARTITIONED BY (...)`: Hive partition columns (`dt string`) or Iceberg
/// partition fields (`dt`, `day(ts)`, `bucket(16, id)`), not both.
fn partitioning(c: &mut GlauxParser<'_>) -> Result<(Vec<Column>, Vec<PartitionField>)> {
    c.expect_token(Token::LParen)?;
    let (mut columns, mut fields) = (Vec::<Column>::new(), Vec::new());
    loop {
        let position = c.here();
        let name = c.name()?;
        if c.consume(&Token::LParen) {
            let mut width = None;
            if let Token::Number(n, _) = c.peek().clone() {
                c.advance();
                width =
                    Some(n.parse::<u32>().map_err(|_| c.error_at_last("a transform's width is a positive integer"))?);
                c.expect_token(Token::Comma)?;
            }
            let column = c.name()?;
            c.expect_token(Token::RParen)?;
            fields.push(PartitionField { transform: name, width, column, position });
        } else if matches!(c.peek(), Token::Comma | Token::RParen) {
            fields.push(PartitionField { transform: "identity".into(), width: None, column: name, position });
        } else {
            let data_type = type_text(c)?;
            let comment = if c.word("COMMENT") { Some(c.string()?) } else { None };
            if columns.iter().any(|c| c.name == name) {
                return Err(Error::new(
                    crate::error::SqlState::DuplicateObject,
                    format!("column {name} is listed twice"),
                ));
            }
            columns.push(Column { name, data_type, comment });
        }
        if !columns.is_empty() && !fields.is_empty() {
            return Err(Error::syntax(
                "PARTITIONED BY mixes Hive partition columns (name type) with Iceberg partition fields (name or transform(name))",
                Some(position),
            ));
        }
        if !c.consume(&Token::Comma) {
            break;
        }
    }
    c.expect_token(Token::RParen)?;
    Ok((columns, fields))
}

/// Parse `CREATE [EXTERNAL] TABLE ...`.
pub fn parse_create_table(stmt: &SqlText) -> Result<CreateExternalTable> {
    let mut c = GlauxParser::hive(stmt)?;
    c.expect_word("CREATE")?;
    if c.words(&["OR", "REPLACE"]) {
        return Err(Error::not_supported("CREATE OR REPLACE TABLE"));
    }
    let external = c.word("EXTERNAL");
    c.expect_word("TABLE")?;
    let if_not_exists = c.words(&["IF", "NOT", "EXISTS"]);
    let name = c.object_name()?;
    let mut t = CreateExternalTable {
        name,
        if_not_exists,
        external,
        columns: Vec::new(),
        comment: None,
        partition_keys: Vec::new(),
        partition_fields: Vec::new(),
        row_format: RowFormat::Default,
        storage: None,
        serde_properties: Parameters::new(),
        location: None,
        properties: Parameters::new(),
        as_query: None,
    };
    if c.peek() == &Token::LParen {
        t.columns = columns(&mut c)?;
    }
    if c.is_word("WITH") || c.is_word("AS") {
        ctas(&mut c, &mut t)?;
        c.finish()?;
        return Ok(t);
    }
    while !c.at_end() {
        if c.word("COMMENT") {
            t.comment = Some(c.string()?);
        } else if c.words(&["PARTITIONED", "BY"]) {
            (t.partition_keys, t.partition_fields) = partitioning(&mut c)?;
        } else if c.words(&["ROW", "FORMAT"]) {
            t.row_format = row_format(&mut c, &mut t.serde_properties)?;
        } else if c.words(&["STORED", "AS"]) {
            t.storage = Some(if c.word("INPUTFORMAT") {
                let input = c.string()?;
                c.expect_word("OUTPUTFORMAT")?;
                Storage::InputOutput { input, output: c.string()? }
            } else {
                let name = c.name()?;
                Storage::Format(StoredAs::parse(&name)?)
            });
        } else if c.words(&["WITH", "SERDEPROPERTIES"]) {
            t.serde_properties.extend(c.properties()?);
        } else if c.word("LOCATION") {
            t.location = Some(c.string()?);
        } else if c.word("TBLPROPERTIES") {
            t.properties = c.properties()?;
        } else if c.is_word("CLUSTERED") {
            return Err(Error::not_supported("CLUSTERED BY (bucketed tables)"));
        } else if c.is_word("AS") {
            return Err(
                c.error_here("CREATE TABLE AS takes its properties as WITH (...) before AS, as Athena writes it")
            );
        } else {
            return Err(c.expected(
                "COMMENT, PARTITIONED BY, ROW FORMAT, STORED AS, WITH SERDEPROPERTIES, LOCATION or TBLPROPERTIES",
            ));
        }
    }
    c.finish()?;
    for key in &t.partition_keys {
        if t.columns.iter().any(|col| col.name == key.name) {
            return Err(Error::new(
                crate::error::SqlState::DuplicateObject,
                format!("partition column {} is also a data column; list it only in PARTITIONED BY", key.name),
            ));
        }
    }
    Ok(t)
}

/// Athena's CTAS after the name: `[WITH (key = value, ...)] AS <query>
/// [WITH [NO] DATA]`. `partitioning = ARRAY['day(ts)', 'bucket(16, id)']`
/// gives the Iceberg partition fields, `location` or `external_location`
/// the LOCATION; other values are kept as table properties (an ARRAY as
/// its items joined with commas).
fn ctas(c: &mut GlauxParser<'_>, t: &mut CreateExternalTable) -> Result<()> {
    if !t.columns.is_empty() {
        return Err(c.error_here("CREATE TABLE AS takes its columns from the query; drop the column list"));
    }
    if c.word("WITH") {
        for (key, position, values) in with_options(c)? {
            match key.as_str() {
                "partitioning" => {
                    for item in &values {
                        t.partition_fields.push(partition_field(item, position)?);
                    }
                }
                "location" | "external_location" => t.location = values.into_iter().next(),
                _ => {
                    t.properties.insert(key, values.join(","));
                }
            }
        }
    }
    c.expect_word("AS")?;
    let tokens = c.remaining();
    let word = |i: usize, w: &str| matches!(tokens.get(i), Some((_, Token::Word(x))) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let n = tokens.len();
    let (end, with_data) = if n >= 3 && word(n - 3, "WITH") && word(n - 2, "NO") && word(n - 1, "DATA") {
        (Some(tokens[n - 3].0), false)
    } else if n >= 2 && word(n - 2, "WITH") && word(n - 1, "DATA") {
        (Some(tokens[n - 2].0), true)
    } else {
        (None, true)
    };
    let Some((start, _)) = tokens.first() else {
        return Err(c.error_here("CREATE TABLE AS needs a query after AS"));
    };
    t.as_query = Some(AsQuery { text: c.text_between(*start, end), with_data });
    Ok(())
}

/// Athena's `(key = value | ARRAY[value, ...], ...)` of CTAS and UNLOAD,
/// after WITH: each key (lower case) with where it starts and its values.
pub(crate) fn with_options(c: &mut GlauxParser<'_>) -> Result<Vec<(String, usize, Vec<String>)>> {
    c.expect_token(Token::LParen)?;
    let mut options = Vec::new();
    loop {
        let position = c.here();
        let key = c.name()?.to_ascii_lowercase();
        c.expect_token(Token::Eq)?;
        let values = if c.word("ARRAY") {
            c.expect_token(Token::LBracket)?;
            let mut items = Vec::new();
            while !c.consume(&Token::RBracket) {
                items.push(c.value()?);
                c.consume(&Token::Comma);
            }
            items
        } else {
            vec![c.value()?]
        };
        options.push((key, position, values));
        if !c.consume(&Token::Comma) {
            break;
        }
    }
    c.expect_token(Token::RParen)?;
    Ok(options)
}

/// One item of CTAS's `partitioning`: `col`, `day(ts)`, `bucket(16, id)`.
fn partition_field(item: &str, position: usize) -> Result<PartitionField> {
    let bad = || {
        Error::syntax(
            format!("partitioning item '{item}' is not col, transform(col) or transform(n, col)"),
            Some(position),
        )
    };
    let item = item.trim();
    let Some((transform, args)) = item.split_once('(') else {
        return Ok(PartitionField {
            transform: "identity".into(),
            width: None,
            column: item.to_ascii_lowercase(),
            position,
        });
    };
    let args = args.strip_suffix(')').ok_or_else(bad)?;
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    let (width, column) = match parts.as_slice() {
        [column] => (None, *column),
        [width, column] => (Some(width.parse::<u32>().map_err(|_| bad())?), *column),
        _ => return Err(bad()),
    };
    if column.is_empty() {
        return Err(bad());
    }
    Ok(PartitionField {
        transform: transform.trim().to_ascii_lowercase(),
        width,
        column: column.to_ascii_lowercase(),
        position,
    })
}

fn row_format(c: &mut GlauxParser<'_>, serde_properties: &mut Parameters) -> Result<RowFormat> {
    if c.word("SERDE") {
        let class = c.string()?;
        if c.words(&["WITH", "SERDEPROPERTIES"]) {
            serde_properties.extend(c.properties()?);
        }
        return Ok(RowFormat::Serde(class));
    }
    c.expect_word("DELIMITED")?;
    let mut p = Parameters::new();
    loop {
        if c.words(&["FIELDS", "TERMINATED", "BY"]) {
            let d = c.string()?;
            p.insert("field.delim".into(), d.clone());
            p.insert("serialization.format".into(), d);
            if c.words(&["ESCAPED", "BY"]) {
                p.insert("escape.delim".into(), c.string()?);
            }
        } else if c.words(&["COLLECTION", "ITEMS", "TERMINATED", "BY"]) {
            p.insert("collection.delim".into(), c.string()?);
        } else if c.words(&["MAP", "KEYS", "TERMINATED", "BY"]) {
            p.insert("mapkey.delim".into(), c.string()?);
        } else if c.words(&["LINES", "TERMINATED", "BY"]) {
            p.insert("line.delim".into(), c.string()?);
        } else if c.words(&["NULL", "DEFINED", "AS"]) {
            p.insert("serialization.null.format".into(), c.string()?);
        } else {
            break;
        }
    }
    Ok(RowFormat::Delimited(p))
}

/// Parse `CREATE DATABASE|SCHEMA ...`.
pub fn parse_create_database(stmt: &SqlText) -> Result<CreateDatabase> {
    let mut c = GlauxParser::hive(stmt)?;
    c.expect_word("CREATE")?;
    if !c.word("DATABASE") {
        c.expect_word("SCHEMA")?;
    }
    let if_not_exists = c.words(&["IF", "NOT", "EXISTS"]);
    let name = c.name()?;
    let mut db = CreateDatabase { name, if_not_exists, comment: None, location: None, properties: Parameters::new() };
    while !c.at_end() {
        if c.word("COMMENT") {
            db.comment = Some(c.string()?);
        } else if c.word("LOCATION") {
            db.location = Some(c.string()?);
        } else if c.words(&["WITH", "DBPROPERTIES"]) {
            db.properties = c.properties()?;
        } else {
            return Err(c.expected("COMMENT, LOCATION or WITH DBPROPERTIES"));
        }
    }
    c.finish()?;
    Ok(db)
}
