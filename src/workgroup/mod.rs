//! Workgroups at run time: what a query may scan and what it costs.
//!
//! - [`Meter`]: the bytes one query reads, counted at the object-store
//!   boundary (`table::store::CountingStore`), with the workgroup's
//!   per-query cutoff checked on every read request: a query stops with
//!   53400 as soon as it has read more than the cutoff, so it overshoots
//!   by at most one request.
//! - [`billed_bytes`] and [`cost`]: Athena's rule: at least the
//!   workgroup's minimum (10 MB by default) per query, rounded up to the
//!   next MB (2^20 bytes), at a price per TB (2^40 bytes).
//! - [`ledger`]: the durable query history and usage.
//! - [`limits`]: the limits a session sets for itself, against its
//!   workgroup's.
//!
//! The workgroup statements are `engine/commands/workgroups.rs`.
//!
//! Must not depend on `server` or `repl`.

pub mod ledger;
pub mod limits;

use crate::error::{Error, SqlState};
use std::sync::atomic::{AtomicU64, Ordering};

const MB: u64 = 1 << 20;
const TB: f64 = (1u64 << 40) as f64;

/// The bytes a query reads (and writes), and the cutoff its reads must
/// stay under.
#[derive(Debug, Default)]
pub struct Meter {
    read: AtomicU64,
    written: AtomicU64,
    cutoff: Option<Cutoff>,
}

/// A per-query scan cutoff, and who set it.
#[derive(Debug, Clone)]
pub struct Cutoff {
    pub bytes: u64,
    pub workgroup: String,
    /// Set by the session (`glaux.bytes_scanned_cutoff_per_query`) rather
    /// than by the workgroup.
    pub by_session: bool,
}

impl Cutoff {
    /// 53400 for a query that `did` ("read 5.02 MB") more than allowed.
    pub fn exceeded(&self, did: &str) -> Error {
        let (who, hint) = if self.by_session {
            (
                "this session".to_string(),
                format!(
                    "the session set glaux.bytes_scanned_cutoff_per_query to {} bytes; RESET it for the limit of workgroup {}",
                    self.bytes, self.workgroup
                ),
            )
        } else {
            (
                format!("workgroup {}", self.workgroup),
                format!(
                    "bytes_scanned_cutoff_per_query of workgroup {} is {} bytes; add conditions on partition columns, select fewer columns, or ask an admin to raise it",
                    self.workgroup, self.bytes
                ),
            )
        };
        Error::new(SqlState::ResourceLimit, format!("{did} and {who} allows {} per query", human_bytes(self.bytes)))
            .with_hint(hint)
    }
}

impl Meter {
    /// A meter that stops the query past its cutoff.
    pub fn with_cutoff(cutoff: Option<Cutoff>) -> Meter {
        Meter { read: AtomicU64::new(0), written: AtomicU64::new(0), cutoff }
    }

    pub fn cutoff(&self) -> Option<&Cutoff> {
        self.cutoff.as_ref()
    }

    /// Bytes read so far.
    pub fn get(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// After a write of `n` bytes.
    pub fn wrote(&self, n: u64) {
        self.written.fetch_add(n, Ordering::Relaxed);
    }

    /// Before a read request: 53400 if the query is already past its cutoff.
    pub fn check(&self) -> Result<(), Error> {
        match &self.cutoff {
            Some(c) if self.get() > c.bytes => Err(over_cutoff(c, self.get())),
            _ => Ok(()),
        }
    }

    /// After a read request of `n` bytes: count them; 53400 if that
    /// crossed the cutoff.
    pub fn charge(&self, n: u64) -> Result<(), Error> {
        let total = self.read.fetch_add(n, Ordering::Relaxed) + n;
        match &self.cutoff {
            Some(c) if total > c.bytes => Err(over_cutoff(c, total)),
            _ => Ok(()),
        }
    }
}

fn over_cutoff(c: &Cutoff, read: u64) -> Error {
    c.exceeded(&format!("query stopped: it read {}", human_bytes(read)))
}

/// The bytes billed for a query that read `bytes`: at least `minimum`,
/// rounded up to the next MB.
pub fn billed_bytes(bytes: u64, minimum: u64) -> u64 {
    bytes.max(minimum).div_ceil(MB) * MB
}

/// The price of `billed` bytes at `price_per_tb` USD per TB.
pub fn cost(billed: u64, price_per_tb: f64) -> f64 {
    billed as f64 / TB * price_per_tb
}

/// `1.21 GB`, `512 B`: bytes as people read them (powers of 1024).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// A size as written in a workgroup option: `1048576`, `10MB`, `1.5 GB`
/// (B, KB, MB, GB, TB; powers of 1024).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_uppercase();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "B" => 1u64,
        "KB" | "K" | "KIB" => 1 << 10,
        "MB" | "M" | "MIB" => 1 << 20,
        "GB" | "G" | "GIB" => 1 << 30,
        "TB" | "T" | "TIB" => 1 << 40,
        _ => return None,
    };
    (number >= 0.0).then(|| (number * factor as f64).round() as u64)
}

/// A duration as written in a workgroup option: milliseconds, or with a
/// unit (`ms`, `s`, `min`, `h`).
pub fn parse_millis(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1000,
        "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(factor)
}
