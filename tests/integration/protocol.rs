//! Malformed and oversized protocol messages, sent byte by byte: each gets
//! an ErrorResponse with its SQLSTATE, and the server goes on serving
//! everyone else.

use crate::common::{engine_in, TestServer};
use glaux::config::Config;
use glaux::engine::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A message: type byte, length, body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend(((body.len() + 4) as i32).to_be_bytes());
    out.extend(body);
    out
}

/// Connect, start up as user `tester` on database glaux, and wait for
/// ReadyForQuery.
async fn started(server: &TestServer) -> TcpStream {
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    let mut body = 196_608i32.to_be_bytes().to_vec();
    body.extend(b"user\0tester\0database\0glaux\0\0");
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend(body);
    socket.write_all(&packet).await.unwrap();
    loop {
        let (kind, _) = read_message(&mut socket).await.expect("start-up reply");
        if kind == b'Z' {
            return socket;
        }
    }
}

async fn read_message(socket: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let kind = socket.read_u8().await.ok()?;
    let len = socket.read_i32().await.ok()?;
    let mut body = vec![0; len as usize - 4];
    socket.read_exact(&mut body).await.ok()?;
    Some((kind, body))
}

/// The next ErrorResponse's severity, SQLSTATE and message.
async fn error_response(socket: &mut TcpStream) -> (String, String, String) {
    loop {
        let (kind, body) = read_message(socket).await.expect("an ErrorResponse before the connection closed");
        if kind != b'E' {
            continue;
        }
        let mut fields = std::collections::HashMap::new();
        for field in body.split(|b| *b == 0).filter(|f| !f.is_empty()) {
            fields.insert(field[0], String::from_utf8_lossy(&field[1..]).into_owned());
        }
        return (fields[&b'S'].clone(), fields[&b'C'].clone(), fields[&b'M'].clone());
    }
}

async fn closed(socket: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(tokio::time::timeout(std::time::Duration::from_secs(5), socket.read_to_end(&mut rest)).await, Ok(Ok(_)))
}

async fn still_serving(server: &TestServer) {
    let client = server.connect().await;
    let row = client.query_one("SELECT 40 + 2", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
}

async fn server_with(max_message_bytes: &str) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(&dir.path().join("glaux"));
    config.set("server.max_message_bytes", max_message_bytes).unwrap();
    let engine = Engine::open(config).await.unwrap();
    (TestServer::start(engine).await, dir)
}

/// Parse `SELECT $1::bigint` as statement "s", then a Bind of it with
/// `params` (format codes, then values) and a Sync.
fn bind(formats: &[i16], values: &[Option<&[u8]>], declared_len: Option<i32>) -> Vec<u8> {
    let mut parse = b"s\0SELECT $1::bigint\0".to_vec();
    parse.extend(0i16.to_be_bytes());
    let mut body = b"\0s\0".to_vec();
    body.extend((formats.len() as i16).to_be_bytes());
    for f in formats {
        body.extend(f.to_be_bytes());
    }
    body.extend((values.len() as i16).to_be_bytes());
    for v in values {
        match v {
            None => body.extend((-1i32).to_be_bytes()),
            Some(v) => {
                body.extend(declared_len.unwrap_or(v.len() as i32).to_be_bytes());
                body.extend(*v);
            }
        }
    }
    body.extend(0i16.to_be_bytes());
    let mut out = message(b'P', &parse);
    out.extend(message(b'B', &body));
    out.extend(message(b'E', b"\0\0\0\0\0"));
    out.extend(message(b'S', b""));
    out
}

#[tokio::test]
async fn an_unknown_message_type_is_fatal_08p01() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut socket = started(&server).await;
    socket.write_all(&message(b'Z', b"")).await.unwrap();
    let (severity, code, text) = error_response(&mut socket).await;
    assert_eq!((severity.as_str(), code.as_str()), ("FATAL", "08P01"), "{text}");
    assert!(text.contains("invalid frontend message type 90"), "{text}");
    assert!(closed(&mut socket).await);
    still_serving(&server).await;
}

#[tokio::test]
async fn bad_lengths_and_counts_are_fatal_08p01() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("length below 4", vec![b'Q', 0, 0, 0, 2]),
        ("query without its terminating zero", message(b'Q', b"SELECT 1")),
        ("sync with a body", message(b'S', b"x")),
        ("describe of neither statement nor portal", message(b'D', b"Xs\0")),
        // The parameter claims 1000 bytes; the message holds 8.
        ("parameter longer than the message", bind(&[1], &[Some(&7i64.to_be_bytes())], Some(1000))),
        ("negative parameter length", bind(&[1], &[Some(&7i64.to_be_bytes())], Some(-5))),
        ("format code 7", bind(&[7], &[Some(b"7")], None)),
    ];
    // Three format codes for one parameter.
    cases.push(("format count mismatch", bind(&[0, 0, 0], &[Some(b"7")], None)));
    for (what, bytes) in cases {
        let mut socket = started(&server).await;
        socket.write_all(&bytes).await.unwrap();
        let (severity, code, text) = error_response(&mut socket).await;
        assert_eq!((severity.as_str(), code.as_str()), ("FATAL", "08P01"), "{what}: {text}");
        assert!(closed(&mut socket).await, "{what}");
    }
    still_serving(&server).await;
}

#[tokio::test]
async fn an_oversized_message_is_refused_before_it_is_read() {
    let (server, _dir) = server_with("4096").await;
    let mut socket = started(&server).await;
    // Only the header of a 100 MB query is sent: the server must answer
    // without waiting for (or buffering) the rest.
    let mut header = vec![b'Q'];
    header.extend(100_000_000i32.to_be_bytes());
    socket.write_all(&header).await.unwrap();
    let (severity, code, text) = error_response(&mut socket).await;
    assert_eq!((severity.as_str(), code.as_str()), ("FATAL", "54000"), "{text}");
    assert!(text.contains("100000000") && text.contains("4096"), "{text}");
    // A parameter over the limit, in a message that is otherwise sound.
    let mut socket = started(&server).await;
    let big = vec![b'1'; 5000];
    socket.write_all(&bind(&[0], &[Some(&big)], None)).await.unwrap();
    let (_, code, _) = error_response(&mut socket).await;
    assert_eq!(code, "54000");
    still_serving(&server).await;
}

#[tokio::test]
async fn a_bad_binary_parameter_is_an_error_and_the_session_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut socket = started(&server).await;
    // A binary int8 must be 8 bytes; this one is 3.
    socket.write_all(&bind(&[1], &[Some(&[1, 2, 3])], None)).await.unwrap();
    let (severity, code, text) = error_response(&mut socket).await;
    assert_eq!((severity.as_str(), code.as_str()), ("ERROR", "22P03"), "{text}");
    // The same connection still answers.
    socket.write_all(&message(b'Q', b"SELECT 1\0")).await.unwrap();
    let mut saw_row = false;
    loop {
        let (kind, body) = read_message(&mut socket).await.expect("reply");
        if kind == b'D' {
            saw_row = body.ends_with(b"1");
        }
        if kind == b'Z' && saw_row {
            break;
        }
    }
}

#[tokio::test]
async fn garbage_instead_of_a_startup_packet_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (severity, code, text) = error_response(&mut socket).await;
    assert_eq!((severity.as_str(), code.as_str()), ("FATAL", "08P01"), "{text}");
    still_serving(&server).await;
}
