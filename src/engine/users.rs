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
use super::tokens::Words;
use datafusion::sql::sqlparser::tokenizer::Token;

/// A user statement.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Create { name: String, password: Option<String> },
    Alter { name: String, password: Option<String> },
    Drop { names: Vec<String>, if_exists: bool },
}

/// Parse a statement starting CREATE/ALTER/DROP USER|ROLE.
pub fn parse(stmt: &SqlText) -> Result<Statement> {
    let mut words = Words::new(&stmt.text)?;
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
