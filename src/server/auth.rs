//! Who may connect. The policy (`server.auth`): `auto` lets loopback
//! clients in without a password while the catalog defines no user (so the
//! first run is one command) and asks everyone else for one; `scram`
//! always asks; `trust` never does. `server.require_tls` refuses
//! unencrypted clients (28000).
//!
//! Passwords are checked by SCRAM-SHA-256 ([`crate::scram`]) against the
//! verifier stored with the user. A wrong password and an unknown user get
//! the same answer (28P01) after the same exchange.

use crate::catalog::SecurityStore;
use crate::config::Config;
use crate::error::{Error, Result, SqlState};
use crate::scram::{self, Failure, Verifier};
use bytes::Bytes;
use futures::{Sink, SinkExt};
use pgwire::api::{ClientInfo, PgWireConnectionState, METADATA_USER};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use pgwire::messages::PgWireBackendMessage;
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt::Debug;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Auto,
    Scram,
    Trust,
}

/// The server's authentication policy.
#[derive(Debug)]
pub struct Auth {
    mode: Mode,
    require_tls: bool,
    /// Keys the decoy salts of unknown users.
    decoy_secret: [u8; 32],
}

impl Auth {
    pub fn from_config(config: &Config) -> Result<Auth> {
        let mode = match config.get("server.auth") {
            "auto" | "" => Mode::Auto,
            "scram" | "scram-sha-256" => Mode::Scram,
            "trust" => Mode::Trust,
            other => {
                return Err(Error::new(
                    SqlState::ConfigFileError,
                    format!("server.auth must be auto, scram or trust, not {other:?}"),
                ))
            }
        };
        let mut decoy_secret = [0u8; 32];
        SystemRandom::new()
            .fill(&mut decoy_secret)
            .map_err(|_| Error::internal("the operating system has no random source"))?;
        Ok(Auth { mode, require_tls: config.get_bool("server.require_tls")?, decoy_secret })
    }

    /// Whether `client` must give a password.
    pub async fn password_required<C: ClientInfo>(
        &self,
        catalog: &dyn SecurityStore,
        client: &C,
    ) -> PgWireResult<bool> {
        if self.require_tls && !client.is_secure() {
            return Err(fatal(
                SqlState::InvalidAuthorization,
                "this server accepts only TLS connections (sslmode=require)",
            ));
        }
        Ok(match self.mode {
            Mode::Trust => false,
            Mode::Scram => true,
            Mode::Auto => {
                let users = catalog.list_users().await.map_err(|e| fatal(e.sqlstate(), &e.to_string()))?;
                !(client.socket_addr().ip().is_loopback() && users.is_empty())
            }
        })
    }
}

/// Where a connection's SCRAM exchange stands.
enum Step {
    AwaitInitial,
    AwaitFinal(scram::Exchange),
    Done,
}

/// Ask the client for a password (AuthenticationSASL).
pub async fn begin<C>(client: &mut C) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    client.set_state(PgWireConnectionState::AuthenticationInProgress);
    client.session_extensions().insert(Mutex::new(Step::AwaitInitial));
    client.send(PgWireBackendMessage::Authentication(Authentication::SASL(vec![scram::MECHANISM.to_string()]))).await?;
    Ok(())
}

/// Take the client's next SASL message; true once the password checked out.
pub async fn on_password<C>(
    auth: &Auth,
    catalog: &dyn SecurityStore,
    client: &mut C,
    message: PasswordMessageFamily,
) -> PgWireResult<bool>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let PasswordMessageFamily::Raw(body) = message else {
        return Err(fatal(SqlState::ProtocolViolation, "unexpected password message"));
    };
    let Some(state) = client.session_extensions().get::<Mutex<Step>>() else {
        return Err(fatal(SqlState::ProtocolViolation, "password message before authentication was requested"));
    };
    let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
    let step = std::mem::replace(&mut *state.lock().unwrap_or_else(|p| p.into_inner()), Step::Done);
    match step {
        Step::AwaitInitial => {
            let Some((mechanism, data)) = scram::parse_initial(&body) else {
                return Err(fatal(SqlState::ProtocolViolation, "malformed SASLInitialResponse message"));
            };
            if mechanism != scram::MECHANISM {
                return Err(fatal(
                    SqlState::ProtocolViolation,
                    "client selected an invalid SASL authentication mechanism",
                ));
            }
            let stored = catalog.get_user(&user).await.map_err(|e| fatal(e.sqlstate(), &e.to_string()))?;
            let verifier = stored.and_then(|u| Verifier::parse(&u.verifier));
            let decoy = scram::decoy_salt(&auth.decoy_secret, &user);
            let (server_first, exchange) = scram::server_first(data, verifier, &decoy).map_err(|f| failed(f, &user))?;
            *state.lock().unwrap_or_else(|p| p.into_inner()) = Step::AwaitFinal(exchange);
            client
                .send(PgWireBackendMessage::Authentication(Authentication::SASLContinue(Bytes::from(server_first))))
                .await?;
            Ok(false)
        }
        Step::AwaitFinal(exchange) => {
            let server_final = scram::server_final(&exchange, &body).map_err(|f| failed(f, &user))?;
            client
                .feed(PgWireBackendMessage::Authentication(Authentication::SASLFinal(Bytes::from(server_final))))
                .await?;
            Ok(true)
        }
        Step::Done => Err(fatal(SqlState::ProtocolViolation, "unexpected password message")),
    }
}

fn failed(failure: Failure, user: &str) -> PgWireError {
    match failure {
        Failure::Rejected => {
            fatal(SqlState::InvalidPassword, &format!("password authentication failed for user \"{user}\""))
        }
        Failure::Protocol(why) => fatal(SqlState::ProtocolViolation, why),
    }
}

fn fatal(state: SqlState, message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("FATAL".into(), state.code().into(), message.into())))
}
