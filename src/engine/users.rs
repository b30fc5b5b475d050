//! Users: `CREATE USER|ROLE name [WITH] [LOGIN] [PASSWORD 'pw']`,
//! `ALTER USER|ROLE name [WITH] PASSWORD 'pw'` and
//! `DROP USER|ROLE [IF EXISTS] name [, ...]`. Passwords are stored only as
//! SCRAM-SHA-256 verifiers ([`crate::scram`]); a password given already
//! as a verifier (psql's `\password` sends one) is stored as it is. Every
//! user is equal: any connected user may manage users.

use super::statement::{SqlText, Statement};
use crate::catalog::{Catalog, User};
use crate::error::{Error, Result, SqlState};
use crate::scram::Verifier;
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// A user statement.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Create { name: String, password: Option<String> },
    Alter { name: String, password: Option<String> },
    Drop { names: Vec<String>, if_exists: bool },
}

/// Parse a statement starting CREATE/ALTER/DROP USER|ROLE.
pub fn parse(stmt: &SqlText) -> Result<Statement> {
    let tokens: Vec<Token> = Tokenizer::new(&PostgreSqlDialect {}, &stmt.text)
        .tokenize()
        .map_err(|e| Error::syntax(e.message, None))?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut words = Words { tokens, at: 0 };
    let verb = words.keyword()?;
    words.keyword()?; // USER or ROLE
    let command = match verb.as_str() {
        "DROP" => {
            let if_exists = words.peek_keyword("IF");
            if if_exists {
                words.keyword()?;
                words.expect("EXISTS")?;
            }
            let mut names = vec![words.name()?];
            while words.take(&Token::Comma) {
                names.push(words.name()?);
            }
            UserCommand::Drop { names, if_exists }
        }
        _ => {
            let name = words.name()?;
            let mut password = None;
            while !words.done() {
                match words.keyword()?.as_str() {
                    "WITH" | "LOGIN" => {}
                    "PASSWORD" => password = Some(words.string()?),
                    other => return Err(Error::not_supported(format!("{other} in {verb} USER (glaux users have passwords only)"))),
                }
            }
            if verb == "CREATE" {
                UserCommand::Create { name, password }
            } else {
                UserCommand::Alter { name, password }
            }
        }
    };
    if !words.done() {
        return Err(Error::syntax("unexpected text after the user statement", Some(stmt.offset + 1)));
    }
    Ok(Statement::User(command))
}

struct Words {
    tokens: Vec<Token>,
    at: usize,
}

impl Words {
    fn done(&self) -> bool {
        matches!(self.tokens.get(self.at), None | Some(Token::EOF) | Some(Token::SemiColon))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::Word(w)) if w.quote_style.is_none() => Ok(w.value.to_ascii_uppercase()),
            other => Err(Error::syntax(format!("expected a keyword, found {}", describe(other)), None)),
        }
    }

    fn peek_keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, word: &str) -> Result<()> {
        if self.keyword()? == word {
            Ok(())
        } else {
            Err(Error::syntax(format!("expected {word}"), None))
        }
    }

    fn take(&mut self, token: &Token) -> bool {
        let found = self.tokens.get(self.at) == Some(token);
        if found {
            self.at += 1;
        }
        found
    }

    /// A user name: unquoted names fold to lower case, as in PostgreSQL.
    fn name(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::Word(w)) if w.quote_style.is_some() => Ok(w.value),
            Some(Token::Word(w)) => Ok(w.value.to_lowercase()),
            other => Err(Error::syntax(format!("expected a user name, found {}", describe(other)), None)),
        }
    }

    fn string(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::SingleQuotedString(s)) | Some(Token::EscapedStringLiteral(s)) => Ok(s),
            other => Err(Error::syntax(format!("expected a quoted password, found {}", describe(other)), None)),
        }
    }
}

fn describe(token: Option<Token>) -> String {
    token.map_or_else(|| "end of statement".to_string(), |t| format!("\"{t}\""))
}

/// Run a user command; returns its command tag.
pub async fn run(catalog: &dyn Catalog, command: &UserCommand) -> Result<&'static str> {
    let verifier = |password: &Option<String>| -> Result<String> {
        match password {
            None => Ok(String::new()),
            Some(p) if Verifier::parse(p).is_some() => Ok(p.clone()),
            Some(p) if p.is_empty() => Err(Error::new(SqlState::InvalidParameterValue, "empty password")),
            Some(p) => Ok(Verifier::new(p).encode()),
        }
    };
    match command {
        UserCommand::Create { name, password } => {
            catalog.put_user(User { name: name.clone(), verifier: verifier(password)? }, true).await?;
            Ok("CREATE ROLE")
        }
        UserCommand::Alter { name, password } => {
            catalog.put_user(User { name: name.clone(), verifier: verifier(password)? }, false).await?;
            Ok("ALTER ROLE")
        }
        UserCommand::Drop { names, if_exists } => {
            for name in names {
                if !catalog.drop_user(name).await? && !if_exists {
                    return Err(Error::new(SqlState::UndefinedObject, format!("role \"{name}\" does not exist")));
                }
            }
            Ok("DROP ROLE")
        }
    }
}
