//! The protocol fuzzer: seeded random and mutated frontend messages of
//! every type, sent in every session state (start-up, authenticated,
//! inside an extended-protocol exchange, inside a failed transaction),
//! each on its own connection bounded in time, against the `glaux`
//! binary, while a healthy client alongside must never see an error or a
//! stall. The server must not crash or panic, and its memory must settle.
//!
//! CI runs `GLAUX_FUZZ_CASES` cases (default 10,000); `bench/fuzz.sh` runs
//! a million against the release binary (`GLAUX_SERVER_UNDER_TEST`) and records
//! the figures in docs/benchmarks.md. `GLAUX_FUZZ_SEED` picks the seed,
//! `GLAUX_FUZZ_WORKERS` how many connections are open at once (32).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// xorshift64*: small, seeded, reproducible.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Fewer than `max` random bytes.
    fn upto(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend(((body.len() + 4) as i32).to_be_bytes());
    out.extend(body);
    out
}

fn startup(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend(k.as_bytes());
        body.push(0);
        body.extend(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

pub(crate) fn valid_startup() -> Vec<u8> {
    startup(&[("user", "fuzz"), ("database", "glaux"), ("application_name", "fuzz")])
}

/// Statements the messages carry: ordinary, catalog, and hostile ones.
const SQL: &[&str] = &[
    "SELECT 1",
    "SELECT $1::int",
    "SELECT $1::text, $2::bigint",
    "SELECT * FROM generate_series(1, 100)",
    "SELECT relname FROM pg_catalog.pg_class",
    "SELECT 't'::regclass",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SELECT 1/0",
    "SHOW TABLES",
    "SET application_name = 'x'",
    "COPY (SELECT 1) TO STDOUT",
    "SELECT $2147483648",
    "SELECT $0",
    "DECLARE c CURSOR FOR SELECT 1",
    "FETCH 1 FROM c",
    "",
    ";;",
    "SELECT '\u{1F600}'",
];

fn cstring(out: &mut Vec<u8>, s: &str) {
    out.extend(s.as_bytes());
    out.push(0);
}

/// A well-formed message of a random frontend type.
pub(crate) fn template(rng: &mut Rng) -> Vec<u8> {
    let sql = *rng.pick(SQL);
    let name = *rng.pick(&["", "s1", "c"]);
    match rng.below(14) {
        0 => {
            let mut b = Vec::new();
            cstring(&mut b, sql);
            message(b'Q', &b)
        }
        1 => {
            let mut b = Vec::new();
            cstring(&mut b, name);
            cstring(&mut b, sql);
            let n = rng.below(3);
            b.extend((n as i16).to_be_bytes());
            for _ in 0..n {
                b.extend(rng.pick(&[0u32, 23, 25, 20, 1007, 1700, 16, 1186]).to_be_bytes());
            }
            message(b'P', &b)
        }
        2 => {
            let mut b = Vec::new();
            cstring(&mut b, "");
            cstring(&mut b, name);
            let n = rng.below(3);
            let formats = rng.below(2);
            b.extend((formats as i16).to_be_bytes());
            for _ in 0..formats {
                b.extend((rng.below(2) as i16).to_be_bytes());
            }
            b.extend((n as i16).to_be_bytes());
            for _ in 0..n {
                let value = rng.upto(20);
                b.extend((value.len() as i32).to_be_bytes());
                b.extend(value);
            }
            b.extend(0i16.to_be_bytes());
            message(b'B', &b)
        }
        3 => {
            let mut b = Vec::new();
            cstring(&mut b, "");
            b.extend(rng.pick(&[0i32, 1, 2, -1, i32::MAX, i32::MIN, 1000]).to_be_bytes());
            message(b'E', &b)
        }
        4 | 5 => {
            let mut b = vec![*rng.pick(b"SP")];
            cstring(&mut b, name);
            message(if rng.chance(50) { b'D' } else { b'C' }, &b)
        }
        6 => message(b'S', b""),
        7 => message(b'H', b""),
        8 => message(b'd', &rng.upto(64)),
        9 => message(b'c', b""),
        10 => {
            let mut b = Vec::new();
            cstring(&mut b, "stop");
            message(b'f', &b)
        }
        11 => message(b'p', &rng.upto(64)),
        12 => message(b'F', &rng.upto(32)),
        _ => message(b'X', b""),
    }
}

/// A message, mutated or not.
pub(crate) fn mutate(rng: &mut Rng, mut m: Vec<u8>) -> Vec<u8> {
    match rng.below(8) {
        0 => m,
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(m.len());
                m[i] ^= 1 << rng.below(8);
            }
            m
        }
        2 => {
            let keep = rng.below(m.len());
            m.truncate(keep);
            m
        }
        3 => {
            let n = 1 + rng.below(64);
            m.extend(rng.bytes(n));
            m
        }
        4 if m.len() >= 5 => {
            let len = *rng.pick(&[0i32, 3, 4, -1, i32::MAX, i32::MIN, 65_536, 100_000_000]);
            m[1..5].copy_from_slice(&len.to_be_bytes());
            m
        }
        5 if m.len() >= 5 => {
            let len = i32::from_be_bytes([m[1], m[2], m[3], m[4]]);
            let off = if rng.chance(50) { 1 } else { -1 };
            m[1..5].copy_from_slice(&(len + off).to_be_bytes());
            m
        }
        6 => {
            let n = rng.below(64);
            rng.bytes(n)
        }
        _ => {
            let i = rng.below(m.len());
            let n = 1 + rng.below(8);
            let junk = rng.bytes(n);
            m.splice(i..i, junk);
            m
        }
    }
}

/// A start-up packet, mutated or not.
pub(crate) fn fuzzed_startup(rng: &mut Rng) -> Vec<u8> {
    let long = "x".repeat(rng.below(20_000));
    let base = match rng.below(5) {
        0 => valid_startup(),
        1 => startup(&[("user", "fuzz"), ("options", "-c statement_timeout=5")]),
        2 => startup(&[("user", "fuzz"), ("application_name", long.as_str())]),
        3 => startup(&[("user", "fuzz"), ("database", "nope")]),
        _ => {
            // A CancelRequest for a random key.
            let mut b = 16i32.to_be_bytes().to_vec();
            b.extend(80_877_102i32.to_be_bytes());
            b.extend(rng.bytes(8));
            b
        }
    };
    let mut m = vec![0u8];
    m.extend(base);
    let mutated = mutate(rng, m);
    mutated.get(1..).map(<[u8]>::to_vec).unwrap_or_default()
}

/// Read what the server sends until `deadline` or the connection ends.
async fn drain(socket: &mut TcpStream, deadline: Instant) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => continue,
            _ => return,
        }
    }
}

/// Read until ReadyForQuery (a 'Z' message) or `deadline`.
async fn until_ready(socket: &mut TcpStream, deadline: Instant) -> bool {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut at = 0;
        while pending.len() >= at + 5 {
            let len = i32::from_be_bytes([pending[at + 1], pending[at + 2], pending[at + 3], pending[at + 4]]) as usize;
            if pending[at] == b'Z' {
                return true;
            }
            at += 1 + len;
        }
        let Some(left) = deadline.checked_duration_since(Instant::now()) else { return false };
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => pending.extend_from_slice(&buf[..n]),
            _ => return false,
        }
    }
}

/// One case: a connection brought to a session state, then fuzzed.
async fn run_case(port: u16, seed: u64) {
    let mut rng = Rng(seed | 1);
    let Ok(mut socket) = TcpStream::connect(("127.0.0.1", port)).await else { return };
    let deadline = Instant::now() + Duration::from_millis(400);
    let state = rng.below(4);
    let mut bytes = Vec::new();
    if state == 0 {
        bytes.extend(fuzzed_startup(&mut rng));
    } else {
        if socket.write_all(&valid_startup()).await.is_err() || !until_ready(&mut socket, deadline).await {
            return;
        }
        match state {
            2 => {
                let mut p = Vec::new();
                cstring(&mut p, "");
                cstring(&mut p, "SELECT $1::int");
                p.extend(0i16.to_be_bytes());
                bytes.extend(message(b'P', &p));
                bytes.extend(message(b'B', b"\0\0\0\0\0\x01\0\0\0\x0242\0\0"));
            }
            3 => {
                bytes.extend(message(b'Q', b"BEGIN\0"));
                bytes.extend(message(b'Q', b"SELECT 1/0\0"));
            }
            _ => {}
        }
    }
    for _ in 0..1 + rng.below(4) {
        let m = template(&mut rng);
        bytes.extend(mutate(&mut rng, m));
    }
    if socket.write_all(&bytes).await.is_ok() {
        drain(&mut socket, deadline).await;
    }
}

/// The server's resident memory, in KiB.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A `glaux serve` process (`GLAUX_SERVER_UNDER_TEST`, else the one cargo
/// built), killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_server(dir: &std::path::Path) -> Server {
    let binary = std::env::var("GLAUX_SERVER_UNDER_TEST").unwrap_or_else(|_| env!("CARGO_BIN_EXE_glaux").to_string());
    let log = dir.join("server.log");
    let stderr = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(binary)
        .args(["--data-dir", dir.join("data").to_str().unwrap(), "serve", "--port", "0"])
        .env("GLAUX_MAX_CONNECTIONS", "200")
        .env("GLAUX_STARTUP_TIMEOUT_SECS", "5")
        // The crash rounds create users, which would otherwise turn on passwords.
        .env("GLAUX_AUTH", "trust")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start glaux serve");
    for _ in 0..600 {
        let mut line = String::new();
        if let Ok(f) = std::fs::File::open(&log) {
            let _ = BufReader::new(f).read_line(&mut line);
        }
        if let Some(addr) = line.split_whitespace().nth(3) {
            let port = addr.rsplit(':').next().unwrap().parse().unwrap();
            return Server { child, port, log };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("glaux serve did not start");
}

/// A client doing ordinary work the whole time: every error and every
/// answer slower than 5 s is counted.
async fn healthy_client(port: u16, stop: Arc<AtomicUsize>, errors: Arc<AtomicUsize>, slowest_ms: Arc<AtomicU64>) {
    let url = format!("host=127.0.0.1 port={port} user=healthy dbname=glaux");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("healthy client connects");
    tokio::spawn(conn);
    let prepared = client.prepare("SELECT $1::int").await.unwrap();
    while stop.load(Ordering::Relaxed) == 0 {
        let started = Instant::now();
        let ok = tokio::time::timeout(Duration::from_secs(30), async {
            client.simple_query("SELECT 1").await.is_ok()
                && client.query_one(&prepared, &[&41i32]).await.is_ok_and(|r| r.get::<_, i32>(0) == 41)
                && client.query("SELECT count(*) FROM pg_catalog.pg_namespace", &[]).await.is_ok()
        })
        .await
        .unwrap_or(false);
        if !ok {
            errors.fetch_add(1, Ordering::Relaxed);
        }
        slowest_ms.fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_fuzzer_finds_no_crash_panic_or_disturbed_client() {
    let cases: u64 = std::env::var("GLAUX_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let seed: u64 = std::env::var("GLAUX_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(12);
    let connections: usize = std::env::var("GLAUX_FUZZ_WORKERS").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(dir.path());
    let port = server.port;
    let pid = server.child.id();

    let stop = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let slowest = Arc::new(AtomicU64::new(0));
    let healthy = tokio::spawn(healthy_client(port, Arc::clone(&stop), Arc::clone(&errors), Arc::clone(&slowest)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid);

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let next = Arc::clone(&next);
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cases {
                    return;
                }
                run_case(port, seed.wrapping_mul(1_000_003).wrapping_add(i)).await;
            }
        }));
    }
    let mut rss_peak = rss_before;
    for w in workers {
        w.await.unwrap();
        rss_peak = rss_peak.max(rss_kib(pid));
    }
    let elapsed = started.elapsed();
    // Let abandoned connections close, then see where memory settles.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_kib(pid);
    stop.store(1, Ordering::Relaxed);
    healthy.await.unwrap();

    let crashed = server.child.try_wait().unwrap();
    let mut log = String::new();
    std::fs::File::open(&server.log).unwrap().read_to_string(&mut log).unwrap();
    let panics = log.matches("panicked at").count();
    println!(
        "fuzz: {cases} cases (seed {seed}) in {:.1} s; crashes {}; panics {panics}; healthy-client errors {}; \
         slowest healthy answer {} ms; server RSS {} MB before, {} MB peak, {} MB after",
        elapsed.as_secs_f64(),
        u8::from(crashed.is_some()),
        errors.load(Ordering::Relaxed),
        slowest.load(Ordering::Relaxed),
        rss_before / 1024,
        rss_peak / 1024,
        rss_after / 1024,
    );
    assert!(crashed.is_none(), "the server died: {crashed:?}\n{}", tail(&log));
    assert_eq!(panics, 0, "the server panicked:\n{}", tail(&log));
    assert_eq!(errors.load(Ordering::Relaxed), 0, "the healthy client saw errors or stalls");
    assert!(slowest.load(Ordering::Relaxed) < 5_000, "the healthy client stalled");
}

pub(crate) fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}
