//! Messages a statement leaves for its client: NOTICEs (what a query
//! scanned and cost, a limit the workgroup keeps despite a SET) and
//! WARNINGs (a workgroup over its budget whose `limit_action` is warn).
//! The server sends them as NoticeResponse after the statement; the shell
//! prints them on stderr.

use std::fmt;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Notice,
    Warning,
}

impl Severity {
    /// The severity as PostgreSQL names it on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "NOTICE",
            Severity::Warning => "WARNING",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub severity: Severity,
    pub text: String,
}

/// As the shell shows it: a NOTICE as its text, a WARNING prefixed.
impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Notice => f.write_str(&self.text),
            Severity::Warning => write!(f, "WARNING: {}", self.text),
        }
    }
}

/// A session's notices not yet given to its client, shared with the
/// query runs that add to them.
#[derive(Debug, Clone, Default)]
pub struct Notices(Arc<Mutex<Vec<Notice>>>);

impl Notices {
    pub fn push(&self, severity: Severity, text: impl Into<String>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(Notice { severity, text: text.into() });
    }

    /// The notices so far, each given once.
    pub fn take(&self) -> Vec<Notice> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
