//! A cursor over a statement's tokens, for the statements glaux parses
//! itself (users, partitions): keywords, names, quoted strings.

use crate::error::{Error, Result};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

pub struct Words {
    tokens: Vec<Token>,
    at: usize,
}

impl Words {
    /// The tokens of `text`, whitespace dropped.
    pub fn new(text: &str) -> Result<Words> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, text)
            .tokenize()
            .map_err(|e| Error::syntax(e.message, None))?
            .into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .collect();
        Ok(Words { tokens, at: 0 })
    }

    pub fn done(&self) -> bool {
        matches!(self.tokens.get(self.at), None | Some(Token::EOF) | Some(Token::SemiColon))
    }

    pub fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    pub fn keyword(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::Word(w)) if w.quote_style.is_none() => Ok(w.value.to_ascii_uppercase()),
            other => Err(Error::syntax(format!("expected a keyword, found {}", describe(other)), None)),
        }
    }

    pub fn peek_keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
    }

    pub fn expect(&mut self, word: &str) -> Result<()> {
        if self.keyword()? == word {
            Ok(())
        } else {
            Err(Error::syntax(format!("expected {word}"), None))
        }
    }

    pub fn take(&mut self, token: &Token) -> bool {
        let found = self.tokens.get(self.at) == Some(token);
        if found {
            self.at += 1;
        }
        found
    }

    /// A name: unquoted names fold to lower case, as in PostgreSQL.
    pub fn name(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::Word(w)) if w.quote_style.is_some() => Ok(w.value),
            Some(Token::Word(w)) => Ok(w.value.to_lowercase()),
            other => Err(Error::syntax(format!("expected a name, found {}", describe(other)), None)),
        }
    }

    /// A possibly qualified name (`db.t`), as its parts.
    pub fn object_name(&mut self) -> Result<Vec<String>> {
        let mut parts = vec![self.name()?];
        while self.take(&Token::Period) {
            parts.push(self.name()?);
        }
        Ok(parts)
    }

    pub fn string(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::SingleQuotedString(s)) | Some(Token::EscapedStringLiteral(s)) => Ok(s),
            other => Err(Error::syntax(format!("expected a quoted string, found {}", describe(other)), None)),
        }
    }

    /// A literal value: a quoted string or a number, as text.
    pub fn literal(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::SingleQuotedString(s)) | Some(Token::EscapedStringLiteral(s)) => Ok(s),
            Some(Token::Number(n, _)) => Ok(n),
            Some(Token::Minus) => match self.next() {
                Some(Token::Number(n, _)) => Ok(format!("-{n}")),
                other => Err(Error::syntax(format!("expected a number, found {}", describe(other)), None)),
            },
            other => Err(Error::syntax(format!("expected a value, found {}", describe(other)), None)),
        }
    }

    /// An option value: a literal, or a bare word (`true`, `block`), as text.
    pub fn value(&mut self) -> Result<String> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => {
                let text = w.value.clone();
                self.at += 1;
                Ok(text)
            }
            _ => self.literal(),
        }
    }

    /// Expect `token` next.
    pub fn expect_token(&mut self, token: Token) -> Result<()> {
        if self.take(&token) {
            Ok(())
        } else {
            Err(Error::syntax(format!("expected {token}, found {}", describe(self.tokens.get(self.at).cloned())), None))
        }
    }
}

/// A token as an error message names it.
pub fn describe(token: Option<Token>) -> String {
    token.map_or_else(|| "end of statement".to_string(), |t| format!("\"{t}\""))
}
