//! One client connection from accept to close: encryption negotiation
//! (SSLRequest is accepted with `S` when TLS is configured, declined with
//! `N` otherwise, as GSSENCRequest always is; a TLS ClientHello as the
//! first bytes is direct TLS), the connection limit (53300), the start-up
//! timeout, and the message loop, which hands each checked message
//! ([`super::framing`]) to pgwire's dispatcher and ends a connection whose
//! input broke the protocol, or whose start-up failed, with a FATAL error
//! saying why.

use super::framing::{Checked, Violation, ViolationSlot};
use super::handler::Handlers;
use crate::error::SqlState;
use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, DefaultClient, PgWireConnectionState, PgWireServerHandlers};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{process_error, process_message, MaybeTls, PgWireMessageServerCodec};
use pgwire::tokio::TlsAcceptor;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const SSL_REQUEST_CODE: i32 = 80_877_103;
const GSSENC_REQUEST_CODE: i32 = 80_877_104;
/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Limits applied to every connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a client may take from connect to authenticated.
    pub startup_timeout: Duration,
    /// The largest message a client may send.
    pub max_message_bytes: usize,
    /// How long a started connection may wait for its next message.
    pub idle_timeout: Option<Duration>,
}

/// How many bytes of messages collect before they are written.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Serve one client until it disconnects or breaks the protocol. Without
/// a `permit` the server is full: the client is told so (53300).
pub async fn serve(
    socket: TcpStream,
    handlers: Arc<Handlers>,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) -> io::Result<()> {
    let peer = socket.peer_addr()?;
    let (stream, read, secure) =
        match tokio::time::timeout(limits.startup_timeout, negotiate(socket, tls.as_ref())).await {
            Ok(Ok(Some(negotiated))) => negotiated,
            Ok(Ok(None)) | Err(_) => return Ok(()),
            Ok(Err(e)) => return Err(e),
        };
    let violation: ViolationSlot = Arc::new(Mutex::new(None));
    let checked = Checked::new(stream, read, limits.max_message_bytes, Arc::clone(&violation));
    let mut socket = Framed::new(checked, PgWireMessageServerCodec::new(DefaultClient::new(peer, secure)));
    // Rows are written to the socket 64 KiB at a time (tokio's default
    // is 8 KiB): fewer system calls while a large result streams.
    socket.set_backpressure_boundary(WRITE_BUFFER_BYTES);
    socket.set_state(PgWireConnectionState::AwaitingStartup);
    if permit.is_none() {
        let info = ErrorInfo::new(
            "FATAL".into(),
            SqlState::TooManyConnections.code().into(),
            "sorry, too many clients already".into(),
        );
        return socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await;
    }

    let startup = handlers.startup_handler();
    let simple = handlers.simple_query_handler();
    let extended = handlers.extended_query_handler();
    let copy = handlers.copy_handler();
    let cancel = handlers.cancel_handler();
    let startup_deadline = tokio::time::sleep(limits.startup_timeout);
    tokio::pin!(startup_deadline);
    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup | PgWireConnectionState::AuthenticationInProgress
        );
        let message = if starting {
            tokio::select! {
                _ = &mut startup_deadline => None,
                m = socket.next() => m,
            }
        } else if let Some(idle) = limits.idle_timeout {
            match tokio::time::timeout(idle, socket.next()).await {
                Ok(m) => m,
                Err(_) => {
                    let info = ErrorInfo::new(
                        "FATAL".into(),
                        SqlState::IdleSessionTimeout.code().into(),
                        "terminating connection due to idle-session timeout".into(),
                    );
                    socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await?;
                    break;
                }
            }
        } else {
            socket.next().await
        };
        let message = match message {
            Some(Ok(PgWireFrontendMessage::Terminate(_))) | None => break,
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                let taken = violation.lock().ok().and_then(|mut v| v.take());
                let v = taken.unwrap_or_else(|| Violation {
                    state: crate::error::SqlState::ProtocolViolation,
                    message: format!("invalid message: {e}"),
                    hint: None,
                });
                let mut info = ErrorInfo::new("FATAL".into(), v.state.code().into(), v.message);
                info.hint = v.hint;
                socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await?;
                break;
            }
        };
        let extended_message = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        if let Err(e) = process_message(
            message,
            &mut socket,
            Arc::clone(&startup),
            Arc::clone(&simple),
            Arc::clone(&extended),
            Arc::clone(&copy),
            Arc::clone(&cancel),
        )
        .await
        {
            let info = ErrorInfo::from(e);
            if starting || info.is_fatal() {
                // A failed start-up or a FATAL error ends the connection;
                // nothing follows the error (no ReadyForQuery).
                socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await?;
                break;
            }
            process_error(&mut socket, PgWireError::UserError(Box::new(info)), extended_message).await?;
        }
    }
    Ok(())
}

/// Negotiate encryption: the stream to speak the protocol on, the bytes
/// already read of the start-up packet, and whether it is encrypted.
/// `None` when the client leaves or asks for TLS the server cannot give.
async fn negotiate(mut socket: TcpStream, tls: Option<&TlsAcceptor>) -> io::Result<Option<(MaybeTls, BytesMut, bool)>> {
    let mut first = [0u8; 1];
    if socket.peek(&mut first).await? == 1 && first[0] == TLS_HANDSHAKE {
        // Direct TLS: the client must name PostgreSQL in ALPN.
        let Some(tls) = tls else { return Ok(None) };
        let stream = tls.accept(socket).await?;
        if stream.get_ref().1.alpn_protocol() != Some(super::tls::ALPN) {
            return Ok(None);
        }
        return Ok(Some((MaybeTls::Tls(Box::new(stream)), BytesMut::new(), true)));
    }
    loop {
        let mut head = [0u8; 8];
        let mut n = 0;
        while n < 8 {
            let got = socket.read(&mut head[n..]).await?;
            if got == 0 {
                return Ok(Some((MaybeTls::Plain(socket), BytesMut::from(&head[..n]), false)));
            }
            n += got;
        }
        let len = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let code = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        match (len, code, tls) {
            (8, SSL_REQUEST_CODE, Some(tls)) => {
                socket.write_all(b"S").await?;
                let stream = tls.accept(socket).await?;
                return Ok(Some((MaybeTls::Tls(Box::new(stream)), BytesMut::new(), true)));
            }
            (8, SSL_REQUEST_CODE | GSSENC_REQUEST_CODE, _) => socket.write_all(b"N").await?,
            _ => return Ok(Some((MaybeTls::Plain(socket), BytesMut::from(&head[..]), false))),
        }
    }
}
