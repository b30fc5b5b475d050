//! The pgwire handlers: start-up (user, database, parameters, cancel key),
//! simple query, extended query (Parse/Bind/Describe/Execute) and cancel.
//!
//! Each connection's [`Connection`] (its Session and the cancel token of
//! its running query) lives in pgwire's per-connection extensions.

use super::rows::{cancelled, error_info, response, user_error};
use crate::engine::{split, Engine, Prepared, Session, TxStatus};
use crate::error::{Error, SqlState};
use crate::pgtypes;
use arrow_pg::datatypes::df::deserialize_parameters;
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::datatypes::DataType;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, ServerParameterProvider,
    StartupHandler,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{
    send_describe_response, send_execution_response, send_query_response, send_ready_for_query, ExtendedQueryHandler,
    SimpleQueryHandler,
};
use pgwire::api::results::{DescribePortalResponse, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, PgWireConnectionState, PgWireServerHandlers, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator, Type, DEFAULT_NAME, METADATA_DATABASE, METADATA_USER,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::extendedquery::{Describe, Execute, PortalSuspended, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL};
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;
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
    auth: super::auth::Auth,
    pids: RandomPidSecretKeyGenerator,
    cancel_keys: Arc<CancelKeys>,
    parser: Arc<StatementParser>,
}

impl Handlers {
    pub fn new(engine: Engine, auth: super::auth::Auth) -> Self {
        Handlers {
            inner: Arc::new(Inner {
                engine,
                auth,
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

/// The ParameterStatus values sent at start-up: every setting PostgreSQL
/// reports, as the session has it after the client's start-up parameters.
struct StartupParameters(Vec<(String, String)>);

impl ServerParameterProvider for StartupParameters {
    fn server_parameters<C>(&self, _client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        Some(self.0.iter().cloned().collect())
    }
}

fn fatal(e: &Error) -> PgWireError {
    let mut info = ErrorInfo::new("FATAL".into(), e.sqlstate().code().into(), e.to_string());
    info.hint = e.hint().map(str::to_string);
    PgWireError::UserError(Box::new(info))
}

#[async_trait]
impl StartupHandler for Inner {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let catalog = self.engine.security();
                if self.auth.password_required(catalog.as_ref(), &*client).await? {
                    super::auth::begin(client).await
                } else {
                    self.complete_startup(client).await
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let catalog = self.engine.security();
                if super::auth::on_password(&self.auth, catalog.as_ref(), client, password).await? {
                    self.complete_startup(client).await
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

impl Inner {
    /// The client is who it says: open its session and report ready.
    async fn complete_startup<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        let database = client.metadata().get(METADATA_DATABASE).cloned().unwrap_or_else(|| user.clone());
        let mut session = self.engine.session(&user, Some(&database)).map_err(|e| fatal(&e))?;
        let parameters: Vec<(String, String)> = client
            .metadata()
            .iter()
            .filter(|(k, _)| k.as_str() != METADATA_USER && k.as_str() != METADATA_DATABASE)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        session.apply_startup_parameters(&parameters).await.map_err(|e| fatal(&e))?;
        let (pid, secret) = self.pids.generate(&*client);
        session.set_backend_pid(pid);
        client.set_pid_and_secret_key(pid, secret.clone());
        let key = (pid, secret.to_bytes());
        let mut reported = session.reported_settings();
        reported.push(("session_authorization".into(), user.clone()));
        let conn = Arc::new(Connection {
            session: tokio::sync::Mutex::new(session),
            query: Mutex::new(CancellationToken::new()),
            key: key.clone(),
            keys: Arc::clone(&self.cancel_keys),
        });
        self.cancel_keys.map.lock().unwrap_or_else(|p| p.into_inner()).insert(key, Arc::downgrade(&conn));
        client.session_extensions().insert(conn);
        finish_authentication(client, &StartupParameters(reported)).await
    }
}

/// ReadyForQuery's status for the session's transaction state.
fn wire_status(status: TxStatus) -> TransactionStatus {
    match status {
        TxStatus::Idle => TransactionStatus::Idle,
        TxStatus::InBlock => TransactionStatus::Transaction,
        TxStatus::Failed => TransactionStatus::Error,
    }
}

/// Send ParameterStatus for every reported setting the last statement changed.
async fn send_changed_settings<C>(client: &mut C, session: &mut Session) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for (name, value) in session.take_changed_settings() {
        client.feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name, value))).await?;
    }
    Ok(())
}

/// The error a failed statement reports; Err for a broken connection.
fn statement_error(e: PgWireError) -> PgWireResult<ErrorInfo> {
    match e {
        PgWireError::UserError(info) => Ok(*info),
        PgWireError::IoError(io) => Err(PgWireError::IoError(io)),
        other => Ok(ErrorInfo::from(other)),
    }
}

#[async_trait]
impl SimpleQueryHandler for Inner {
    /// Each statement's response is sent before the next statement runs,
    /// ParameterStatus follows a SET of a reported setting, and
    /// ReadyForQuery carries the session's transaction status.
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let conn = connection(client)?;
        let mut session = conn.session.lock().await;
        match split(&query.query) {
            Err(e) => {
                session.note_error();
                client.feed(PgWireBackendMessage::ErrorResponse(error_info(&e).into())).await?;
            }
            Ok(statements) if statements.is_empty() => {
                client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?;
            }
            Ok(statements) => {
                let token = conn.start_query();
                for stmt in &statements {
                    let result = tokio::select! {
                        r = session.run(stmt) => r,
                        _ = token.cancelled() => Err(cancelled()),
                    };
                    let sent = match result.map_err(|e| user_error(&e)) {
                        Ok(output) => send_output(client, output, token.clone()).await,
                        Err(e) => Err(e),
                    };
                    send_changed_settings(client, &mut session).await?;
                    if sent.is_ok() {
                        send_notices(client, &session).await?;
                    }
                    if let Err(e) = sent {
                        session.note_error();
                        client.feed(PgWireBackendMessage::ErrorResponse(statement_error(e)?.into())).await?;
                        break;
                    }
                }
            }
        }
        let status = wire_status(session.transaction_status());
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        send_ready_for_query(client, status).await
    }

    /// Not called: `on_query` runs statements itself.
    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(user_error(&Error::internal("simple queries are run by on_query")))
    }
}

/// After a statement: the notices it left (what a query scanned and
/// cost, a workgroup over its budget, ...).
async fn send_notices<C>(client: &mut C, session: &crate::engine::Session) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for notice in session.take_notices() {
        // 01000 is PostgreSQL's SQLSTATE for a WARNING, 00000 for a NOTICE.
        let code = match notice.severity {
            crate::engine::notices::Severity::Warning => "01000",
            crate::engine::notices::Severity::Notice => "00000",
        };
        let info = pgwire::error::ErrorInfo::new(notice.severity.as_str().into(), code.into(), notice.text);
        client.feed(PgWireBackendMessage::NoticeResponse(info.into())).await?;
    }
    Ok(())
}

/// Send one statement's output in the simple protocol.
async fn send_output<C>(client: &mut C, output: crate::engine::Output, token: CancellationToken) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if let crate::engine::Output::Copy { schema, stream, format } = output {
        return super::rows::send_copy(client, &schema, stream, format, token).await;
    }
    match response(output, &Format::UnifiedText, token)? {
        Response::Query(rows) => send_query_response(client, rows, true).await,
        Response::Execution(tag) | Response::TransactionStart(tag) | Response::TransactionEnd(tag) => {
            send_execution_response(client, tag).await
        }
        _ => Err(user_error(&Error::internal("unexpected response kind"))),
    }
}

/// Check each Bind parameter's bytes against its type before pgwire and
/// arrow-pg decode them ([`pgtypes::params`]).
fn check_parameters(portal: &Portal<WireStatement>, types: &[Option<&DataType>]) -> PgWireResult<()> {
    for (i, value) in portal.parameters.iter().enumerate() {
        let Some(value) = value else { continue };
        let ty = portal
            .statement
            .parameter_types
            .get(i)
            .cloned()
            .flatten()
            .or_else(|| types.get(i).copied().flatten().map(pgtypes::pg_type))
            .unwrap_or(Type::UNKNOWN);
        pgtypes::params::check(i, &ty, portal.parameter_format.is_binary(i), value).map_err(|e| user_error(&e))?;
    }
    Ok(())
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

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<WireStatement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
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
        check_parameters(portal, &types)?;
        // The checks above keep the decoders from panicking; should one
        // panic anyway, the statement fails and the connection goes on.
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deserialize_parameters(portal, &types)))
            .unwrap_or_else(|_| Err(user_error(&Error::internal("decoding the statement's parameters panicked"))));
        let params = decoded.map_err(|e| match e {
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
        .map_err(|e| user_error(&e));
        send_changed_settings(client, &mut session).await?;
        response(output?, &portal.result_column_format, token)
    }

    /// Describe of a portal pgwire does not know may name a SQL cursor
    /// (psycopg's named cursors DECLARE one, then describe it).
    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = WireStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if message.target_type == TARGET_TYPE_BYTE_PORTAL && client.portal_store().get_portal(name).is_none() {
            if let Ok(conn) = connection(client) {
                let schema = conn.session.lock().await.cursor_schema(name);
                if let Some(schema) = schema {
                    let fields = schema.fields().iter().map(|f| pgtypes::field_info(f, FieldFormat::Text)).collect();
                    return send_describe_response(client, &DescribePortalResponse::new(fields)).await;
                }
            }
        }
        self._on_describe(client, message).await
    }

    /// ReadyForQuery carries the session's transaction status.
    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = WireStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Ok(conn) = connection(client) {
            let status = conn.session.lock().await.transaction_status();
            client.set_transaction_status(wire_status(status));
        }
        // As pgwire's own Sync: drop the unnamed portal, report ready.
        client.portal_store().rm_portal(DEFAULT_NAME);
        client.send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(client.transaction_status()))).await?;
        client.flush().await?;
        Ok(())
    }

    /// Execute runs the portal's statement the first time and streams
    /// its rows as they are produced, up to the row limit (then
    /// PortalSuspended; the next Execute goes on from there). A limit of
    /// zero or less means every row, as in PostgreSQL. pgwire's own
    /// Execute is not used: it reserves room for the whole limit before
    /// it fetches (an Execute asking for 2^31-1 rows aborted the server)
    /// and buffers the rows of each fetch.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = WireStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let Some(portal) = client.portal_store().get_portal(name) else {
            return Err(PgWireError::PortalNotFound(name.to_owned()));
        };
        let limit = usize::try_from(message.max_rows).ok().filter(|&n| n > 0);
        client.set_state(PgWireConnectionState::QueryInProgress);
        let state = portal.state();
        let mut state = state.lock().await;
        let first = matches!(*state, PortalExecutionState::Initial);
        if first {
            *state = PortalExecutionState::Finished;
            match ExtendedQueryHandler::do_query(self, client, portal.as_ref(), 0).await? {
                Response::Query(rows) => *state = PortalExecutionState::Suspended(rows),
                Response::EmptyQuery => {
                    client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?
                }
                Response::Execution(tag) | Response::TransactionStart(tag) | Response::TransactionEnd(tag) => {
                    send_execution_response(client, tag).await?
                }
                _ => return Err(user_error(&Error::internal("unexpected response kind"))),
            }
        }
        let finished = match &mut *state {
            PortalExecutionState::Suspended(rows) => send_portal_rows(client, rows, limit).await?,
            // Executed again after its last row: done, with no rows.
            PortalExecutionState::Finished if !first => {
                let tag = Tag::new("SELECT").with_rows(0);
                client.feed(PgWireBackendMessage::CommandComplete(tag.into())).await?;
                false
            }
            _ => false,
        };
        if finished {
            *state = PortalExecutionState::Finished;
        }
        drop(state);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        let conn = connection(client)?;
        let session = conn.session.lock().await;
        send_notices(client, &session).await
    }
}

/// Send a portal's next rows, at most `limit`: CommandComplete when its
/// rows are done (true), PortalSuspended when rows remain.
async fn send_portal_rows<C>(client: &mut C, rows: &mut QueryResponse, limit: Option<usize>) -> PgWireResult<bool>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let mut sent = 0;
    while limit.is_none_or(|n| sent < n) {
        match rows.data_rows().next().await {
            Some(row) => {
                client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                sent += 1;
            }
            None => {
                let tag = Tag::new(rows.command_tag()).with_rows(sent);
                client.feed(PgWireBackendMessage::CommandComplete(tag.into())).await?;
                return Ok(true);
            }
        }
    }
    client.feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new())).await?;
    Ok(false)
}
