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

/// The messages up to and including the next ReadyForQuery, as types and
/// bodies.
async fn until_ready(socket: &mut TcpStream) -> Vec<(u8, Vec<u8>)> {
    let mut seen = Vec::new();
    loop {
        // Generous: the debug build under the whole suite's load is slow.
        let m = tokio::time::timeout(std::time::Duration::from_secs(90), read_message(socket))
            .await
            .expect("no ReadyForQuery within 90 s")
            .expect("the connection closed before ReadyForQuery");
        let ready = m.0 == b'Z';
        seen.push(m);
        if ready {
            return seen;
        }
    }
}

fn kinds(messages: &[(u8, Vec<u8>)]) -> String {
    messages.iter().map(|(k, _)| *k as char).collect()
}

/// Parse `sql` unnamed, Bind it, then Execute with `max_rows` as often as
/// `executes` says, then Sync.
fn portal(sql: &str, max_rows: i32, executes: usize) -> Vec<u8> {
    let mut parse = b"\0".to_vec();
    parse.extend(sql.as_bytes());
    parse.extend(b"\0\0\0");
    let mut out = message(b'P', &parse);
    out.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
    for _ in 0..executes {
        let mut execute = b"\0".to_vec();
        execute.extend(max_rows.to_be_bytes());
        out.extend(message(b'E', &execute));
    }
    out.extend(message(b'S', b""));
    out
}

#[tokio::test]
async fn an_execute_row_limit_near_i32_max_streams_every_row_without_reserving_room() {
    // pgwire reserved room for the whole limit up front: 2^31-1 rows
    // aborted the server with a failed 85 GB allocation.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut socket = started(&server).await;
    socket.write_all(&portal("SELECT * FROM generate_series(1, 3)", i32::MAX, 1)).await.unwrap();
    let reply = until_ready(&mut socket).await;
    assert_eq!(kinds(&reply), "12DDDCZ");
    assert!(reply[5].1.starts_with(b"SELECT 3"), "{:?}", String::from_utf8_lossy(&reply[5].1));
    still_serving(&server).await;
}

#[tokio::test]
async fn a_negative_execute_row_limit_means_every_row() {
    // A row limit of -1 panicked the connection, which dropped silently;
    // PostgreSQL reads a limit of zero or less as no limit.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut socket = started(&server).await;
    socket.write_all(&portal("SELECT * FROM generate_series(1, 4)", -1, 1)).await.unwrap();
    assert_eq!(kinds(&until_ready(&mut socket).await), "12DDDDCZ");
    socket.write_all(&portal("SELECT * FROM generate_series(1, 2)", i32::MIN, 1)).await.unwrap();
    assert_eq!(kinds(&until_ready(&mut socket).await), "12DDCZ");
}

#[tokio::test]
async fn an_execute_row_limit_suspends_the_portal_and_the_next_execute_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut socket = started(&server).await;
    // 5 rows, 2 at a time: 2, suspended, 2, suspended, 1 and done; an
    // Execute of a finished portal completes with no rows.
    socket.write_all(&portal("SELECT * FROM generate_series(1, 5)", 2, 4)).await.unwrap();
    let reply = until_ready(&mut socket).await;
    assert_eq!(kinds(&reply), "12DDsDDsDCCZ");
    assert!(reply[9].1.starts_with(b"SELECT 1\0"));
}

#[tokio::test]
async fn bytes_after_the_startup_terminator_are_refused_08p01() {
    // Bytes after the start-up packet's final zero byte but inside its
    // declared length were decoded as a next message and panicked pgwire.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    for body in [&b"user\0tester\0\0Q\0\0\0\x05x"[..], b"user\0tester\0database", b"user\0\0", b"\0\0"] {
        let mut packet = 196_608i32.to_be_bytes().to_vec();
        packet.extend(body);
        let mut framed = ((packet.len() + 4) as i32).to_be_bytes().to_vec();
        framed.extend(packet);
        let mut socket = TcpStream::connect(server.addr).await.unwrap();
        socket.write_all(&framed).await.unwrap();
        let (severity, code, text) = error_response(&mut socket).await;
        assert_eq!((severity.as_str(), code.as_str()), ("FATAL", "08P01"), "{body:?}: {text}");
    }
    still_serving(&server).await;
}

#[tokio::test]
async fn a_startup_packet_and_a_query_in_one_write_are_both_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut body = 196_608i32.to_be_bytes().to_vec();
    body.extend(b"user\0tester\0database\0glaux\0application_name\0\0\0");
    let mut bytes = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    bytes.extend(body);
    bytes.extend(message(b'Q', b"SELECT 7\0"));
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(&bytes).await.unwrap();
    let first = until_ready(&mut socket).await;
    assert_eq!(first.last().map(|m| m.0), Some(b'Z'), "start-up: {}", kinds(&first));
    let reply = until_ready(&mut socket).await;
    assert_eq!(kinds(&reply), "TDCZ");
}

/// Parse `SELECT $1::int[]`, Bind a binary array `value`, Execute, Sync.
fn bind_array(value: &[u8]) -> Vec<u8> {
    let mut parse = b"\0SELECT cardinality($1::int[])\0".to_vec();
    parse.extend(1i16.to_be_bytes());
    parse.extend(1007u32.to_be_bytes());
    let mut body = b"\0\0".to_vec();
    body.extend(1i16.to_be_bytes());
    body.extend(1i16.to_be_bytes());
    body.extend(1i16.to_be_bytes());
    body.extend((value.len() as i32).to_be_bytes());
    body.extend(value);
    body.extend(0i16.to_be_bytes());
    let mut out = message(b'P', &parse);
    out.extend(message(b'B', &body));
    out.extend(message(b'E', b"\0\0\0\0\0"));
    out.extend(message(b'S', b""));
    out
}

#[tokio::test]
async fn an_array_parameter_declaring_2_31_elements_is_refused_22p03() {
    // The decoder reserved room for every declared element before reading
    // one: a dimension of 2^31-1 aborted the server.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut socket = started(&server).await;
    let array = |dim: i32| {
        let mut v = 1i32.to_be_bytes().to_vec();
        v.extend(0i32.to_be_bytes());
        v.extend(23u32.to_be_bytes());
        v.extend(dim.to_be_bytes());
        v.extend(1i32.to_be_bytes());
        v.extend(4i32.to_be_bytes());
        v.extend(9i32.to_be_bytes());
        v
    };
    socket.write_all(&bind_array(&array(i32::MAX))).await.unwrap();
    let (severity, code, text) = error_response(&mut socket).await;
    assert_eq!((severity.as_str(), code.as_str()), ("ERROR", "22P03"), "{text}");
    until_ready(&mut socket).await;
    // A sound one on the same connection.
    socket.write_all(&bind_array(&array(1))).await.unwrap();
    let reply = until_ready(&mut socket).await;
    assert_eq!(kinds(&reply), "12DCZ");
    assert!(reply[2].1.ends_with(b"1"));
}

#[tokio::test]
async fn a_nul_in_a_text_parameter_is_22021_and_the_connection_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let mut socket = started(&server).await;
    let mut parse = b"\0SELECT length($1::text)\0".to_vec();
    parse.extend(0i16.to_be_bytes());
    let mut bind = b"\0\0".to_vec();
    bind.extend(0i16.to_be_bytes());
    bind.extend(1i16.to_be_bytes());
    bind.extend(3i32.to_be_bytes());
    bind.extend(b"a\0b");
    bind.extend(0i16.to_be_bytes());
    let mut bytes = message(b'P', &parse);
    bytes.extend(message(b'B', &bind));
    bytes.extend(message(b'E', b"\0\0\0\0\0"));
    bytes.extend(message(b'S', b""));
    socket.write_all(&bytes).await.unwrap();
    let (severity, code, text) = error_response(&mut socket).await;
    assert_eq!((severity.as_str(), code.as_str()), ("ERROR", "22021"), "{text}");
    until_ready(&mut socket).await;
    socket.write_all(&message(b'Q', b"SELECT 1\0")).await.unwrap();
    assert_eq!(kinds(&until_ready(&mut socket).await), "TDCZ");
}

// The checks on Bind parameter values, before they are decoded.
use glaux::error::SqlState as State;
use glaux::pgtypes::params::check;
use pgwire::api::Type;

fn array(dims: &[i32], body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(dims.len() as i32).to_be_bytes());
    v.extend_from_slice(&0i32.to_be_bytes());
    v.extend_from_slice(&23u32.to_be_bytes());
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
        v.extend_from_slice(&1i32.to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

#[test]
fn param_check_an_array_cannot_declare_more_elements_than_it_holds() {
    let one = [&4i32.to_be_bytes()[..], &7i32.to_be_bytes()[..]].concat();
    assert!(check(0, &Type::INT4_ARRAY, true, &array(&[1], &one)).is_ok());
    assert!(check(0, &Type::INT4_ARRAY, true, &array(&[], &[])).is_ok());
    let huge = check(0, &Type::INT4_ARRAY, true, &array(&[i32::MAX], &one)).unwrap_err();
    assert_eq!(huge.sqlstate(), State::InvalidBinaryRepresentation);
    assert!(check(0, &Type::INT4_ARRAY, true, &array(&[65536, 65536], &one)).is_err());
    assert!(check(0, &Type::INT4_ARRAY, true, &array(&[-1], &one)).is_err());
    assert!(check(0, &Type::INT4_ARRAY, true, &array(&[1; 7], &one)).is_err());
    assert!(check(0, &Type::INT4_ARRAY, true, &[0, 0, 0, 1]).is_err());
}

#[test]
fn param_check_numerics_follow_numeric_recv() {
    // 12.5: two digits (12, 5000), weight 0, positive, scale 1.
    let good = [0, 2, 0, 0, 0, 0, 0, 1, 0, 12, 0x13, 0x88];
    assert!(check(0, &Type::NUMERIC, true, &good).is_ok());
    let mut bad_digit = good;
    bad_digit[10..12].copy_from_slice(&10_000u16.to_be_bytes());
    assert!(check(0, &Type::NUMERIC, true, &bad_digit).is_err());
    let mut bad_sign = good;
    bad_sign[4] = 0x12;
    assert!(check(0, &Type::NUMERIC, true, &bad_sign).is_err());
    let mut min_weight = good;
    min_weight[2..4].copy_from_slice(&i16::MIN.to_be_bytes());
    assert!(check(0, &Type::NUMERIC, true, &min_weight).is_ok());
    assert!(check(0, &Type::NUMERIC, true, &good[..10]).is_err());
}

#[test]
fn param_check_fixed_sizes_and_text() {
    assert!(check(0, &Type::BOOL, true, &[2]).is_ok());
    assert!(check(0, &Type::BOOL, true, &[1, 0]).is_err());
    assert!(check(0, &Type::INTERVAL, true, &[0; 15]).is_err());
    assert!(check(0, &Type::INT8, true, &[0; 8]).is_ok());
    let nul = check(1, &Type::TEXT, false, b"a\0b").unwrap_err();
    assert_eq!(nul.sqlstate(), State::CharacterNotInRepertoire);
    assert!(check(0, &Type::INT4, false, &[0xff, 0xfe]).is_err());
    assert!(check(0, &Type::INT4, false, b"42").is_ok());
}

#[tokio::test]
async fn an_idle_session_past_its_timeout_is_closed_57p05() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(&dir.path().join("glaux"));
    config.set("server.idle_session_timeout_secs", "1").unwrap();
    let server = TestServer::start(Engine::open(config).await.unwrap()).await;
    let mut socket = started(&server).await;
    // Busy is not idle: a statement that runs longer than the timeout.
    socket.write_all(&message(b'Q', b"SELECT count(*) FROM generate_series(1, 30000000)\0")).await.unwrap();
    assert_eq!(kinds(&until_ready(&mut socket).await), "TDCZ");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (severity, code, text) = error_response(&mut socket).await;
    assert_eq!((severity.as_str(), code.as_str()), ("FATAL", "57P05"), "{text}");
    assert!(closed(&mut socket).await);
    still_serving(&server).await;
}

/// Command tags are typed; each reads as PostgreSQL writes it, with the
/// row counts PostgreSQL gives data-changing statements.
#[test]
fn command_tags_read_as_postgresql_writes_them() {
    use glaux::engine::{Changed, Tag};
    assert_eq!(Tag::Done("CREATE TABLE").to_string(), "CREATE TABLE");
    assert_eq!(Tag::Begin.to_string(), "BEGIN");
    assert_eq!(Tag::End("ROLLBACK").to_string(), "ROLLBACK");
    assert_eq!(Tag::Changed { verb: Changed::Insert, rows: 3 }.to_string(), "INSERT 0 3");
    assert_eq!(Tag::Changed { verb: Changed::Delete, rows: 0 }.to_string(), "DELETE 0");
    assert_eq!(Tag::Changed { verb: Changed::Update, rows: 7 }.to_string(), "UPDATE 7");
    assert_eq!(Tag::Changed { verb: Changed::Merge, rows: 2 }.to_string(), "MERGE 2");
    assert_eq!(Tag::Changed { verb: Changed::CreateTableAs, rows: 5 }.to_string(), "SELECT 5");
}
