//! A small Arrow Flight SQL server of the tests' own, the way a team
//! would write a connector as its own process: DataFusion answers the
//! SQL it receives over tables registered in a SessionContext, on
//! loopback at a free port. It lists its schemas and tables (with their
//! Arrow schemas), plans a statement at GetFlightInfo and runs it at
//! DoGet (the ticket is the SQL), and with credentials set, accepts
//! only Flight's basic-auth handshake and the bearer token it returns.
//! Every statement it receives is kept, for tests to see what glaux
//! sent.

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::server::FlightSqlService;
use arrow_flight::sql::{
    CommandGetDbSchemas, CommandGetTables, CommandStatementQuery, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, Ticket};
use datafusion::prelude::SessionContext;
use futures::{Stream, TryStreamExt};
use prost::Message;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status, Streaming};

/// The token the handshake hands out.
const TOKEN: &str = "glaux-test-token";

/// A running server; stopped when dropped.
pub struct FlightServer {
    pub port: u16,
    /// Every statement received (GetFlightInfo), in order.
    pub statements: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FlightServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl FlightServer {
    pub fn url(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.port)
    }
}

/// Serves `context`'s tables; with `credentials`, only to that user;
/// with `tls` (a PEM certificate and key file), over TLS only.
pub async fn start_flight_sql(
    context: SessionContext,
    credentials: Option<(&str, &str)>,
    tls: Option<(&str, &str)>,
) -> FlightServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let statements = Arc::new(Mutex::new(Vec::new()));
    let service = Service {
        context,
        credentials: credentials.map(|(u, p)| (u.to_string(), p.to_string())),
        statements: Arc::clone(&statements),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = tls {
        let identity = tonic::transport::Identity::from_pem(std::fs::read(cert).unwrap(), std::fs::read(key).unwrap());
        builder = builder.tls_config(tonic::transport::ServerTlsConfig::new().identity(identity)).unwrap();
    }
    tokio::spawn(async move {
        let _ = builder
            .add_service(FlightServiceServer::new(service))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await;
    });
    FlightServer { port, statements, stop: Some(stop) }
}

#[derive(Clone)]
struct Service {
    context: SessionContext,
    credentials: Option<(String, String)>,
    statements: Arc<Mutex<Vec<String>>>,
}

type Rows = Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send>>;

impl Service {
    /// Refuses a call without the handshake's token (when credentials
    /// are set).
    fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
        if self.credentials.is_none() {
            return Ok(());
        }
        let sent = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        if sent == Some(format!("Bearer {TOKEN}").as_str()) {
            Ok(())
        } else {
            Err(Status::unauthenticated("no valid token"))
        }
    }

    /// One endpoint whose ticket is `ticket`, for rows of `schema`.
    fn info(schema: &datafusion::arrow::datatypes::Schema, ticket: Vec<u8>) -> Result<Response<FlightInfo>, Status> {
        let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
        let info = FlightInfo::new().try_with_schema(schema).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(info.with_endpoint(endpoint)))
    }

    fn send(
        batches: Vec<datafusion::arrow::array::RecordBatch>,
        schema: datafusion::arrow::datatypes::SchemaRef,
    ) -> Rows {
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::iter(batches.into_iter().map(Ok)))
            .map_err(Status::from);
        Box::pin(stream)
    }

    /// (catalog, schema, table) of every table served.
    async fn tables(&self) -> Vec<(String, String, String, datafusion::arrow::datatypes::SchemaRef)> {
        let mut all = Vec::new();
        for catalog in self.context.catalog_names() {
            let Some(c) = self.context.catalog(&catalog) else { continue };
            for schema in c.schema_names() {
                let Some(s) = c.schema(&schema) else { continue };
                for table in s.table_names() {
                    if let Ok(Some(provider)) = s.table(&table).await {
                        all.push((catalog.clone(), schema.clone(), table, provider.schema()));
                    }
                }
            }
        }
        all
    }
}

fn status(e: impl std::fmt::Display) -> Status {
    Status::invalid_argument(e.to_string())
}

#[tonic::async_trait]
impl FlightSqlService for Service {
    type FlightService = Service;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>, Status> {
        use base64::Engine;
        let sent = request.metadata().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let decoded = sent
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let (user, password) = decoded.split_once(':').unwrap_or_default();
        if let Some((u, p)) = &self.credentials {
            if user != u || password != p {
                return Err(Status::unauthenticated("wrong user or password"));
            }
        }
        let answer = futures::stream::iter(vec![Ok(HandshakeResponse::default())]);
        let mut response: Response<Pin<Box<dyn Stream<Item = _> + Send>>> = Response::new(Box::pin(answer));
        response.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request)?;
        self.statements.lock().unwrap().push(query.query.clone());
        let frame = self.context.sql(&query.query).await.map_err(status)?;
        let schema = frame.schema().as_arrow().clone();
        let ticket = TicketStatementQuery { statement_handle: query.query.into_bytes().into() };
        Service::info(&schema, ticket.as_any().encode_to_vec())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.check(&request)?;
        let sql = String::from_utf8(ticket.statement_handle.to_vec()).map_err(status)?;
        let frame = self.context.sql(&sql).await.map_err(status)?;
        let stream = frame.execute_stream().await.map_err(status)?;
        let schema = stream.schema();
        let batches = stream.map_err(|e| FlightError::ExternalError(Box::new(e)));
        let rows = FlightDataEncoderBuilder::new().with_schema(schema).build(batches).map_err(Status::from);
        Ok(Response::new(Box::pin(rows)))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request)?;
        let schema = query.clone().into_builder().schema();
        Service::info(&schema, query.as_any().encode_to_vec())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.check(&request)?;
        let mut builder = query.into_builder();
        for catalog in self.context.catalog_names() {
            if let Some(c) = self.context.catalog(&catalog) {
                for schema in c.schema_names() {
                    builder.append(&catalog, schema);
                }
            }
        }
        let schema = builder.schema();
        let batch = builder.build().map_err(status)?;
        Ok(Response::new(Service::send(vec![batch], schema)))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request)?;
        let schema = query.clone().into_builder().schema();
        Service::info(&schema, query.as_any().encode_to_vec())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.check(&request)?;
        let mut builder = query.into_builder();
        for (catalog, schema, table, columns) in self.tables().await {
            builder.append(catalog, schema, table, "TABLE", &columns).map_err(status)?;
        }
        let schema = builder.schema();
        let batch = builder.build().map_err(status)?;
        Ok(Response::new(Service::send(vec![batch], schema)))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
