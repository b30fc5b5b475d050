//! Statements: splitting a script, and parsing each statement into a
//! query or data-changing statement (planned by DataFusion) or one of
//! glaux's own commands (`engine/commands/`, which say which statements
//! are theirs).
//!
//! Queries and most commands are parsed by sqlparser's PostgreSQL dialect;
//! the statements sqlparser does not accept (Athena's Hive DDL, glaux's
//! partition, crawl, user and workgroup statements) are parsed by their
//! command family with glaux's parser (`engine/parser.rs`). Parse errors carry a 1-based character position into
//! the whole script.

use super::commands::{self, Command};
use crate::error::{Error, Result, SqlState};
use datafusion::sql::sqlparser::ast::{self, ObjectName, Statement as Ast};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::ParserError;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer, Whitespace};
use std::sync::Arc;

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
pub(crate) fn char_position(text: &str, loc: Location) -> usize {
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

/// A parsed statement.
#[derive(Debug, Clone)]
pub enum Statement {
    /// Planned and run by DataFusion: SELECT, WITH, VALUES, EXPLAIN ...
    Query(Box<Ast>),
    /// INSERT, UPDATE, DELETE: planned by DataFusion against the target
    /// table, run on the query path (`engine/writes.rs`).
    Change(Box<Ast>),
    /// EXECUTE name [(values)]: the query PREPARE stored, planned when
    /// it runs.
    Execute { name: String, values: Vec<ast::Expr> },
    /// One of glaux's own statements (`engine/commands/`).
    Command(Arc<dyn Command>),
}

impl Statement {
    /// Whether it may run in a failed transaction block.
    pub fn ends_failed_block(&self) -> bool {
        matches!(self, Statement::Command(c) if c.ends_failed_block())
    }
}

/// Parse one statement: glaux's own syntax by its leading words, the rest
/// by sqlparser's PostgreSQL dialect.
pub fn parse(stmt: &SqlText) -> Result<Statement> {
    super::complexity::check(&stmt.shape)?;
    let words = super::parser::leading_words(&stmt.text, 4);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    if let Some(command) = commands::parse_own_syntax(&w, stmt) {
        return Ok(Statement::Command(Arc::from(command?)));
    }
    let mut statements = super::time_travel::parse_statements(&stmt.text).map_err(|e| parse_error(stmt, e))?;
    let ast = match statements.len() {
        1 => statements.remove(0),
        _ => return Err(Error::internal("statement splitting left more than one statement")),
    };
    Ok(match ast {
        Ast::Query(_) | Ast::Explain { .. } => Statement::Query(Box::new(ast)),
        Ast::Insert(_) | Ast::Update(_) | Ast::Delete(_) => Statement::Change(Box::new(ast)),
        Ast::Execute { name, parameters, immediate: false, .. } => {
            Statement::Execute { name: super::sql_prepare::execute_name(&name)?, values: parameters }
        }
        ast => match commands::claim(ast)? {
            Some(command) => Statement::Command(Arc::from(command)),
            None => {
                let kind = stmt.text.split_whitespace().take(2).collect::<Vec<_>>().join(" ").to_uppercase();
                return Err(Error::not_supported(kind));
            }
        },
    })
}

/// An identifier, lower-cased unless quoted.
pub(crate) fn ident_name(ident: &ast::Ident) -> String {
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
