//! SET, SHOW and RESET of session settings, over the list in
//! `pgcatalog::settings`. Values live in the session's [`SessionView`],
//! where `current_setting()` and pg_settings read them too. A changed
//! setting PostgreSQL reports (TimeZone, application_name, ...) is queued
//! for the server to send as ParameterStatus.

use crate::error::{Error, Result, SqlState};
use crate::pgcatalog::functions::unrecognized_setting;
use crate::pgcatalog::settings::{self, Setting};
use crate::pgcatalog::SessionView;
use crate::workgroup::limits;

/// What SET does to `name`: validate and normalise `value`, store it.
/// Returns the PostgreSQL spelling of the name if it is reported to clients.
pub fn set(view: &mut SessionView, name: &str, value: &str) -> Result<Option<&'static str>> {
    let lower = name.to_ascii_lowercase();
    let Some(setting) = settings::find(&lower) else {
        // DataFusion's own settings hold for the whole server; a session
        // that set one would see it accepted and ignored.
        if lower.starts_with(crate::config::DATAFUSION_PREFIX) {
            return Err(Error::new(
                SqlState::CantChangeRuntimeParam,
                format!("parameter \"{lower}\" cannot be changed in a session"),
            )
            .with_hint("DataFusion's settings are glaux's configuration keys (datafusion.* in glaux.toml, or --set), read when glaux starts"));
        }
        // Custom settings (`myapp.mode`) are allowed, as in PostgreSQL.
        if lower.contains('.') {
            store(view, &lower, value.to_string());
            return Ok(None);
        }
        return Err(unrecognized_setting(name));
    };
    if setting.read_only {
        return Err(Error::new(
            SqlState::CantChangeRuntimeParam,
            format!("parameter \"{}\" cannot be changed", setting.name),
        ));
    }
    let value = normalize(setting, value)?;
    store(view, &lower, value);
    Ok(setting.reported.then_some(setting.name))
}

/// RESET one setting (`None`: all of them). Returns the reported settings
/// whose value changed.
pub fn reset(view: &mut SessionView, name: Option<&str>) -> Result<Vec<&'static str>> {
    let names: Vec<String> = match name {
        Some(n) => {
            let lower = n.to_ascii_lowercase();
            if settings::find(&lower).is_none() && !lower.contains('.') {
                return Err(unrecognized_setting(n));
            }
            vec![lower]
        }
        None => view.settings.iter().map(|(n, _)| n.clone()).collect(),
    };
    let mut reported = Vec::new();
    for name in names {
        view.settings.retain(|(n, _)| *n != name);
        if let Some(s) = settings::find(&name).filter(|s| s.reported) {
            reported.push(s.name);
        }
    }
    Ok(reported)
}

/// The value SHOW and current_setting() give.
pub fn show(view: &SessionView, name: &str) -> Result<String> {
    if let Some(v) = view.setting(name) {
        return Ok(v.to_string());
    }
    match name.to_ascii_lowercase().as_str() {
        "transaction isolation level" => return show(view, "transaction_isolation"),
        "session_authorization" | "session authorization" => return Ok(view.user.clone()),
        _ => {}
    }
    settings::find(name).map(|s| s.default.to_string()).ok_or_else(|| unrecognized_setting(name))
}

fn store(view: &mut SessionView, name: &str, value: String) {
    match view.settings.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value,
        None => view.settings.push((name.to_string(), value)),
    }
}

/// Check a value the way PostgreSQL would, and put it in canonical form.
fn normalize(setting: &Setting, value: &str) -> Result<String> {
    let invalid = |why: &str| {
        Error::new(
            SqlState::InvalidParameterValue,
            format!("invalid value for parameter \"{}\": \"{value}\"{why}", setting.name),
        )
    };
    // Start-up parameters may arrive quoted (asyncpg sends 'utf-8').
    let trimmed = value.trim().trim_matches('\'');
    match setting.vartype {
        "bool" => match trimmed.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" | "t" | "y" => Ok("on".into()),
            "off" | "false" | "no" | "0" | "f" | "n" => Ok("off".into()),
            _ => Err(invalid("")),
        },
        "integer" if setting.unit == Some("ms") => milliseconds(trimmed)
            .map(|n| n.to_string())
            .ok_or_else(|| invalid("; give milliseconds or a number with a unit (ms, s, min, h, d)")),
        "integer" => trimmed.parse::<i64>().map(|n| n.to_string()).map_err(|_| invalid("")),
        _ => match setting.name {
            "DateStyle" => date_style(trimmed).ok_or_else(|| invalid("; glaux writes dates in ISO style")),
            "IntervalStyle" if !trimmed.eq_ignore_ascii_case("postgres") => {
                Err(invalid("; glaux writes intervals in postgres style"))
            }
            "client_encoding"
                if !matches!(trimmed.to_ascii_uppercase().replace('-', "").as_str(), "UTF8" | "UNICODE") =>
            {
                Err(Error::new(
                    SqlState::FeatureNotSupported,
                    format!("client encoding \"{value}\" is not supported; glaux speaks UTF8"),
                ))
            }
            "client_encoding" => Ok("UTF8".into()),
            limits::CUTOFF_SETTING | limits::MEMORY_SETTING => {
                if trimmed.eq_ignore_ascii_case(limits::FROM_WORKGROUP) {
                    return Ok(limits::FROM_WORKGROUP.into());
                }
                match limits::parse_size_limit(trimmed) {
                    Some(_) => Ok(trimmed.to_string()),
                    None => Err(invalid("; give a size (512MB, 10GB), none, or workgroup")),
                }
            }
            "TimeZone" => match crate::pgtypes::arrow_time_zone(trimmed) {
                Some(_) => Ok(trimmed.to_string()),
                None => Err(invalid("; glaux knows UTC and IANA zone names (Europe/Berlin, Etc/GMT+3)")),
            },
            // PostgreSQL keeps NAMEDATALEN - 1 bytes of it, as here; a
            // longer one broke the ParameterStatus that reports it.
            "application_name" => Ok(truncated(value, MAX_NAME_BYTES).to_string()),
            _ => Ok(value.to_string()),
        },
    }
}

/// The longest `application_name` kept, in bytes (PostgreSQL's NAMEDATALEN - 1).
const MAX_NAME_BYTES: usize = 63;

/// `value` cut to at most `max` bytes at a character boundary.
fn truncated(value: &str, max: usize) -> &str {
    let mut end = value.len().min(max);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// A duration setting in milliseconds: `1500`, `1500ms`, `5s`, `1min`,
/// `2h`, `1d`, as PostgreSQL reads them.
fn milliseconds(value: &str) -> Option<i64> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit() && c != '-').unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: i64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    number.checked_mul(scale).filter(|n| *n >= 0)
}

/// `ISO`, `ISO, MDY`, `ISO, DMY`, ... -> the canonical `ISO, MDY` form.
fn date_style(value: &str) -> Option<String> {
    let mut style = "ISO";
    let mut order = "MDY";
    for part in value.split(',').map(|p| p.trim().to_ascii_uppercase()) {
        match part.as_str() {
            "ISO" => style = "ISO",
            "MDY" | "US" | "NONEURO" | "NONEUROPEAN" => order = "MDY",
            "DMY" | "EURO" | "EUROPEAN" => order = "DMY",
            "YMD" => order = "YMD",
            "" => {}
            _ => return None,
        }
    }
    Some(format!("{style}, {order}"))
}
