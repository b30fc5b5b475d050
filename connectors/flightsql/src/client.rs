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
use prost::Message;
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
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

#[derive(Debug, Clone)]
pub struct Client {
    inner: FlightServiceClient<Channel>,
    /// `Bearer ...`, sent with every call.
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Client {
    /// Connects to `url` (`grpc://host:port` or `http://host:port`).
    pub async fn connect(url: &str, pool_size: usize) -> Result<Client, ConnectError> {
        let endpoint = Endpoint::from_shared(url.to_string()).map_err(|e| ConnectError::Url(e.to_string()))?;
        let channel = endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .concurrency_limit(pool_size)
            .connect()
            .await
            .map_err(|e| ConnectError::Unreachable(source_chain(&e)))?;
        Ok(Client { inner: FlightServiceClient::new(channel), authorization: None })
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
