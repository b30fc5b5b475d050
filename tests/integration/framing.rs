//! Property tests of the pure decoding logic in front of pgwire: the
//! message framing (`server::framing::Checked`) and the Bind value checks
//! (`pgtypes::params::check`), each over thousands of seeded random and
//! mutated inputs (`GLAUX_FUZZ_SEED` picks the seed).
//!
//! - The framing does not depend on how TCP splits the stream: the same
//!   bytes read one at a time, in random pieces or whole give the same
//!   messages and the same violation.
//! - What it passes on is always a prefix of what was sent, made of whole
//!   messages; a stream of well-formed messages passes whole.
//! - A Bind value check never panics, accepts what PostgreSQL's own
//!   encoders write, and refuses a numeric digit of 10000 or more.

use crate::fuzz::{fuzzed_startup, mutate, template, valid_startup, Rng};
use bytes::{BufMut, BytesMut};
use glaux::server::framing::{Checked, Violation, ViolationSlot};
use pgwire::api::Type;
use postgres_types::{IsNull, ToSql};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

const CASES: usize = 3000;
const MAX_MESSAGE: usize = 1 << 20;

fn seed() -> u64 {
    std::env::var("GLAUX_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7) | 1
}

/// A socket that hands out `data` in pieces of the given sizes.
struct Pieces {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    next: usize,
}

impl AsyncRead for Pieces {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let size = this.sizes.get(this.next).copied().unwrap_or(usize::MAX).max(1);
        this.next += 1;
        let n = size.min(this.data.len() - this.at).min(buf.remaining());
        buf.put_slice(&this.data[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

/// What the framing passes on from `data` read in `sizes` pieces, and
/// the violation it recorded.
fn frame(data: &[u8], sizes: Vec<usize>) -> (Vec<u8>, Option<Violation>) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(async {
        let slot = ViolationSlot::default();
        let socket = Pieces { data: data.to_vec(), at: 0, sizes, next: 0 };
        let mut checked = Checked::new(socket, BytesMut::new(), MAX_MESSAGE, std::sync::Arc::clone(&slot));
        let mut out = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            match checked.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        let violation = slot.lock().expect("slot").clone();
        (out, violation)
    })
}

/// The lengths of the whole messages `passed` holds after its start-up
/// packet, or None if it does not split into whole messages.
fn whole_messages(passed: &[u8]) -> Option<usize> {
    if passed.is_empty() {
        return Some(0);
    }
    let startup = i32::from_be_bytes(passed.get(..4)?.try_into().ok()?) as usize;
    let mut at = startup;
    let mut count = 0;
    while at < passed.len() {
        let len = i32::from_be_bytes(passed.get(at + 1..at + 5)?.try_into().ok()?);
        at += 1 + usize::try_from(len).ok()?;
        count += 1;
    }
    (at == passed.len()).then_some(count)
}

/// A session: a start-up packet and some messages, each possibly mutated.
fn session(rng: &mut Rng, mutated: bool) -> Vec<u8> {
    let mut data = if mutated { fuzzed_startup(rng) } else { valid_startup() };
    for _ in 0..rng.below(12) {
        let m = template(rng);
        data.extend(if mutated { mutate(rng, m) } else { m });
    }
    data
}

fn random_sizes(rng: &mut Rng, len: usize) -> Vec<usize> {
    (0..len + 1).map(|_| 1 + rng.below(64)).collect()
}

#[test]
fn framing_is_the_same_however_the_stream_is_split() {
    let mut rng = Rng(seed());
    for case in 0..CASES {
        let data = session(&mut rng, case % 4 != 0);
        let whole = frame(&data, vec![usize::MAX]);
        let bytewise = frame(&data, vec![1; data.len() + 1]);
        let pieces = frame(&data, random_sizes(&mut rng, data.len()));
        assert_eq!(whole, bytewise, "case {case}: read byte by byte, {} bytes", data.len());
        assert_eq!(whole, pieces, "case {case}: read in random pieces, {} bytes", data.len());
    }
}

#[test]
fn framing_passes_on_only_whole_messages_of_what_was_sent() {
    let mut rng = Rng(seed() ^ 0x9E37_79B9);
    let mut refused = 0;
    for case in 0..CASES {
        let mutated = case % 3 != 0;
        let data = session(&mut rng, mutated);
        let (passed, violation) = frame(&data, random_sizes(&mut rng, data.len()));
        assert!(data.starts_with(&passed), "case {case}: passed on bytes that were not sent");
        assert!(whole_messages(&passed).is_some(), "case {case}: passed on part of a message");
        if !mutated {
            assert_eq!(violation, None, "case {case}: a well-formed session was refused");
            assert_eq!(passed, data, "case {case}: a well-formed session was not passed whole");
        }
        if let Some(v) = violation {
            assert!(!v.message.is_empty());
            assert!(passed.len() < data.len(), "case {case}: a violation with every byte passed on");
            refused += 1;
        }
    }
    // The mutated sessions are hostile enough to be refused often.
    assert!(refused > CASES / 4, "only {refused} of {CASES} sessions were refused");
}

/// `value` as PostgreSQL's binary encoder writes it for `ty`.
fn encoded<T: ToSql>(value: T, ty: &Type) -> Vec<u8> {
    let mut out = BytesMut::new();
    match value.to_sql(ty, &mut out).expect("encodes") {
        IsNull::No => out.to_vec(),
        IsNull::Yes => Vec::new(),
    }
}

/// A binary numeric as numeric_send writes it, from random digits.
fn numeric(rng: &mut Rng, digit_limit: u16) -> Vec<u8> {
    let ndigits = rng.below(8) as u16;
    let mut out = BytesMut::new();
    out.put_u16(ndigits);
    out.put_i16(rng.below(40) as i16 - 20);
    out.put_u16(*[0x0000u16, 0x4000].get(rng.below(2)).unwrap_or(&0));
    out.put_u16(rng.below(30) as u16);
    for _ in 0..ndigits {
        out.put_u16((rng.next() % u64::from(digit_limit)) as u16);
    }
    out.to_vec()
}

#[test]
fn bind_value_checks_accept_real_encodings_and_never_panic() {
    use glaux::pgtypes::params::check;
    let mut rng = Rng(seed() ^ 0x5151);
    let types = [
        Type::BOOL,
        Type::INT2,
        Type::INT4,
        Type::INT8,
        Type::FLOAT4,
        Type::FLOAT8,
        Type::TEXT,
        Type::NUMERIC,
        Type::DATE,
        Type::TIMESTAMP,
        Type::INTERVAL,
        Type::UUID,
        Type::INT4_ARRAY,
        Type::INT8_ARRAY,
        Type::TEXT_ARRAY,
        Type::NUMERIC_ARRAY,
        Type::BYTEA,
    ];
    for case in 0..CASES * 3 {
        // Random bytes and mutated real values: an answer, never a panic.
        let ty = &types[rng.below(types.len())];
        let len = rng.below(48);
        let mut value = rng.bytes(len);
        if case % 2 == 0 && value.len() >= 4 {
            let dims = [1i32, 6, 7, -1, i32::MAX][rng.below(5)];
            value[..4].copy_from_slice(&dims.to_be_bytes());
        }
        let _ = check(0, ty, rng.below(2) == 1, &value);

        // What PostgreSQL's encoders write is accepted.
        let n = rng.next();
        let array: Vec<i32> = (0..rng.below(20)).map(|_| rng.next() as i32).collect();
        let texts: Vec<String> = (0..rng.below(5)).map(|i| format!("t{i}\u{e9}")).collect();
        let good = [
            (Type::BOOL, encoded(n.is_multiple_of(2), &Type::BOOL)),
            (Type::INT2, encoded(n as i16, &Type::INT2)),
            (Type::INT4, encoded(n as i32, &Type::INT4)),
            (Type::INT8, encoded(n as i64, &Type::INT8)),
            (Type::FLOAT8, encoded(f64::from_bits(n), &Type::FLOAT8)),
            (Type::TEXT, encoded(format!("v{n}"), &Type::TEXT)),
            (Type::INT4_ARRAY, encoded(array, &Type::INT4_ARRAY)),
            (Type::TEXT_ARRAY, encoded(texts, &Type::TEXT_ARRAY)),
            (Type::NUMERIC, numeric(&mut rng, 10_000)),
        ];
        for (ty, value) in &good {
            if let Err(e) = check(0, ty, true, value) {
                panic!("case {case}: a real {ty} value was refused: {e} ({value:?})");
            }
        }
        // A numeric digit must be below 10000.
        let mut bad = numeric(&mut rng, 10_000);
        if bad.len() > 8 {
            bad[8..10].copy_from_slice(&(10_000 + rng.below(50_000) as u16).to_be_bytes());
            assert!(
                check(0, &Type::NUMERIC, true, &bad).is_err(),
                "case {case}: a digit of 10000 or more was accepted"
            );
        }
    }
}
