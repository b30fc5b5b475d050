//! Users: `CREATE USER|ROLE name [WITH] [LOGIN] [PASSWORD 'pw']
//! [SUPERUSER|NOSUPERUSER]`, `ALTER USER|ROLE name [WITH] [PASSWORD 'pw']
//! [SUPERUSER|NOSUPERUSER]`, `ALTER USER name SET workgroup = 'wg'` /
//! `RESET workgroup` (the workgroup its sessions start in) and
//! `DROP USER|ROLE [IF EXISTS] name [, ...]`. Passwords are stored only as
//! SCRAM-SHA-256 verifiers ([`crate::scram`]); a password given already
//! as a verifier (psql's `\password` sends one) is stored as it is.
//!
//! Admins manage users (`crate::engine::privileges`); a user may change
//! its own password.

use super::{Command, Context, Family};
use crate::catalog::{SecurityStore, User};
use crate::engine::output::Output;
use crate::engine::parser::GlauxParser;
use crate::engine::privileges::Privilege;
use crate::engine::statement::SqlText;
use crate::error::{Error, Result, SqlState};
use crate::scram::Verifier;
use datafusion::sql::sqlparser::tokenizer::Token;

/// A user statement.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Create { name: String, password: Option<String>, admin: Option<bool> },
    Alter { name: String, password: Option<String>, admin: Option<bool>, workgroup: Option<Option<String>> },
    Drop { names: Vec<String>, if_exists: bool },
}

pub(super) const FAMILY: Family = Family { own_syntax: Some((is_user_statement, parse)), from_ast: None };

fn is_user_statement(words: &[&str]) -> bool {
    matches!(words, ["CREATE" | "ALTER" | "DROP", "USER" | "ROLE", ..])
}

#[async_trait::async_trait]
impl Command for UserCommand {
    fn privilege(&self, user: &str) -> Privilege {
        match self {
            UserCommand::Alter { name, admin: None, workgroup: None, .. } if name == user => Privilege::Anyone,
            _ => Privilege::Admin { what: "manage users" },
        }
    }

    async fn run(&self, cx: &mut dyn Context) -> Result<Output> {
        Ok(Output::done(run(cx.security().as_ref(), self).await?))
    }
}

/// Parse a statement starting CREATE/ALTER/DROP USER|ROLE.
fn parse(stmt: &SqlText) -> Result<Box<dyn Command>> {
    let mut words = GlauxParser::new(stmt)?;
    let verb = words.next_word()?;
    words.next_word()?; // USER or ROLE
    let command = match verb.as_str() {
        "DROP" => {
            let if_exists = words.is_word("IF");
            if if_exists {
                words.next_word()?;
                words.expect_word("EXISTS")?;
            }
            let mut names = vec![words.name()?];
            while words.consume(&Token::Comma) {
                names.push(words.name()?);
            }
            UserCommand::Drop { names, if_exists }
        }
        _ => {
            let name = words.name()?;
            let (mut password, mut admin, mut workgroup) = (None, None, None);
            while !words.at_end() {
                match words.next_word()?.as_str() {
                    "WITH" | "LOGIN" => {}
                    "PASSWORD" => password = Some(words.string()?),
                    "SUPERUSER" => admin = Some(true),
                    "NOSUPERUSER" => admin = Some(false),
                    "SET" if verb == "ALTER" => {
                        words.expect_word("WORKGROUP")?;
                        if !words.consume(&Token::Eq) {
                            words.expect_word("TO")?;
                        }
                        workgroup = Some(Some(words.literal()?));
                    }
                    "RESET" if verb == "ALTER" => {
                        words.expect_word("WORKGROUP")?;
                        workgroup = Some(None);
                    }
                    other => {
                        return Err(Error::not_supported(format!(
                            "{other} in {verb} USER (glaux users have a password, SUPERUSER and a workgroup)"
                        )))
                    }
                }
            }
            if verb == "CREATE" {
                UserCommand::Create { name, password, admin }
            } else {
                UserCommand::Alter { name, password, admin, workgroup }
            }
        }
    };
    if !words.at_end() {
        return Err(words.error_here("unexpected text after the user statement"));
    }
    Ok(Box::new(command))
}

/// Run a user command (its privilege checked); returns its command tag.
async fn run(catalog: &dyn SecurityStore, command: &UserCommand) -> Result<&'static str> {
    let verifier = |password: &Option<String>| -> Result<String> {
        match password {
            None => Ok(String::new()),
            Some(p) if Verifier::parse(p).is_some() => Ok(p.clone()),
            Some(p) if p.is_empty() => Err(Error::new(SqlState::InvalidParameterValue, "empty password")),
            Some(p) => Ok(Verifier::new(p).encode()),
        }
    };
    match command {
        UserCommand::Create { name, password, admin } => {
            let user = User {
                name: name.clone(),
                verifier: verifier(password)?,
                admin: admin.unwrap_or(false),
                workgroup: None,
            };
            catalog.put_user(user, true).await?;
            Ok("CREATE ROLE")
        }
        UserCommand::Alter { name, password, admin, workgroup } => {
            let mut user = catalog
                .get_user(name)
                .await?
                .ok_or_else(|| Error::new(SqlState::UndefinedObject, format!("role \"{name}\" does not exist")))?;
            if password.is_some() {
                user.verifier = verifier(password)?;
            }
            if let Some(admin) = admin {
                user.admin = *admin;
            }
            if let Some(workgroup) = workgroup {
                if let Some(wg) = workgroup {
                    if catalog.get_workgroup(wg).await?.is_none() {
                        return Err(Error::new(SqlState::UndefinedObject, format!("workgroup {wg} does not exist")));
                    }
                }
                user.workgroup = workgroup.as_ref().map(|w| crate::catalog::normalize(w));
            }
            catalog.put_user(user, false).await?;
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
