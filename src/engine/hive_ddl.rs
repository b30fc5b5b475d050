//! A parser for Athena's Hive DDL: `CREATE EXTERNAL TABLE` and
//! `CREATE DATABASE|SCHEMA`, over sqlparser's tokenizer.
//!
//! Grammar (clauses after the column list may come in any order):
//! ```text
//! CREATE EXTERNAL TABLE [IF NOT EXISTS] [db.]name [(col type [COMMENT 's'], ...)]
//!   [COMMENT 's'] [PARTITIONED BY (col type [COMMENT 's'], ...)]
//!   [ROW FORMAT SERDE 'class' [WITH SERDEPROPERTIES ('k'='v', ...)]
//!    | ROW FORMAT DELIMITED [FIELDS TERMINATED BY 'c' [ESCAPED BY 'c']]
//!        [COLLECTION ITEMS TERMINATED BY 'c'] [MAP KEYS TERMINATED BY 'c']
//!        [LINES TERMINATED BY 'c'] [NULL DEFINED AS 's']]
//!   [STORED AS PARQUET|ORC|TEXTFILE|JSON | STORED AS INPUTFORMAT 'c' OUTPUTFORMAT 'c']
//!   [WITH SERDEPROPERTIES (...)] LOCATION 'url' [TBLPROPERTIES ('k'='v', ...)]
//! CREATE DATABASE|SCHEMA [IF NOT EXISTS] name [COMMENT 's'] [LOCATION 'url']
//!   [WITH DBPROPERTIES ('k'='v', ...)]
//! ```
//! Column types are Hive type strings, checked by `catalog::types`.

use super::statement::SqlText;
use crate::catalog::types::normalize_hive_type;
use crate::catalog::{Column, Parameters};
use crate::error::{Error, Result};
use crate::table::format::StoredAs;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

#[derive(Debug, Clone, PartialEq)]
pub struct CreateDatabase {
    pub name: String,
    pub if_not_exists: bool,
    pub comment: Option<String>,
    pub location: Option<String>,
    pub properties: Parameters,
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
    pub row_format: RowFormat,
    pub storage: Option<Storage>,
    pub serde_properties: Parameters,
    pub location: Option<String>,
    pub properties: Parameters,
}

struct Cursor<'a> {
    stmt: &'a SqlText,
    tokens: Vec<TokenWithSpan>,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(stmt: &'a SqlText) -> Result<Self> {
        let tokens = Tokenizer::new(&GenericDialect {}, &stmt.text)
            .tokenize_with_location()
            .map_err(|e| Error::syntax(format!("syntax error: {}", e.message), Some(stmt.offset + 1)))?
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect();
        Ok(Cursor { stmt, tokens, pos: 0 })
    }

    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).map(|t| &t.token).unwrap_or(&Token::EOF)
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    fn at_end(&self) -> bool {
        matches!(self.peek(), Token::EOF | Token::SemiColon)
    }

    /// A syntax error at the current token.
    fn error(&self, expected: &str) -> Error {
        let (found, position) = match self.tokens.get(self.pos) {
            Some(t) if t.token != Token::EOF => {
                let line_start: usize = self
                    .stmt
                    .text
                    .split_inclusive('\n')
                    .take(t.span.start.line.saturating_sub(1) as usize)
                    .map(|l| l.chars().count())
                    .sum();
                (format!("{}", t.token), Some(self.stmt.offset + line_start + t.span.start.column as usize))
            }
            _ => ("end of statement".to_string(), Some(self.stmt.offset + self.stmt.text.chars().count() + 1)),
        };
        Error::syntax(format!("syntax error: expected {expected}, found {found}"), position)
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if self.is_keyword(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// All of `kws` in order, or nothing consumed.
    fn keywords(&mut self, kws: &[&str]) -> bool {
        let save = self.pos;
        for kw in kws {
            if !self.keyword(kw) {
                self.pos = save;
                return false;
            }
        }
        true
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<()> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(self.error(kw))
        }
    }

    fn expect(&mut self, token: Token) -> Result<()> {
        if *self.peek() == token {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("{token}")))
        }
    }

    fn consume(&mut self, token: Token) -> bool {
        if *self.peek() == token {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Result<String> {
        match self.peek().clone() {
            Token::Word(w) => {
                self.pos += 1;
                Ok(if w.quote_style.is_some() { w.value } else { w.value.to_ascii_lowercase() })
            }
            _ => Err(self.error("a name")),
        }
    }

    fn object_name(&mut self) -> Result<Vec<String>> {
        let mut parts = vec![self.ident()?];
        while self.consume(Token::Period) {
            parts.push(self.ident()?);
        }
        Ok(parts)
    }

    fn string(&mut self) -> Result<String> {
        match self.peek().clone() {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => {
                self.pos += 1;
                Ok(s)
            }
            Token::Word(w) if w.quote_style == Some('"') => {
                self.pos += 1;
                Ok(w.value)
            }
            _ => Err(self.error("a quoted string")),
        }
    }

    /// `('k' = 'v', ...)`
    fn properties(&mut self) -> Result<Parameters> {
        self.expect(Token::LParen)?;
        let mut out = Parameters::new();
        if self.consume(Token::RParen) {
            return Ok(out);
        }
        loop {
            let key = self.string()?;
            self.expect(Token::Eq)?;
            let value = match self.peek().clone() {
                Token::Number(n, _) => {
                    self.pos += 1;
                    n
                }
                _ => self.string()?,
            };
            out.insert(key, value);
            if !self.consume(Token::Comma) {
                break;
            }
        }
        self.expect(Token::RParen)?;
        Ok(out)
    }

    /// A column type, as text, up to a top-level `,`, `)` or COMMENT.
    fn type_text(&mut self) -> Result<String> {
        let start = self.pos;
        let mut text = String::new();
        let mut depth = 0i32;
        loop {
            match self.peek() {
                Token::EOF | Token::SemiColon => break,
                Token::Comma | Token::RParen if depth == 0 => break,
                Token::Word(w) if depth == 0 && w.quote_style.is_none() && w.value.eq_ignore_ascii_case("comment") => {
                    break
                }
                Token::Lt | Token::LParen => depth += 1,
                Token::Gt | Token::RParen => depth -= 1,
                Token::ShiftRight => depth -= 2,
                _ => {}
            }
            let t = self.advance();
            match t {
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
        if self.pos == start {
            return Err(self.error("a column type"));
        }
        normalize_hive_type(&text).map_err(|e| {
            let position = self.tokens.get(start).map(|_| self.stmt.offset + 1);
            match e {
                Error::Sql { state, message, hint, .. } => Error::Sql { state, message, position, hint },
                other => other,
            }
        })
    }

    /// `(name type [COMMENT 's'], ...)`
    fn columns(&mut self) -> Result<Vec<Column>> {
        self.expect(Token::LParen)?;
        let mut out = Vec::new();
        if self.consume(Token::RParen) {
            return Ok(out);
        }
        loop {
            let name = self.ident()?;
            let data_type = self.type_text()?;
            let comment = if self.keyword("COMMENT") { Some(self.string()?) } else { None };
            if out.iter().any(|c: &Column| c.name == name) {
                return Err(Error::new(
                    crate::error::SqlState::DuplicateObject,
                    format!("column {name} is listed twice"),
                ));
            }
            out.push(Column { name, data_type, comment });
            if !self.consume(Token::Comma) {
                break;
            }
        }
        self.expect(Token::RParen)?;
        Ok(out)
    }

    fn finish(&mut self) -> Result<()> {
        self.consume(Token::SemiColon);
        if self.peek() != &Token::EOF {
            return Err(self.error("end of statement"));
        }
        Ok(())
    }
}

/// Parse `CREATE [EXTERNAL] TABLE ...`.
pub fn parse_create_table(stmt: &SqlText) -> Result<CreateExternalTable> {
    let mut c = Cursor::new(stmt)?;
    c.expect_keyword("CREATE")?;
    if c.keywords(&["OR", "REPLACE"]) {
        return Err(Error::not_supported("CREATE OR REPLACE TABLE"));
    }
    let external = c.keyword("EXTERNAL");
    c.expect_keyword("TABLE")?;
    let if_not_exists = c.keywords(&["IF", "NOT", "EXISTS"]);
    let name = c.object_name()?;
    let mut t = CreateExternalTable {
        name,
        if_not_exists,
        external,
        columns: Vec::new(),
        comment: None,
        partition_keys: Vec::new(),
        row_format: RowFormat::Default,
        storage: None,
        serde_properties: Parameters::new(),
        location: None,
        properties: Parameters::new(),
    };
    if c.peek() == &Token::LParen {
        t.columns = c.columns()?;
    }
    while !c.at_end() {
        if c.keyword("COMMENT") {
            t.comment = Some(c.string()?);
        } else if c.keywords(&["PARTITIONED", "BY"]) {
            t.partition_keys = c.columns()?;
        } else if c.keywords(&["ROW", "FORMAT"]) {
            t.row_format = row_format(&mut c, &mut t.serde_properties)?;
        } else if c.keywords(&["STORED", "AS"]) {
            t.storage = Some(if c.keyword("INPUTFORMAT") {
                let input = c.string()?;
                c.expect_keyword("OUTPUTFORMAT")?;
                Storage::InputOutput { input, output: c.string()? }
            } else {
                let name = c.ident()?;
                Storage::Format(StoredAs::parse(&name)?)
            });
        } else if c.keywords(&["WITH", "SERDEPROPERTIES"]) {
            t.serde_properties.extend(c.properties()?);
        } else if c.keyword("LOCATION") {
            t.location = Some(c.string()?);
        } else if c.keyword("TBLPROPERTIES") {
            t.properties = c.properties()?;
        } else if c.is_keyword("CLUSTERED") {
            return Err(Error::not_supported("CLUSTERED BY (bucketed tables)"));
        } else if c.is_keyword("AS") {
            return Err(Error::not_supported("CREATE TABLE AS SELECT"));
        } else {
            return Err(c.error(
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

fn row_format(c: &mut Cursor<'_>, serde_properties: &mut Parameters) -> Result<RowFormat> {
    if c.keyword("SERDE") {
        let class = c.string()?;
        if c.keywords(&["WITH", "SERDEPROPERTIES"]) {
            serde_properties.extend(c.properties()?);
        }
        return Ok(RowFormat::Serde(class));
    }
    c.expect_keyword("DELIMITED")?;
    let mut p = Parameters::new();
    loop {
        if c.keywords(&["FIELDS", "TERMINATED", "BY"]) {
            let d = c.string()?;
            p.insert("field.delim".into(), d.clone());
            p.insert("serialization.format".into(), d);
            if c.keywords(&["ESCAPED", "BY"]) {
                p.insert("escape.delim".into(), c.string()?);
            }
        } else if c.keywords(&["COLLECTION", "ITEMS", "TERMINATED", "BY"]) {
            p.insert("collection.delim".into(), c.string()?);
        } else if c.keywords(&["MAP", "KEYS", "TERMINATED", "BY"]) {
            p.insert("mapkey.delim".into(), c.string()?);
        } else if c.keywords(&["LINES", "TERMINATED", "BY"]) {
            p.insert("line.delim".into(), c.string()?);
        } else if c.keywords(&["NULL", "DEFINED", "AS"]) {
            p.insert("serialization.null.format".into(), c.string()?);
        } else {
            break;
        }
    }
    Ok(RowFormat::Delimited(p))
}

/// Parse `CREATE DATABASE|SCHEMA ...`.
pub fn parse_create_database(stmt: &SqlText) -> Result<CreateDatabase> {
    let mut c = Cursor::new(stmt)?;
    c.expect_keyword("CREATE")?;
    if !c.keyword("DATABASE") {
        c.expect_keyword("SCHEMA")?;
    }
    let if_not_exists = c.keywords(&["IF", "NOT", "EXISTS"]);
    let name = c.ident()?;
    let mut db = CreateDatabase { name, if_not_exists, comment: None, location: None, properties: Parameters::new() };
    while !c.at_end() {
        if c.keyword("COMMENT") {
            db.comment = Some(c.string()?);
        } else if c.keyword("LOCATION") {
            db.location = Some(c.string()?);
        } else if c.keywords(&["WITH", "DBPROPERTIES"]) {
            db.properties = c.properties()?;
        } else {
            return Err(c.error("COMMENT, LOCATION or WITH DBPROPERTIES"));
        }
    }
    c.finish()?;
    Ok(db)
}
