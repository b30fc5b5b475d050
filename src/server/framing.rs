//! The client's byte stream, checked message by message before pgwire
//! decodes it.
//!
//! pgwire trusts the lengths inside a message: a Bind that declares a
//! parameter longer than the message reads into the next message or
//! panics, and a huge declared length is buffered in full. [`Checked`]
//! wraps the socket and passes on only whole messages whose framing is
//! sound: a known message type, a length within `server.max_message_bytes`,
//! and (for the extended-query messages) counts and lengths that add up.
//! The first violation is recorded as a [`Violation`] (08P01, or 54000 for
//! an oversized message), the stream ends, and the connection loop sends
//! it to the client as a FATAL error, as PostgreSQL does.

use crate::error::SqlState;
use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Why a connection's input was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub state: SqlState,
    pub message: String,
    pub hint: Option<String>,
}

impl Violation {
    fn protocol(message: impl Into<String>) -> Self {
        Violation { state: SqlState::ProtocolViolation, message: message.into(), hint: None }
    }
}

/// Where the first violation is kept for the connection loop.
pub type ViolationSlot = Arc<Mutex<Option<Violation>>>;

/// The start-up packet's limit (PostgreSQL's own is 10000 bytes).
const MAX_STARTUP_PACKET: usize = 10_000;

/// A socket whose reads yield only whole, well-framed messages.
pub struct Checked<S> {
    inner: S,
    max_message: usize,
    started: bool,
    /// Read from the socket, not yet checked.
    pending: BytesMut,
    /// Checked, not yet handed to the reader.
    ready: BytesMut,
    eof: bool,
    violation: ViolationSlot,
}

impl<S> Checked<S> {
    /// `read` holds bytes already read from `inner` (the start of the
    /// start-up packet, read while negotiating encryption).
    pub fn new(inner: S, read: BytesMut, max_message: usize, violation: ViolationSlot) -> Self {
        Checked { inner, max_message, started: false, pending: read, ready: BytesMut::new(), eof: false, violation }
    }

    fn violated(&self) -> bool {
        self.violation.lock().map(|v| v.is_some()).unwrap_or(true)
    }

    /// The length of the next whole message in `pending`, if it has one.
    fn next_message(&mut self) -> Result<Option<usize>, Violation> {
        if !self.started {
            let Some(len) = read_i32(&self.pending, 0) else { return Ok(None) };
            if !(8..=MAX_STARTUP_PACKET as i32).contains(&len) {
                return Err(Violation::protocol(format!("invalid length of startup packet: {len}")));
            }
            if self.pending.len() < len as usize {
                return Ok(None);
            }
            check_startup(&self.pending[4..len as usize])?;
            self.started = true;
            return Ok(Some(len as usize));
        }
        if self.pending.len() < 5 {
            return Ok(None);
        }
        let kind = self.pending[0];
        let len = read_i32(&self.pending, 1).unwrap_or(0);
        if !b"BCdcfDEHFPpQSX".contains(&kind) {
            return Err(Violation::protocol(format!("invalid frontend message type {kind}")));
        }
        if len < 4 {
            return Err(Violation::protocol(format!("invalid message length {len}")));
        }
        if len as usize > self.max_message {
            return Err(Violation {
                state: SqlState::ProgramLimitExceeded,
                message: format!(
                    "message of {len} bytes is longer than the server's limit of {} bytes",
                    self.max_message
                ),
                hint: Some("send smaller parameters or query text, or raise server.max_message_bytes".into()),
            });
        }
        let total = 1 + len as usize;
        if self.pending.len() < total {
            return Ok(None);
        }
        check_body(kind, &self.pending[5..total])?;
        Ok(Some(total))
    }
}

fn read_i32(buf: &[u8], at: usize) -> Option<i32> {
    let bytes = buf.get(at..at + 4)?;
    Some(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// CancelRequest's code in the start-up packet's version field.
const CANCEL_REQUEST_CODE: i32 = 80_877_102;

/// The start-up packet after its length: a protocol version and
/// name/value string pairs ending with one zero byte, which must be the
/// packet's last (pgwire reads parameters past the packet's end, and
/// bytes after the terminator would be decoded as the next message); or
/// a CancelRequest of exactly a process id and a 4-byte key.
fn check_startup(body: &[u8]) -> Result<(), Violation> {
    let mut b = Body(body);
    if b.i32()? == CANCEL_REQUEST_CODE {
        b.bytes(8)?;
        return b.end();
    }
    let layout = || Violation::protocol("invalid startup packet layout: expected terminator as last byte");
    loop {
        match b.0 {
            [0] => return Ok(()),
            [] | [0, ..] => return Err(layout()),
            _ => {}
        }
        b.cstring()?;
        if b.0.is_empty() {
            return Err(layout());
        }
        // A value may be empty.
        b.cstring()?;
    }
}

/// The fields of a message body, read with bounds checks.
struct Body<'a>(&'a [u8]);

impl Body<'_> {
    fn short() -> Violation {
        Violation::protocol("insufficient data left in message")
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], Violation> {
        if self.0.len() < n {
            return Err(Self::short());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, Violation> {
        let b = self.bytes(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, Violation> {
        let b = self.bytes(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn count(&mut self) -> Result<usize, Violation> {
        let n = self.i16()?;
        usize::try_from(n).map_err(|_| Violation::protocol(format!("invalid count {n} in message")))
    }

    fn cstring(&mut self) -> Result<(), Violation> {
        match self.0.iter().position(|&b| b == 0) {
            Some(end) => {
                std::str::from_utf8(&self.0[..end])
                    .map_err(|_| Violation::protocol("invalid UTF-8 in a message string"))?;
                self.0 = &self.0[end + 1..];
                Ok(())
            }
            None => Err(Violation::protocol("invalid string in message: no terminating zero byte")),
        }
    }

    fn end(&self) -> Result<(), Violation> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Violation::protocol("invalid message format: unexpected data at the end of the message"))
        }
    }
}

/// Check the fields of the messages pgwire decodes field by field.
fn check_body(kind: u8, body: &[u8]) -> Result<(), Violation> {
    let mut b = Body(body);
    match kind {
        b'Q' | b'f' => b.cstring()?,
        b'P' => {
            b.cstring()?;
            b.cstring()?;
            let n = b.count()?;
            b.bytes(n * 4)?;
        }
        b'B' => check_bind(&mut b)?,
        b'D' | b'C' => {
            let target = b.bytes(1)?[0];
            if target != b'S' && target != b'P' {
                return Err(Violation::protocol(format!("invalid DESCRIBE/CLOSE message subtype {target}")));
            }
            b.cstring()?;
        }
        b'E' => {
            b.cstring()?;
            b.i32()?;
        }
        b'S' | b'H' | b'X' | b'c' => {}
        // CopyData, password/SASL and function-call bodies are opaque here.
        _ => return Ok(()),
    }
    b.end()
}

/// Bind: portal, statement, parameter formats, parameter values (each a
/// length, -1 for NULL, then that many bytes), result formats.
fn check_bind(b: &mut Body) -> Result<(), Violation> {
    b.cstring()?;
    b.cstring()?;
    let formats = b.count()?;
    for _ in 0..formats {
        check_format(b.i16()?)?;
    }
    let params = b.count()?;
    if formats > 1 && formats != params {
        return Err(Violation::protocol(format!(
            "bind message has {formats} parameter formats but {params} parameters"
        )));
    }
    for _ in 0..params {
        let len = b.i32()?;
        if len < -1 {
            return Err(Violation::protocol(format!("invalid parameter length {len}")));
        }
        if len > 0 {
            b.bytes(len as usize)?;
        }
    }
    let results = b.count()?;
    for _ in 0..results {
        check_format(b.i16()?)?;
    }
    Ok(())
}

fn check_format(code: i16) -> Result<(), Violation> {
    match code {
        0 | 1 => Ok(()),
        other => Err(Violation::protocol(format!("unsupported format code: {other}"))),
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Checked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.ready.is_empty() {
                let n = this.ready.len().min(buf.remaining());
                buf.put_slice(&this.ready[..n]);
                this.ready.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.violated() {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "protocol violation")));
            }
            match this.next_message() {
                Ok(Some(n)) => {
                    this.ready = this.pending.split_to(n);
                    continue;
                }
                Ok(None) => {}
                Err(v) => {
                    if let Ok(mut slot) = this.violation.lock() {
                        *slot = Some(v);
                    }
                    continue;
                }
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                this.eof = true;
            }
            this.pending.extend_from_slice(read.filled());
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Checked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
