//! A session's variables: SET, RESET and SHOW of settings (and of the
//! workgroup), the start-up parameters a client sends, the settings
//! reported back to it, and the per-query limits a session sets itself.

use super::Session;
use crate::catalog::require_database;
use crate::engine::metering::{command_line_options, is_workgroup_setting};
use crate::engine::{settings, DEFAULT_DATABASE};
use crate::error::Result;
use crate::pgcatalog::snapshot as view;
use crate::workgroup::limits::{self, SessionLimits};

impl Session {
    /// Apply the settings a client sent at start-up (`TimeZone`,
    /// `application_name`, ...). Unknown ones are ignored, as clients send
    /// options meant for other servers too; bad values are errors, and so
    /// is a workgroup the user may not use (42501) or that does not exist.
    pub async fn apply_startup_parameters(&mut self, parameters: &[(String, String)]) -> Result<()> {
        for (name, value) in parameters {
            if name == "options" {
                // `-c name=value` (libpq's PGOPTIONS).
                for (k, v) in command_line_options(value) {
                    if is_workgroup_setting(&k) {
                        self.workgroup = Some(v);
                    } else if crate::pgcatalog::settings::find(&k).is_some_and(|s| !s.read_only) {
                        settings::set(&mut view::write(&self.view), &k, &v)?;
                    }
                }
            } else if is_workgroup_setting(name) {
                self.workgroup = Some(value.clone());
            } else if crate::pgcatalog::settings::find(name).is_some_and(|s| !s.read_only) {
                settings::set(&mut view::write(&self.view), name, value)?;
            }
        }
        self.changed.clear();
        self.apply_time_zone();
        if let Some(chosen) = self.workgroup.take() {
            let wg = crate::engine::metering::workgroup_for(
                self.shared.security.as_ref(),
                &self.user,
                Some(&chosen),
                self.local,
            )
            .await?;
            self.workgroup = Some(wg.name);
        }
        Ok(())
    }

    /// Reported settings (name, value) changed since the last call, for
    /// ParameterStatus messages.
    pub fn take_changed_settings(&mut self) -> Vec<(String, String)> {
        let names = std::mem::take(&mut self.changed);
        names.into_iter().map(|n| (n.to_string(), self.setting(n).unwrap_or_default())).collect()
    }

    /// The reported settings and their values, for start-up.
    pub fn reported_settings(&self) -> Vec<(String, String)> {
        crate::pgcatalog::settings::SETTINGS
            .iter()
            .filter(|s| s.reported)
            .map(|s| (s.name.to_string(), self.setting(s.name).unwrap_or_default()))
            .collect()
    }

    /// The per-query limits this session set for itself.
    pub(super) fn limits(&self) -> SessionLimits {
        let view = view::read(&self.view);
        SessionLimits::from_settings(|name| view.setting(name).map(str::to_string))
    }

    /// The session's `TimeZone`, as an Arrow time zone.
    pub(super) fn time_zone(&self) -> String {
        crate::engine::session_zone(&self.view)
    }

    /// DataFusion reads and makes `timestamp with time zone` values in it.
    pub(super) fn apply_time_zone(&mut self) {
        let zone = self.time_zone();
        self.state.config_mut().options_mut().execution.time_zone = Some(zone);
    }

    pub(super) async fn set_database(&mut self, database: &str) -> Result<()> {
        let db = require_database(self.catalog.metastore.as_ref(), database).await?;
        self.database = db.name.clone();
        view::write(&self.view).schema = db.name.clone();
        self.state = self.shared.new_state(&self.catalog, &db.name, 0, &self.view);
        Ok(())
    }

    pub(super) async fn set_variable(&mut self, name: &str, value: &str) -> Result<()> {
        if is_workgroup_setting(name) {
            let wg = crate::engine::metering::workgroup_for(
                self.shared.security.as_ref(),
                &self.user,
                Some(value),
                self.local,
            )
            .await?;
            self.workgroup = Some(wg.name);
            return Ok(());
        }
        let mut name = name.to_ascii_lowercase();
        if name == "schema" {
            name = "search_path".into();
        }
        if name == "search_path" {
            // The first schema of the path that exists (Postgres semantics).
            let first = value.split(',').map(|s| s.trim().trim_matches('"')).find(|s| !s.is_empty() && *s != "$user");
            if let Some(db) = first {
                self.set_database(db).await?;
            }
        }
        let reported = settings::set(&mut view::write(&self.view), &name, value)?;
        self.changed.extend(reported);
        self.apply_time_zone();
        if matches!(name.as_str(), "statement_timeout" | limits::CUTOFF_SETTING | limits::MEMORY_SETTING) {
            let catalog = self.shared.security.as_ref();
            if let Ok(wg) =
                crate::engine::metering::workgroup_for(catalog, &self.user, self.workgroup.as_deref(), self.local).await
            {
                if let Some(text) = self.limits().held_notice(&wg, &name) {
                    self.notices.push(crate::engine::notices::Severity::Notice, text);
                }
            }
        }
        Ok(())
    }

    pub(super) async fn reset_variables(&mut self, name: Option<&str>) -> Result<()> {
        if name.is_none_or(is_workgroup_setting) {
            self.workgroup = None;
            if name.is_some() {
                return Ok(());
            }
        }
        let reported = settings::reset(&mut view::write(&self.view), name)?;
        self.changed.extend(reported);
        self.apply_time_zone();
        if name.is_none_or(|n| n.eq_ignore_ascii_case("search_path")) && self.database != DEFAULT_DATABASE {
            self.set_database(DEFAULT_DATABASE).await?;
        }
        Ok(())
    }

    /// A setting's value: set in this session, else the default.
    pub fn setting(&self, name: &str) -> Option<String> {
        settings::show(&view::read(&self.view), name).ok()
    }

    /// The workgroup this session's queries run in (SHOW workgroup).
    pub async fn current_workgroup(&self) -> Result<String> {
        let catalog = self.shared.security.as_ref();
        let wg =
            crate::engine::metering::workgroup_for(catalog, &self.user, self.workgroup.as_deref(), self.local).await?;
        Ok(wg.name)
    }

    /// SHOW's answer for a setting (42704 for an unknown one).
    pub fn show_setting(&self, name: &str) -> Result<String> {
        settings::show(&view::read(&self.view), name)
    }
}
