//! The parser of glaux's own statements: one extension of sqlparser's
//! [`Parser`], as DataFusion's `DFParser` extends it, for the syntax
//! sqlparser does not accept (Athena's Hive DDL, partitions, crawl, users,
//! workgroups).
//!
//! [`GlauxParser`] walks the statement's tokens with sqlparser's own
//! parser (its identifiers are sqlparser's), and adds the vocabulary
//! glaux's grammars are written in: words that need not be
//! sqlparser keywords (`WORKGROUP`, `SERDEPROPERTIES`), names folded as
//! PostgreSQL folds them, quoted strings and literals. Every error it
//! raises is a 42601 with the position of the offending token in the
//! whole script.

use super::statement::{char_position, parse_error, SqlText};
use crate::error::{Error, Result};
use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect, PostgreSqlDialect};
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
/// Athena's DDL quotes names with backticks, which PostgreSQL does not.
static HIVE: GenericDialect = GenericDialect {};

/// A parser over one statement of glaux's own syntax.
pub struct GlauxParser<'a> {
    stmt: &'a SqlText,
    parser: Parser<'static>,
    /// Hive's lexical rules: `"..."` is a string.
    hive: bool,
}

impl<'a> GlauxParser<'a> {
    /// A parser of `stmt` with PostgreSQL's lexical rules.
    pub fn new(stmt: &'a SqlText) -> Result<Self> {
        Self::with_dialect(stmt, &POSTGRES, false)
    }

    /// A parser of `stmt` with Hive's lexical rules (backquoted names).
    pub fn hive(stmt: &'a SqlText) -> Result<Self> {
        Self::with_dialect(stmt, &HIVE, true)
    }

    fn with_dialect(stmt: &'a SqlText, dialect: &'static dyn Dialect, hive: bool) -> Result<Self> {
        let parser = Parser::new(dialect).try_with_sql(&stmt.text).map_err(|e| parse_error(stmt, e))?;
        Ok(GlauxParser { stmt, parser, hive })
    }

    /// The next token, not consumed (EOF at the end).
    pub fn peek(&self) -> &Token {
        &self.parser.peek_token_ref().token
    }

    /// Consume the next token and return it.
    pub fn advance(&mut self) -> Token {
        self.parser.next_token().token
    }

    /// Whether the statement has no more tokens (a closing `;` aside).
    pub fn at_end(&self) -> bool {
        matches!(self.peek(), Token::EOF | Token::SemiColon)
    }

    /// The position of the next token in the whole script (1-based).
    pub fn here(&self) -> usize {
        self.position(self.parser.peek_token_ref())
    }

    /// A syntax error at the next token: `message`, with its position.
    pub fn error_here(&self, message: impl Into<String>) -> Error {
        Error::syntax(message, Some(self.here()))
    }

    /// A syntax error at the token just consumed.
    pub fn error_at_last(&self, message: impl Into<String>) -> Error {
        Error::syntax(message, Some(self.position(self.parser.get_current_token())))
    }

    /// `syntax error: expected <expected>, found <the next token>`.
    pub fn expected(&self, expected: &str) -> Error {
        let found = match self.peek() {
            Token::EOF => "end of statement".to_string(),
            t => t.to_string(),
        };
        self.error_here(format!("syntax error: expected {expected}, found {found}"))
    }

    /// The 1-based character position of `token` in the whole script
    /// (just past the statement for EOF).
    fn position(&self, token: &TokenWithSpan) -> usize {
        if token.token == Token::EOF {
            return self.stmt.offset + self.stmt.text.chars().count() + 1;
        }
        self.stmt.offset + char_position(&self.stmt.text, token.span.start)
    }

    /// The statement's remaining tokens, consumed: each with the index
    /// (in characters, from 0) where it starts in the statement's text.
    pub fn remaining(&mut self) -> Vec<(usize, Token)> {
        let mut out = Vec::new();
        while !self.at_end() {
            let at = self.here() - self.stmt.offset - 1;
            out.push((at, self.advance()));
        }
        self.consume(&Token::SemiColon);
        out
    }

    /// The statement's text from character `from` up to `to` (or its end).
    pub fn text_between(&self, from: usize, to: Option<usize>) -> String {
        let chars = self.stmt.text.chars().skip(from);
        match to {
            Some(to) => chars.take(to.saturating_sub(from)).collect::<String>(),
            None => chars.collect::<String>(),
        }
        .trim_end()
        .trim_end_matches(';')
        .to_string()
    }

    /// The end of the statement (a closing `;` allowed), or 42601.
    pub fn finish(&mut self) -> Result<()> {
        self.consume(&Token::SemiColon);
        if self.peek() != &Token::EOF {
            return Err(self.expected("end of statement"));
        }
        Ok(())
    }

    /// Whether the next token is the unquoted word `word` (any case).
    pub fn is_word(&self, word: &str) -> bool {
        is_word(self.peek(), word)
    }

    /// Consume the word `word` if it is next.
    pub fn word(&mut self, word: &str) -> bool {
        let found = self.is_word(word);
        if found {
            self.parser.advance_token();
        }
        found
    }

    /// Consume all of `words` if they come next in order, else nothing.
    pub fn words(&mut self, words: &[&str]) -> bool {
        let all = words.iter().enumerate().all(|(i, w)| is_word(&self.parser.peek_nth_token_ref(i).token, w));
        if all {
            words.iter().for_each(|_| self.parser.advance_token());
        }
        all
    }

    /// The word `word`, or 42601.
    pub fn expect_word(&mut self, word: &str) -> Result<()> {
        if self.word(word) {
            Ok(())
        } else {
            Err(self.expected(word))
        }
    }

    /// The next unquoted word, upper-cased (a keyword to branch on).
    pub fn next_word(&mut self) -> Result<String> {
        match self.peek() {
            Token::Word(w) if w.quote_style.is_none() => {
                let word = w.value.to_ascii_uppercase();
                self.parser.advance_token();
                Ok(word)
            }
            _ => Err(self.expected("a keyword")),
        }
    }

    /// Consume `token` if it is next.
    pub fn consume(&mut self, token: &Token) -> bool {
        self.parser.consume_token(token)
    }

    /// `token`, or 42601.
    pub fn expect_token(&mut self, token: Token) -> Result<()> {
        if self.consume(&token) {
            Ok(())
        } else {
            Err(self.expected(&token.to_string()))
        }
    }

    /// A name (sqlparser's identifier): unquoted names fold to lower case
    /// (ASCII letters only), as in PostgreSQL.
    pub fn name(&mut self) -> Result<String> {
        if !matches!(self.peek(), Token::Word(_)) {
            return Err(self.expected("a name"));
        }
        let ident = self.parser.parse_identifier().map_err(|e| parse_error(self.stmt, e))?;
        Ok(super::statement::ident_name(&ident))
    }

    /// A possibly qualified name (`db.t`, `catalog.db.t`), as its parts.
    pub fn object_name(&mut self) -> Result<Vec<String>> {
        let mut parts = vec![self.name()?];
        while self.consume(&Token::Period) {
            parts.push(self.name()?);
        }
        Ok(parts)
    }

    /// A quoted string (`'...'`, `E'...'`; in Hive's rules `"..."` too).
    pub fn string(&mut self) -> Result<String> {
        let text = match self.peek() {
            Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) | Token::DoubleQuotedString(s) => s.clone(),
            Token::Word(w) if w.quote_style == Some('"') && self.hive => w.value.clone(),
            _ => return Err(self.expected("a quoted string")),
        };
        self.parser.advance_token();
        Ok(text)
    }

    /// A literal value: a quoted string or a (signed) number, as text.
    pub fn literal(&mut self) -> Result<String> {
        let negative = self.consume(&Token::Minus);
        match (self.peek().clone(), negative) {
            (Token::Number(n, _), _) => {
                self.parser.advance_token();
                Ok(if negative { format!("-{n}") } else { n })
            }
            (Token::SingleQuotedString(_) | Token::EscapedStringLiteral(_), false) => self.string(),
            (_, true) => Err(self.expected("a number")),
            _ => Err(self.expected("a value")),
        }
    }

    /// An option value: a literal, or a bare word (`true`, `block`), as text.
    pub fn value(&mut self) -> Result<String> {
        match self.peek() {
            Token::Word(w) => {
                let text = w.value.clone();
                self.parser.advance_token();
                Ok(text)
            }
            _ => self.literal(),
        }
    }

    /// `('k' = 'v', ...)`: properties, values quoted or numbers.
    pub fn properties(&mut self) -> Result<crate::catalog::Parameters> {
        self.expect_token(Token::LParen)?;
        let mut out = crate::catalog::Parameters::new();
        if self.consume(&Token::RParen) {
            return Ok(out);
        }
        loop {
            let key = self.string()?;
            self.expect_token(Token::Eq)?;
            let value = match self.peek().clone() {
                Token::Number(n, _) => {
                    self.parser.advance_token();
                    n
                }
                _ => self.string()?,
            };
            out.insert(key, value);
            if !self.consume(&Token::Comma) {
                break;
            }
        }
        self.expect_token(Token::RParen)?;
        Ok(out)
    }
}

fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// The first `n` words of a statement, upper-cased, for routing it to its
/// command family (a token that is not a word counts as an empty word).
pub fn leading_words(text: &str, n: usize) -> Vec<String> {
    let tokens = Tokenizer::new(&HIVE, text).tokenize().unwrap_or_default();
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
