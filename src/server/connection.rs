//! One client connection from accept to close: encryption negotiation
//! (SSLRequest and GSSENCRequest are declined with `N`), the start-up
//! timeout, and the message loop, which hands each checked message
//! ([`super::framing`]) to pgwire's dispatcher and ends a connection whose
//! input broke the protocol with a FATAL error saying why.

use super::framing::{Checked, Violation, ViolationSlot};
use super::handler::Handlers;
use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, DefaultClient, PgWireConnectionState, PgWireServerHandlers};
use pgwire::error::ErrorInfo;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{process_error, process_message, PgWireMessageServerCodec};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const SSL_REQUEST_CODE: i32 = 80_877_103;
const GSSENC_REQUEST_CODE: i32 = 80_877_104;

/// Limits applied to every connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a client may take from connect to authenticated.
    pub startup_timeout: Duration,
    /// The largest message a client may send.
    pub max_message_bytes: usize,
}

/// Serve one client until it disconnects or breaks the protocol.
pub async fn serve(mut socket: TcpStream, handlers: Arc<Handlers>, limits: Limits) -> io::Result<()> {
    let peer = socket.peer_addr()?;
    let read = match tokio::time::timeout(limits.startup_timeout, decline_encryption(&mut socket)).await {
        Ok(read) => read?,
        Err(_) => return Ok(()),
    };
    let violation: ViolationSlot = Arc::new(Mutex::new(None));
    let checked = Checked::new(socket, read, limits.max_message_bytes, Arc::clone(&violation));
    let mut socket = Framed::new(checked, PgWireMessageServerCodec::new(DefaultClient::new(peer, false)));
    socket.set_state(PgWireConnectionState::AwaitingStartup);

    let startup = handlers.startup_handler();
    let simple = handlers.simple_query_handler();
    let extended = handlers.extended_query_handler();
    let copy = handlers.copy_handler();
    let cancel = handlers.cancel_handler();
    let startup_deadline = tokio::time::sleep(limits.startup_timeout);
    tokio::pin!(startup_deadline);
    loop {
        let starting =
            matches!(socket.state(), PgWireConnectionState::AwaitingStartup | PgWireConnectionState::AuthenticationInProgress);
        let message = if starting {
            tokio::select! {
                _ = &mut startup_deadline => None,
                m = socket.next() => m,
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
            process_error(&mut socket, e, extended_message).await?;
        }
    }
    Ok(())
}

/// Answer SSLRequest / GSSENCRequest with `N` (no encryption) until the
/// client sends something else; return the bytes read of that.
async fn decline_encryption(socket: &mut TcpStream) -> io::Result<BytesMut> {
    loop {
        let mut head = [0u8; 8];
        let mut n = 0;
        while n < 8 {
            let got = socket.read(&mut head[n..]).await?;
            if got == 0 {
                return Ok(BytesMut::from(&head[..n]));
            }
            n += got;
        }
        let len = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let code = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if len == 8 && (code == SSL_REQUEST_CODE || code == GSSENC_REQUEST_CODE) {
            socket.write_all(b"N").await?;
            continue;
        }
        return Ok(BytesMut::from(&head[..]));
    }
}
