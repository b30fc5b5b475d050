//! The pgwire handlers: start-up (user, database, parameters, cancel key),
//! simple query, extended query (Parse/Bind/Describe/Execute) and cancel.
//!
//! Each connection's [`Connection`] (its Session and the cancel token of
//! its running query) lives in pgwire's per-connection extensions.

use super::rows::{cancelled, response, user_error};
use crate::engine::{split, Engine, Prepared, Session};
use crate::error::{Error, SqlState};
use crate::pgtypes;
use arrow_pg::datatypes::df::deserialize_parameters;
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::datatypes::DataType;
use futures::Sink;
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, ServerParameterProvider,
    StartupHandler,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{send_execution_response, send_query_response, ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldInfo, Response};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, PgWireConnectionState, PgWireServerHandlers, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator, Type, DEFAULT_NAME, METADATA_DATABASE, METADATA_USER,
};
use pgwire::messages::extendedquery::Execute;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// The server's handlers, shared by all connections.
pub struct Handlers {
    inner: Arc<Inner>,
}

pub struct Inner {
    engine: Engine,
    pids: RandomPidSecretKeyGenerator,
    cancel_keys: Arc<CancelKeys>,
    parser: Arc<StatementParser>,
}

impl Handlers {
    pub fn new(engine: Engine) -> Self {
        Handlers {
            inner: Arc::new(Inner {
                engine,
                pids: RandomPidSecretKeyGenerator::default(),
                cancel_keys: Arc::new(CancelKeys::default()),
                parser: Arc::new(StatementParser),
            }),
        }
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::clone(&self.inner)
    }
    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::clone(&self.inner)
    }
    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::clone(&self.inner)
    }
    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::clone(&self.inner.cancel_keys)
    }
}

/// One connection's state.
struct Connection {
    session: tokio::sync::Mutex<Session>,
    /// The token of the running (or last) query.
    query: Mutex<CancellationToken>,
    key: (i32, Bytes),
    keys: Arc<CancelKeys>,
}

impl Connection {
    /// A fresh token for the query about to run.
    fn start_query(&self) -> CancellationToken {
        let token = CancellationToken::new();
        *self.query.lock().unwrap_or_else(|p| p.into_inner()) = token.clone();
        token
    }

    fn cancel(&self) {
        self.query.lock().unwrap_or_else(|p| p.into_inner()).cancel();
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.keys.map.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
    }
}

/// Backend keys of live connections, for CancelRequest.
#[derive(Default)]
pub struct CancelKeys {
    map: Mutex<HashMap<(i32, Bytes), std::sync::Weak<Connection>>>,
}

#[async_trait]
impl CancelHandler for CancelKeys {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let key = (request.pid, request.secret_key.to_bytes());
        let conn = self.map.lock().unwrap_or_else(|p| p.into_inner()).get(&key).and_then(|w| w.upgrade());
        if let Some(conn) = conn {
            conn.cancel();
        }
    }
}

fn connection<C: ClientInfo + ?Sized>(client: &C) -> PgWireResult<Arc<Connection>> {
    client.session_extensions().get::<Arc<Connection>>().map(|c| Arc::clone(c.as_ref())).ok_or_else(|| {
        user_error(&Error::new(SqlState::ProtocolViolation, "the connection has not completed start-up"))
    })
}

/// The ParameterStatus values sent at start-up.
struct StartupParameters {
    user: String,
    application_name: Option<String>,
}

impl ServerParameterProvider for StartupParameters {
    fn server_parameters<C>(&self, _client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let mut p: HashMap<String, String> = [
            ("server_version", "16.0"),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("TimeZone", "UTC"),
            ("IntervalStyle", "postgres"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("is_superuser", "off"),
            ("default_transaction_read_only", "off"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        p.insert("session_authorization".into(), self.user.clone());
        p.insert("application_name".into(), self.application_name.clone().unwrap_or_default());
        Some(p)
    }
}

#[async_trait]
impl StartupHandler for Inner {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let PgWireFrontendMessage::Startup(ref startup) = message else { return Ok(()) };
        protocol_negotiation(client, startup).await?;
        save_startup_parameters_to_metadata(client, startup);
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        let database = client.metadata().get(METADATA_DATABASE).cloned().unwrap_or_else(|| user.clone());
        let session = self.engine.session(&user, Some(&database)).map_err(|e| {
            let mut info = ErrorInfo::new("FATAL".into(), e.sqlstate().code().into(), e.to_string());
            info.hint = e.hint().map(str::to_string);
            PgWireError::UserError(Box::new(info))
        })?;
        let (pid, secret) = self.pids.generate(&*client);
        client.set_pid_and_secret_key(pid, secret.clone());
        let key = (pid, secret.to_bytes());
        let conn = Arc::new(Connection {
            session: tokio::sync::Mutex::new(session),
            query: Mutex::new(CancellationToken::new()),
            key: key.clone(),
            keys: Arc::clone(&self.cancel_keys),
        });
        self.cancel_keys.map.lock().unwrap_or_else(|p| p.into_inner()).insert(key, Arc::downgrade(&conn));
        client.session_extensions().insert(conn);
        let application_name = client.metadata().get("application_name").cloned();
        finish_authentication(client, &StartupParameters { user, application_name }).await
    }
}

#[async_trait]
impl SimpleQueryHandler for Inner {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let conn = connection(client)?;
        let statements = match split(query) {
            Ok(s) => s,
            Err(e) => return Ok(vec![Response::Error(Box::new(super::rows::error_info(&e)))]),
        };
        let token = conn.start_query();
        let mut session = conn.session.lock().await;
        let mut responses = Vec::with_capacity(statements.len());
        for stmt in &statements {
            let result = tokio::select! {
                r = session.run(stmt) => r,
                _ = token.cancelled() => Err(cancelled()),
            };
            match result.map_err(|e| user_error(&e)).and_then(|o| response(o, &Format::UnifiedText, token.clone())) {
                Ok(r) => responses.push(r),
                Err(e) => {
                    responses.push(Response::Error(Box::new(ErrorInfo::from(e))));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

/// A statement as the extended protocol holds it.
#[derive(Clone, Debug)]
pub enum WireStatement {
    Empty,
    Prepared(Arc<Prepared>),
}

pub struct StatementParser;

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = WireStatement;

    async fn parse_sql<C>(&self, client: &C, sql: &str, _types: &[Option<Type>]) -> PgWireResult<WireStatement>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let conn = connection(client)?;
        let mut statements = split(sql).map_err(|e| user_error(&e))?;
        match statements.len() {
            0 => Ok(WireStatement::Empty),
            1 => {
                let stmt = statements.remove(0);
                let mut session = conn.session.lock().await;
                let prepared = session.prepare(&stmt).await.map_err(|e| user_error(&e))?;
                Ok(WireStatement::Prepared(Arc::new(prepared)))
            }
            _ => Err(user_error(&Error::syntax("cannot insert multiple commands into a prepared statement", None))),
        }
    }

    fn get_parameter_types(&self, stmt: &WireStatement) -> PgWireResult<Vec<Type>> {
        match stmt {
            WireStatement::Empty => Ok(Vec::new()),
            WireStatement::Prepared(p) => p
                .param_types
                .iter()
                // A parameter nothing constrains is text, as PostgreSQL
                // resolves it (`SELECT $1`).
                .map(|t| Ok(t.as_ref().map_or(Type::TEXT, pgtypes::pg_type)))
                .collect(),
        }
    }

    fn get_result_schema(&self, stmt: &WireStatement, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        match stmt {
            WireStatement::Empty => Ok(Vec::new()),
            WireStatement::Prepared(p) => {
                let encoding = pgtypes::WireEncoding::new(&p.schema, format.unwrap_or(&Format::UnifiedText))
                    .map_err(|e| user_error(&e))?;
                Ok(encoding.fields.as_ref().clone())
            }
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Inner {
    type Statement = WireStatement;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        Arc::clone(&self.parser)
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<WireStatement>, _max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = WireStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = match &portal.statement.statement {
            WireStatement::Empty => return Ok(Response::EmptyQuery),
            WireStatement::Prepared(p) => Arc::clone(p),
        };
        let types: Vec<Option<&DataType>> = prepared.param_types.iter().map(Option::as_ref).collect();
        let params = deserialize_parameters(portal, &types).map_err(|e| match e {
            PgWireError::UserError(info) => PgWireError::UserError(info),
            other => {
                let binary = (0..portal.parameter_len()).any(|i| portal.parameter_format.is_binary(i));
                let state =
                    if binary { SqlState::InvalidBinaryRepresentation } else { SqlState::InvalidTextRepresentation };
                user_error(&Error::new(state, format!("bad parameter value: {other}")))
            }
        })?;
        let conn = connection(client)?;
        let token = conn.start_query();
        let mut session = conn.session.lock().await;
        let output = tokio::select! {
            r = session.execute(&prepared, params) => r,
            _ = token.cancelled() => Err(cancelled()),
        }
        .map_err(|e| user_error(&e))?;
        response(output, &portal.result_column_format, token)
    }

    /// Execute without a row limit streams rows as they are produced
    /// (pgwire's default buffers a portal's whole result first); with a
    /// limit, pgwire's portal suspension serves the rows in batches.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = WireStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(p) if message.max_rows == 0 && matches!(client.state(), PgWireConnectionState::ReadyForQuery) => p,
            _ => return self._on_execute(client, message).await,
        };
        let returns_rows = matches!(&portal.statement.statement, WireStatement::Prepared(p) if !p.schema.fields().is_empty());
        if !returns_rows || !matches!(*portal.state().lock().await, PortalExecutionState::Initial) {
            return self._on_execute(client, message).await;
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        match ExtendedQueryHandler::do_query(self, client, portal.as_ref(), 0).await? {
            Response::Query(rows) => send_query_response(client, rows, false).await?,
            Response::Execution(tag) => send_execution_response(client, tag).await?,
            _ => return Err(user_error(&Error::internal("a row-returning statement produced no rows"))),
        }
        *portal.state().lock().await = PortalExecutionState::Finished;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }
}
