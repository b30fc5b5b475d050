//! Statements: splitting a script, and classifying each statement as a
//! query (planned by DataFusion) or a glaux command (catalog DDL, SHOW,
//! DESCRIBE, session settings).
//!
//! Queries and most commands are parsed by sqlparser's PostgreSQL dialect;
//! Athena's Hive DDL (`CREATE EXTERNAL TABLE`, `CREATE DATABASE ... COMMENT`)
//! has its own parser in [`super::hive_ddl`], because sqlparser does not
//! accept all of it (struct/map types, table COMMENT, STORED AS JSON).
//! Parse errors carry a 1-based character position into the whole script.

use super::hive_ddl;
use crate::error::{Error, Result, SqlState};
use crate::pgtypes::copy::{CopyFormat, CopyKind};
use datafusion::sql::sqlparser::ast::{
    self, ObjectName, ObjectType, ShowCreateObject, ShowStatementFilter, ShowStatementFilterPosition, Statement as Ast,
};
use datafusion::sql::sqlparser::dialect::{GenericDialect, PostgreSqlDialect};
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer, Whitespace};

/// One statement of a script: its text and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlText {
    pub text: String,
    /// Characters of the script before this statement.
    pub offset: usize,
    /// Its shape as its tokens show it ([`super::complexity`]).
    pub shape: super::complexity::Shape,
}

/// Split a script into statements at top-level semicolons. Comments-only
/// pieces are dropped. One pass over the tokens, whatever the length of
/// a line.
pub fn split(sql: &str) -> Result<Vec<SqlText>> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| Error::syntax(strip_location(&e.message), Some(char_position(sql, e.location))))?;
    let mut cursor = TextCursor::new(sql);
    let mut out = Vec::new();
    // The current statement: its first byte and character, its end byte.
    let mut range: Option<(usize, usize, usize)> = None;
    let mut nesting = super::complexity::Nesting::default();
    // Since the last string constant: None after any other token, else
    // whether a newline came between.
    let mut after_string: Option<bool> = None;
    let mut adjacent: Option<super::complexity::Adjacent> = None;
    for t in &tokens {
        match &t.token {
            Token::SemiColon | Token::EOF => {
                if let Some((start, chars, end)) = range.take() {
                    let mut shape = std::mem::take(&mut nesting).finish();
                    shape.adjacent_string = adjacent.take();
                    out.push(SqlText { text: sql[start..end].to_string(), offset: chars, shape });
                }
                after_string = None;
            }
            Token::Whitespace(w) => {
                let newline = matches!(w, Whitespace::Newline | Whitespace::SingleLineComment { .. });
                after_string = after_string.map(|seen| seen || newline);
            }
            token => {
                nesting.token(token);
                let (start, chars) = cursor.seek(t.span.start);
                let string = is_string_constant(token);
                if let (true, Some(after_newline)) = (string, after_string) {
                    adjacent.get_or_insert(super::complexity::Adjacent { position: chars + 1, after_newline });
                }
                after_string = string.then_some(false);
                let (end, _) = cursor.seek(t.span.end);
                range = Some(match range {
                    Some((s, c, _)) => (s, c, end),
                    None => (start, chars, end),
                });
            }
        }
    }
    if let Some((start, chars, end)) = range {
        let mut shape = nesting.finish();
        shape.adjacent_string = adjacent;
        out.push(SqlText { text: sql[start..end].to_string(), offset: chars, shape });
    }
    Ok(out)
}

fn is_string_constant(token: &Token) -> bool {
    matches!(
        token,
        Token::SingleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
    )
}

/// sqlparser's 1-based line/column locations, met in increasing order,
/// as byte and character offsets, found in one forward pass.
struct TextCursor<'a> {
    text: &'a str,
    line: u64,
    column: u64,
    byte: usize,
    chars: usize,
}

impl<'a> TextCursor<'a> {
    fn new(text: &'a str) -> Self {
        TextCursor { text, line: 1, column: 1, byte: 0, chars: 0 }
    }

    /// The byte and character offsets of `loc`, which is not before the
    /// last location sought (line 0, an empty span, is the end).
    fn seek(&mut self, loc: Location) -> (usize, usize) {
        let target = if loc.line == 0 { (u64::MAX, u64::MAX) } else { (loc.line, loc.column) };
        while (self.line, self.column) < target {
            let Some(c) = self.text[self.byte..].chars().next() else { break };
            self.byte += c.len_utf8();
            self.chars += 1;
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        (self.byte, self.chars)
    }
}

/// 1-based character position of a location in `text`.
fn char_position(text: &str, loc: Location) -> usize {
    TextCursor::new(text).seek(loc).1 + 1
}

/// Remove sqlparser's " at Line: L, Column: C" suffix.
fn strip_location(message: &str) -> String {
    match message.rfind(" at Line: ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A parse error as a 42601 with its position in the whole script.
pub fn parse_error(stmt: &SqlText, e: ParserError) -> Error {
    let message = match &e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => {
            return Error::new(
                SqlState::StatementTooComplex,
                "statement is too complex: it nests brackets or subqueries more deeply than the parser allows",
            )
        }
    };
    let position = parse_location(&message).map(|loc| stmt.offset + char_position(&stmt.text, loc));
    let mut text = strip_location(&message);
    if text.ends_with("found: EOF") {
        text = text.replace("found: EOF", "found: end of statement");
    }
    Error::syntax(format!("syntax error: {text}"), position)
}

fn parse_location(message: &str) -> Option<Location> {
    let rest = &message[message.rfind(" at Line: ")? + " at Line: ".len()..];
    let (line, col) = rest.split_once(", Column: ")?;
    Some(Location { line: line.trim().parse().ok()?, column: col.trim().parse().ok()? })
}

/// A classified statement.
#[derive(Debug, Clone)]
pub enum Statement {
    /// Planned and run by DataFusion: SELECT, WITH, VALUES, EXPLAIN ...
    Query(Box<Ast>),
    /// INSERT, UPDATE, DELETE: planned by DataFusion against the target
    /// table, run on the query path (`engine/writes.rs`).
    Change(Box<Ast>),
    CreateDatabase(hive_ddl::CreateDatabase),
    /// CREATE / ALTER / DROP USER.
    User(super::users::UserCommand),
    /// ALTER TABLE ADD/DROP PARTITION, SHOW PARTITIONS, MSCK REPAIR TABLE.
    Partitions(super::partitions::PartitionCommand),
    /// CRAWL 'location' [INTO database].
    Crawl(super::crawl::Crawl),
    /// CREATE/ALTER/DROP/SHOW/DESCRIBE WORKGROUP, GRANT/REVOKE USAGE.
    Workgroup(super::workgroups::WorkgroupCommand),
    DropDatabase {
        name: String,
        if_exists: bool,
        cascade: bool,
    },
    ShowDatabases {
        like: Option<String>,
    },
    ShowTables {
        database: Option<String>,
        like: Option<String>,
    },
    Describe {
        table: ObjectName,
    },
    ShowCreateTable {
        table: ObjectName,
    },
    CreateExternalTable(Box<hive_ddl::CreateExternalTable>),
    DropTable {
        names: Vec<ObjectName>,
        if_exists: bool,
        view: bool,
    },
    CreateView {
        name: ObjectName,
        or_replace: bool,
        query: Box<ast::Query>,
        sql: String,
    },
    Use {
        database: String,
    },
    SetVariable {
        name: String,
        value: String,
    },
    /// RESET name; `None` is RESET ALL. `tag`: RESET, or SET for
    /// `SET name TO DEFAULT`.
    ResetVariable {
        name: Option<String>,
        tag: &'static str,
    },
    /// SHOW name; `all` is SHOW ALL.
    ShowVariable {
        name: String,
    },
    /// DISCARD ALL (and PLANS, SEQUENCES, TEMP: nothing to discard).
    Discard {
        all: bool,
    },
    Transaction(TxCommand),
    /// COPY (query) TO STDOUT / COPY table [(columns)] TO STDOUT.
    CopyTo {
        query: Box<ast::Query>,
        format: CopyFormat,
    },
    /// DECLARE name CURSOR [WITH HOLD] FOR query.
    Declare {
        name: String,
        query: Box<ast::Query>,
        hold: bool,
    },
    /// FETCH [FORWARD] [n | ALL | NEXT] FROM name; `None` is ALL.
    Fetch {
        name: String,
        count: Option<usize>,
    },
    /// CLOSE name; `None` is CLOSE ALL.
    Close {
        name: Option<String>,
    },
    /// PREPARE name [(types)] AS query.
    Prepare {
        name: String,
        types: Vec<ast::DataType>,
        query: Box<Ast>,
    },
    /// EXECUTE name [(values)]; planned as the stored query.
    Execute {
        name: String,
        values: Vec<ast::Expr>,
    },
    /// DEALLOCATE name; `None` is DEALLOCATE ALL.
    Deallocate {
        name: Option<String>,
    },
}

/// A transaction control statement.
#[derive(Debug, Clone, PartialEq)]
pub enum TxCommand {
    Begin,
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
}

impl Statement {
    /// Whether this statement returns rows (and so has a row description).
    pub fn returns_rows(&self) -> bool {
        matches!(
            self,
            Statement::Query(_)
                | Statement::ShowDatabases { .. }
                | Statement::ShowTables { .. }
                | Statement::Describe { .. }
                | Statement::ShowCreateTable { .. }
                | Statement::ShowVariable { .. }
                | Statement::Fetch { .. }
        )
    }
}

/// First words of a statement, upper-cased (for routing).
fn leading_words(text: &str, n: usize) -> Vec<String> {
    let tokens = Tokenizer::new(&GenericDialect {}, text).tokenize().unwrap_or_default();
    tokens
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.value.to_ascii_uppercase()),
            Token::Whitespace(_) => None,
            _ => Some(String::new()),
        })
        .take(n)
        .collect()
}

/// Parse one statement.
pub fn parse(stmt: &SqlText) -> Result<Statement> {
    super::complexity::check(&stmt.shape)?;
    let words = leading_words(&stmt.text, 4);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["CREATE", "EXTERNAL", ..] | ["CREATE", "TABLE", ..] | ["CREATE", "OR", "REPLACE", "EXTERNAL"] => {
            return hive_ddl::parse_create_table(stmt).map(|t| Statement::CreateExternalTable(Box::new(t)));
        }
        ["CREATE", "DATABASE" | "SCHEMA", ..] => {
            return hive_ddl::parse_create_database(stmt).map(Statement::CreateDatabase);
        }
        ["CREATE" | "ALTER" | "DROP", "USER" | "ROLE", ..] => return super::users::parse(stmt),
        w if super::partitions::is_partition_statement(w) => return super::partitions::parse(stmt),
        ["CRAWL", ..] => return super::crawl::parse(stmt),
        w if super::workgroups::is_workgroup_statement(w) => return super::workgroups::parse(stmt),
        _ => {}
    }
    let mut statements = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&stmt.text)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| parse_error(stmt, e))?;
    let ast = match statements.len() {
        1 => statements.remove(0),
        _ => return Err(Error::internal("statement splitting left more than one statement")),
    };
    classify(stmt, ast)
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

fn classify(stmt: &SqlText, ast: Ast) -> Result<Statement> {
    Ok(match ast {
        Ast::Query(_) | Ast::Explain { .. } => Statement::Query(Box::new(ast)),
        Ast::Insert(_) | Ast::Update(_) | Ast::Delete(_) => Statement::Change(Box::new(ast)),
        Ast::ShowDatabases { show_options, .. } | Ast::ShowSchemas { show_options, .. } => {
            Statement::ShowDatabases { like: like_filter(show_options.filter_position)? }
        }
        Ast::ShowTables { show_options, .. } => Statement::ShowTables {
            database: show_options.show_in.and_then(|i| i.parent_name).map(|n| object_name_string(&n)),
            like: like_filter(show_options.filter_position)?,
        },
        Ast::ExplainTable { table_name, .. } => Statement::Describe { table: table_name },
        Ast::ShowCreate { obj_type: ShowCreateObject::Table | ShowCreateObject::View, obj_name } => {
            Statement::ShowCreateTable { table: obj_name }
        }
        Ast::Drop { object_type, if_exists, names, cascade, .. } => match object_type {
            ObjectType::Table => Statement::DropTable { names, if_exists, view: false },
            ObjectType::View => Statement::DropTable { names, if_exists, view: true },
            ObjectType::Schema | ObjectType::Database => {
                if names.len() != 1 {
                    return Err(Error::not_supported("dropping several databases in one statement"));
                }
                Statement::DropDatabase { name: object_name_string(&names[0]), if_exists, cascade }
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
            let sql = view.query.to_string();
            Statement::CreateView { name: view.name, or_replace: view.or_replace, query: view.query, sql }
        }
        Ast::Use(u) => match u {
            ast::Use::Object(name) | ast::Use::Schema(name) | ast::Use::Database(name) => {
                Statement::Use { database: object_name_string(&name) }
            }
            other => return Err(Error::not_supported(format!("{other}"))),
        },
        Ast::Set(set) => set_statement(set)?,
        Ast::ShowVariable { variable } => Statement::ShowVariable { name: shown_variable(&variable) },
        Ast::StartTransaction { .. } => Statement::Transaction(TxCommand::Begin),
        Ast::Commit { .. } => Statement::Transaction(TxCommand::Commit),
        Ast::Rollback { savepoint: None, .. } => Statement::Transaction(TxCommand::Rollback),
        Ast::Rollback { savepoint: Some(name), .. } => Statement::Transaction(TxCommand::RollbackTo(name.value)),
        Ast::Savepoint { name } => Statement::Transaction(TxCommand::Savepoint(name.value)),
        Ast::ReleaseSavepoint { name } => Statement::Transaction(TxCommand::Release(name.value)),
        Ast::Reset(reset) => Statement::ResetVariable {
            name: match reset.reset {
                ast::Reset::ALL => None,
                ast::Reset::ConfigurationParameter(name) => Some(object_name_string(&name)),
            },
            tag: "RESET",
        },
        Ast::Copy { source, to, target, options, legacy_options, .. } => {
            copy_statement(source, to, target, options, legacy_options)?
        }
        Ast::Prepare { name, data_types, statement } => {
            if !matches!(statement.as_ref(), Ast::Query(_)) {
                return Err(Error::not_supported("PREPARE of anything but a query"));
            }
            Statement::Prepare { name: ident_name(&name), types: data_types, query: statement }
        }
        Ast::Execute { name, parameters, immediate: false, .. } => {
            Statement::Execute { name: super::sql_prepare::execute_name(&name)?, values: parameters }
        }
        Ast::Deallocate { name, .. } => Statement::Deallocate {
            name: (name.quote_style.is_some() || !name.value.eq_ignore_ascii_case("all")).then(|| ident_name(&name)),
        },
        Ast::Declare { mut stmts } if stmts.len() == 1 => {
            let d = stmts.remove(0);
            let (Some(query), [name]) = (d.for_query, d.names.as_slice()) else {
                return Err(Error::not_supported("DECLARE without a cursor query"));
            };
            if d.scroll == Some(true) {
                return Err(Error::not_supported("SCROLL cursors (glaux cursors only move forward)"));
            }
            Statement::Declare { name: ident_name(name), query, hold: d.hold == Some(true) }
        }
        Ast::Fetch { name, direction, .. } => {
            let number = |v: &ast::Value| match v {
                ast::Value::Number(n, _) => {
                    n.parse::<usize>().map_err(|_| Error::syntax(format!("bad FETCH count {n}"), None))
                }
                other => Err(Error::syntax(format!("bad FETCH count {other}"), None)),
            };
            let count = match direction {
                ast::FetchDirection::Count { limit } | ast::FetchDirection::Forward { limit: Some(limit) } => {
                    Some(number(&limit)?)
                }
                ast::FetchDirection::Next | ast::FetchDirection::Forward { limit: None } => Some(1),
                ast::FetchDirection::All | ast::FetchDirection::ForwardAll => None,
                other => return Err(Error::not_supported(format!("FETCH {other} (glaux cursors only move forward)"))),
            };
            Statement::Fetch { name: ident_name(&name), count }
        }
        Ast::Close { cursor } => Statement::Close {
            name: match cursor {
                ast::CloseCursor::All => None,
                ast::CloseCursor::Specific { name } => Some(ident_name(&name)),
            },
        },
        Ast::Discard { object_type } => Statement::Discard { all: object_type == ast::DiscardObject::ALL },
        _ => {
            let kind = stmt.text.split_whitespace().take(2).collect::<Vec<_>>().join(" ").to_uppercase();
            return Err(Error::not_supported(kind));
        }
    })
}

/// COPY ... TO STDOUT with its format options. glaux tables are read-only
/// and the server writes no files, so COPY FROM and COPY TO a file are
/// refused.
fn copy_statement(
    source: ast::CopySource,
    to: bool,
    target: ast::CopyTarget,
    options: Vec<ast::CopyOption>,
    legacy: Vec<ast::CopyLegacyOption>,
) -> Result<Statement> {
    if !to {
        return Err(Error::not_supported(
            "COPY ... FROM (glaux tables are read-only; create an external table over the file instead)",
        ));
    }
    if target != ast::CopyTarget::Stdout {
        return Err(Error::not_supported(
            "COPY to a server file or program (use COPY ... TO STDOUT, or psql's \\copy)",
        ));
    }
    let query = match source {
        ast::CopySource::Query(q) => q,
        ast::CopySource::Table { table_name, columns } => {
            let list = if columns.is_empty() {
                "*".to_string()
            } else {
                columns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            };
            let sql = format!("SELECT {list} FROM {table_name}");
            match Parser::new(&PostgreSqlDialect {}).try_with_sql(&sql).and_then(|mut p| p.parse_query()) {
                Ok(q) => q,
                Err(e) => return Err(Error::syntax(format!("syntax error in COPY: {e}"), None)),
            }
        }
    };
    let mut kind = CopyKind::Text;
    for option in &options {
        if let ast::CopyOption::Format(f) = option {
            kind = match f.value.to_ascii_lowercase().as_str() {
                "text" => CopyKind::Text,
                "csv" => CopyKind::Csv,
                "binary" => CopyKind::Binary,
                other => {
                    return Err(Error::new(
                        SqlState::InvalidParameterValue,
                        format!("COPY format \"{other}\" not recognized"),
                    ))
                }
            };
        }
    }
    for option in &legacy {
        match option {
            ast::CopyLegacyOption::Binary => kind = CopyKind::Binary,
            ast::CopyLegacyOption::Csv(_) => kind = CopyKind::Csv,
            _ => {}
        }
    }
    let mut format = CopyFormat::new(kind);
    for option in options {
        match option {
            ast::CopyOption::Format(_) => {}
            ast::CopyOption::Header(h) => format.header = h,
            ast::CopyOption::Delimiter(d) => format.delimiter = d,
            ast::CopyOption::Null(n) => format.null = n,
            ast::CopyOption::Quote(q) => format.quote = q,
            ast::CopyOption::Escape(e) => format.escape = e,
            ast::CopyOption::Encoding(e) if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            other => return Err(Error::not_supported(format!("COPY option {other}"))),
        }
    }
    for option in legacy {
        match option {
            ast::CopyLegacyOption::Delimiter(d) => format.delimiter = d,
            ast::CopyLegacyOption::Null(n) => format.null = n,
            ast::CopyLegacyOption::Csv(csv) => {
                for o in csv {
                    match o {
                        ast::CopyLegacyCsvOption::Header => format.header = true,
                        ast::CopyLegacyCsvOption::Quote(q) => format.quote = q,
                        ast::CopyLegacyCsvOption::Escape(e) => format.escape = e,
                        other => return Err(Error::not_supported(format!("COPY option {other}"))),
                    }
                }
            }
            ast::CopyLegacyOption::Binary => {}
            other => return Err(Error::not_supported(format!("COPY option {other}"))),
        }
    }
    if format.header && kind == CopyKind::Binary {
        return Err(Error::not_supported("COPY HEADER in binary format"));
    }
    Ok(Statement::CopyTo { query, format })
}

fn set_statement(set: ast::Set) -> Result<Statement> {
    match set {
        ast::Set::SingleAssignment { variable, values, .. } => {
            let name = object_name_string(&variable);
            // `SET name TO DEFAULT` is RESET name, as in PostgreSQL.
            if let [ast::Expr::Identifier(word)] = values.as_slice() {
                if word.quote_style.is_none() && word.value.eq_ignore_ascii_case("default") {
                    return Ok(Statement::ResetVariable { name: Some(name), tag: "SET" });
                }
            }
            let value = values
                .iter()
                .map(|v| match v {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::SingleQuotedString(s) => s.clone(),
                        other => other.to_string(),
                    },
                    ast::Expr::Identifier(i) => i.value.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            Ok(Statement::SetVariable { name, value })
        }
        // SET [SESSION CHARACTERISTICS AS] TRANSACTION ISOLATION LEVEL ...:
        // glaux reads consistent snapshots, so every level is accepted and
        // reported back as set.
        ast::Set::SetTransaction { modes, session, .. } => {
            let prefix = if session { "default_" } else { "" };
            let mut set = Vec::new();
            for mode in modes {
                let (name, value) = match mode {
                    ast::TransactionMode::IsolationLevel(level) => {
                        ("transaction_isolation", level.to_string().to_ascii_lowercase())
                    }
                    ast::TransactionMode::AccessMode(access) => (
                        "transaction_read_only",
                        if access == ast::TransactionAccessMode::ReadOnly { "on" } else { "off" }.to_string(),
                    ),
                };
                set.push(Statement::SetVariable { name: format!("{prefix}{name}"), value });
            }
            match set.len() {
                1 => Ok(set.remove(0)),
                _ => {
                    Ok(Statement::SetVariable { name: "transaction_isolation".into(), value: "read committed".into() })
                }
            }
        }
        ast::Set::SetTimeZone { value, .. } => Ok(Statement::SetVariable {
            name: "timezone".into(),
            value: match value {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                },
                other => other.to_string(),
            },
        }),
        other => Err(Error::not_supported(format!("{other}"))),
    }
}

/// An identifier, lower-cased unless quoted.
fn ident_name(ident: &ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}

/// A dotted name, lower-cased unless quoted.
pub fn object_name_string(name: &ObjectName) -> String {
    object_name_parts(name).join(".")
}

/// The parts of a dotted name, lower-cased unless quoted.
pub fn object_name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part.as_ident() {
            Some(i) if i.quote_style.is_some() => i.value.clone(),
            Some(i) => i.value.to_ascii_lowercase(),
            None => part.to_string(),
        })
        .collect()
}

/// The setting SHOW names. The parser gives its words apart: `SHOW
/// transaction isolation level` and `SHOW glaux.workgroup` both arrive as
/// several identifiers, so the names PostgreSQL spells with spaces are
/// matched, and the rest are dotted (custom) names.
fn shown_variable(words: &[datafusion::sql::sqlparser::ast::Ident]) -> String {
    let words: Vec<String> = words.iter().map(|i| i.value.to_ascii_lowercase()).collect();
    let spaced = words.join(" ");
    match spaced.as_str() {
        "transaction isolation level" | "session authorization" => spaced,
        "time zone" => "timezone".into(),
        _ => words.join("."),
    }
}
