//! The per-query limits a session may set for itself, and how they meet
//! its workgroup's: `statement_timeout`, `glaux.bytes_scanned_cutoff_per_query`
//! and `glaux.query_memory_limit`. When the workgroup's
//! `allow_user_override` is true, a session's value replaces the
//! workgroup's. When it is false, a session may only tighten a limit: the
//! stricter of the two holds.

use crate::catalog::Workgroup;

pub const CUTOFF_SETTING: &str = "glaux.bytes_scanned_cutoff_per_query";
pub const MEMORY_SETTING: &str = "glaux.query_memory_limit";
/// The value of those two settings that leaves the workgroup's limit.
pub const FROM_WORKGROUP: &str = "workgroup";

/// What a session set. `None`: not set (the workgroup's holds);
/// `Some(None)`: set to no limit (`none`, or `0` for `statement_timeout`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub statement_timeout_ms: Option<Option<u64>>,
    pub bytes_scanned_cutoff: Option<Option<u64>>,
    pub query_memory_limit: Option<Option<u64>>,
}

impl SessionLimits {
    /// From the session's settings: `setting(name)` is the value the
    /// session set, if it set one.
    pub fn from_settings(setting: impl Fn(&str) -> Option<String>) -> SessionLimits {
        let size =
            |name| setting(name).filter(|v| !v.eq_ignore_ascii_case(FROM_WORKGROUP)).and_then(|v| parse_size_limit(&v));
        SessionLimits {
            statement_timeout_ms: setting("statement_timeout")
                .and_then(|v| v.parse::<u64>().ok())
                .map(|ms| (ms > 0).then_some(ms)),
            bytes_scanned_cutoff: size(CUTOFF_SETTING),
            query_memory_limit: size(MEMORY_SETTING),
        }
    }

    /// `wg`'s limits as this session's queries run under them.
    pub fn apply(&self, wg: &mut Workgroup) {
        let allow = wg.allow_user_override;
        wg.statement_timeout_ms = combine(wg.statement_timeout_ms, self.statement_timeout_ms, allow);
        wg.bytes_scanned_cutoff_per_query =
            combine(wg.bytes_scanned_cutoff_per_query, self.bytes_scanned_cutoff, allow);
        wg.query_memory_limit = combine(wg.query_memory_limit, self.query_memory_limit, allow);
    }

    /// After a SET of `setting`: what the session is told when `wg` keeps
    /// its own, stricter, limit (it allows no overrides).
    pub fn held_notice(&self, wg: &Workgroup, setting: &str) -> Option<String> {
        let held = self.held_by(wg, setting)?;
        Some(format!("workgroup {} does not let sessions loosen its {held}; its queries keep that limit", wg.name))
    }

    /// Whether `wg` keeps the session's value of `setting` from taking
    /// effect (it allows no overrides, and the value is looser than its
    /// own): then the workgroup's option and value, e.g.
    /// `statement_timeout (60000 ms)`.
    fn held_by(&self, wg: &Workgroup, setting: &str) -> Option<String> {
        let (option, own, asked, show): (&str, _, _, fn(u64) -> String) = match setting {
            "statement_timeout" => {
                ("statement_timeout", wg.statement_timeout_ms, self.statement_timeout_ms, |ms| format!("{ms} ms"))
            }
            CUTOFF_SETTING => (
                "bytes_scanned_cutoff_per_query",
                wg.bytes_scanned_cutoff_per_query,
                self.bytes_scanned_cutoff,
                super::human_bytes,
            ),
            MEMORY_SETTING => {
                ("query_memory_limit", wg.query_memory_limit, self.query_memory_limit, super::human_bytes)
            }
            _ => return None,
        };
        let (asked, own) = (asked?, own?);
        (combine(Some(own), Some(asked), wg.allow_user_override) != asked).then(|| format!("{option} ({})", show(own)))
    }
}

/// `none` or a size (`512MB`): the value of a size limit setting.
pub fn parse_size_limit(text: &str) -> Option<Option<u64>> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Some(None);
    }
    super::parse_bytes(text).map(Some)
}

/// The limit that holds: the workgroup's when the session set none; the
/// session's when it may override; else the stricter (`None` is no limit).
fn combine(workgroup: Option<u64>, session: Option<Option<u64>>, may_override: bool) -> Option<u64> {
    match (session, workgroup) {
        (None, w) => w,
        (Some(s), _) if may_override => s,
        (Some(Some(s)), Some(w)) => Some(s.min(w)),
        (Some(s), w) => w.or(s),
    }
}
