//! A Flight SQL server's client: the few calls glaux makes (handshake,
//! GetFlightInfo of a command, DoGet of its endpoints), each answering
//! tonic's `Status`, whose code says what failed. The channel is one
//! HTTP/2 connection carrying at most `pool_size` calls at once; a token
//! from the handshake (or the catalog's `token`) goes with every call.

use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::ProstMessageExt;
use arrow_flight::{FlightDescriptor, FlightInfo, HandshakeRequest, Ticket};
use datafusion::arrow::array::RecordBatch;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use glaux_connector::SqlState;
use prost::Message;
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

/// How long connecting may take before the source counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a client could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// The url is not one gRPC can use.
    Url(String),
    /// The server cannot be reached.
    Unreachable(String),
}

/// How a TLS connection is checked: the server's certificate must chain
/// to the system's roots or to `ca` (PEM certificates), and name the
/// url's host.
#[derive(Debug)]
pub struct Tls {
    pub ca: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct Client {
    inner: FlightServiceClient<Channel>,
    /// The server's url, for messages.
    pub url: std::sync::Arc<str>,
    /// `Bearer ...`, sent with every call.
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Client {
    /// Connects to `url` (`http://host:port`, or `https://host:port`
    /// with `tls`).
    pub async fn connect(url: &str, pool_size: usize, tls: Option<Tls>) -> Result<Client, ConnectError> {
        let mut endpoint = Endpoint::from_shared(url.to_string()).map_err(|e| ConnectError::Url(e.to_string()))?;
        if let Some(tls) = tls {
            let mut config = ClientTlsConfig::new().with_native_roots();
            if let Some(pem) = tls.ca {
                config = config.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint.tls_config(config).map_err(|e| ConnectError::Url(source_chain(&e)))?;
        }
        let channel = endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .concurrency_limit(pool_size)
            .connect()
            .await
            .map_err(|e| ConnectError::Unreachable(source_chain(&e)))?;
        Ok(Client { inner: FlightServiceClient::new(channel), url: url.into(), authorization: None })
    }

    /// Sends `token` with every call from now on.
    pub fn set_token(&mut self, token: &str) -> Result<(), Status> {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::invalid_argument("the token holds characters a header cannot"))?;
        self.authorization = Some(value);
        Ok(())
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(value) = &self.authorization {
            request.metadata_mut().insert("authorization", value.clone());
        }
        request
    }

    /// Basic authentication: the server's `Bearer` answer becomes the
    /// token sent from now on.
    pub async fn handshake(&mut self, user: &str, password: &str) -> Result<(), Status> {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut request = Request::new(futures::stream::iter(vec![HandshakeRequest::default()]));
        let value = format!("Basic {basic}")
            .parse()
            .map_err(|_| Status::invalid_argument("the user or password holds characters a header cannot"))?;
        request.metadata_mut().insert("authorization", value);
        let response = self.inner.handshake(request).await?;
        if let Some(value) = response.metadata().get("authorization") {
            self.authorization = Some(value.clone());
        }
        // The answers are read to the end (some servers fail there).
        response.into_inner().try_collect::<Vec<_>>().await?;
        Ok(())
    }

    /// GetFlightInfo of a Flight SQL command.
    pub async fn info(&self, command: &impl ProstMessageExt) -> Result<FlightInfo, Status> {
        let descriptor = FlightDescriptor::new_cmd(command.as_any().encode_to_vec());
        Ok(self.inner.clone().get_flight_info(self.request(descriptor)).await?.into_inner())
    }

    /// The batches of `info`'s endpoints, one endpoint after the other
    /// (each its own stream, with its own schema message).
    pub fn rows(&self, info: FlightInfo) -> BoxStream<'static, Result<RecordBatch, FlightError>> {
        let client = self.clone();
        let tickets: Vec<Ticket> = info.endpoint.into_iter().filter_map(|e| e.ticket).collect();
        futures::stream::iter(tickets)
            .then(move |ticket| {
                let mut inner = client.inner.clone();
                let request = client.request(ticket);
                async move { inner.do_get(request).await.map(|r| r.into_inner()) }
            })
            .map_ok(|data| FlightRecordBatchStream::new_from_flight_data(data.map_err(FlightError::from)))
            .map_err(FlightError::from)
            .try_flatten()
            .boxed()
    }
}

/// The SQLSTATE of a call's `status`, and what it says: refused
/// credentials 28P01, a server that cannot be reached (or a connection
/// lost, a status whose causes hold a transport or I/O error) HV00N,
/// anything else HV000.
pub fn classify(status: &Status) -> (SqlState, &'static str) {
    use tonic::Code;
    match status.code() {
        Code::Unauthenticated => (SqlState::InvalidPassword, "refused the credentials"),
        Code::PermissionDenied => (SqlState::InsufficientPrivilege, "refused"),
        Code::Unavailable => (SqlState::FdwUnableToEstablishConnection, "cannot be reached"),
        Code::Unknown if broke(status) => (SqlState::FdwUnableToEstablishConnection, "cannot be reached"),
        Code::Unimplemented => (SqlState::FdwError, "does not implement what glaux asked"),
        _ => (SqlState::FdwError, "failed"),
    }
}

/// Whether `status` came from the connection rather than the server.
fn broke(status: &Status) -> bool {
    let mut cause = std::error::Error::source(status);
    while let Some(c) = cause {
        if c.is::<tonic::transport::Error>() || c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// An error with its causes, on one line.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}
