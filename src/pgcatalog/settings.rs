//! The session settings (PostgreSQL's GUCs) glaux knows: their defaults,
//! types and descriptions. `SET`/`SHOW`/`RESET`, `current_setting()`,
//! `set_config()` and pg_settings all read this one list. Settings marked
//! `reported` are sent to the client as ParameterStatus at start-up and
//! whenever they change, as PostgreSQL does.

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The name as PostgreSQL spells it (`DateStyle`); matched
    /// case-insensitively.
    pub name: &'static str,
    pub default: &'static str,
    /// pg_settings.vartype: bool, integer, real, string, enum.
    pub vartype: &'static str,
    pub unit: Option<&'static str>,
    pub category: &'static str,
    pub description: &'static str,
    /// Sent as ParameterStatus.
    pub reported: bool,
    /// Only the server sets it (`SET` is 55P02 / "cannot be changed").
    pub read_only: bool,
}

const fn setting(
    name: &'static str,
    default: &'static str,
    vartype: &'static str,
    description: &'static str,
) -> Setting {
    Setting {
        name,
        default,
        vartype,
        unit: None,
        category: "Client Connection Defaults",
        description,
        reported: false,
        read_only: false,
    }
}

const fn reported(s: Setting) -> Setting {
    Setting { reported: true, ..s }
}

const fn fixed(s: Setting) -> Setting {
    Setting { read_only: true, category: "Preset Options", ..s }
}

const fn unit(s: Setting, unit: &'static str) -> Setting {
    Setting { unit: Some(unit), ..s }
}

/// The PostgreSQL version glaux reports (its catalogs follow 16's).
pub const SERVER_VERSION: &str = "16.0";

pub static SETTINGS: &[Setting] = &[
    reported(setting(
        "application_name",
        "",
        "string",
        "Sets the application name to be reported in statistics and logs.",
    )),
    setting("bytea_output", "hex", "enum", "Sets the output format for bytea."),
    reported(setting("client_encoding", "UTF8", "string", "Sets the client's character set encoding.")),
    setting("client_min_messages", "notice", "enum", "Sets the message levels that are sent to the client."),
    reported(setting("DateStyle", "ISO, MDY", "string", "Sets the display format for date and time values.")),
    setting(
        "default_transaction_isolation",
        "read committed",
        "enum",
        "Sets the transaction isolation level of each new transaction.",
    ),
    setting("default_table_access_method", "heap", "string", "Sets the default table access method for new tables."),
    setting("default_transaction_read_only", "off", "bool", "Sets the default read-only status of new transactions."),
    setting("escape_string_warning", "on", "bool", "Warn about backslash escapes in ordinary string literals."),
    setting("extra_float_digits", "1", "integer", "Sets the number of digits displayed for floating-point values."),
    setting(
        "glaux.bytes_scanned_cutoff_per_query",
        "workgroup",
        "string",
        "Sets the bytes one query may scan: a size, none, or workgroup (its workgroup's).",
    ),
    setting(
        "glaux.query_memory_limit",
        "workgroup",
        "string",
        "Sets the memory one query may use: a size, none, or workgroup (its workgroup's).",
    ),
    unit(
        setting(
            "idle_in_transaction_session_timeout",
            "0",
            "integer",
            "Sets the maximum allowed idle time between queries, when in a transaction.",
        ),
        "ms",
    ),
    reported(fixed(setting("in_hot_standby", "off", "bool", "Shows whether hot standby is currently active."))),
    reported(fixed(setting("integer_datetimes", "on", "bool", "Shows whether datetimes are integer based."))),
    reported(setting("IntervalStyle", "postgres", "enum", "Sets the display format for interval values.")),
    reported(setting("is_superuser", "on", "bool", "Shows whether the current user is a superuser.")),
    setting("jit", "off", "bool", "Allow JIT compilation."),
    setting("lc_messages", "C", "string", "Sets the language in which messages are displayed."),
    setting("lc_monetary", "C", "string", "Sets the locale for formatting monetary amounts."),
    setting("lc_numeric", "C", "string", "Sets the locale for formatting numbers."),
    setting("lc_time", "C", "string", "Sets the locale for formatting date and time values."),
    unit(setting("lock_timeout", "0", "integer", "Sets the maximum allowed duration of any wait for a lock."), "ms"),
    fixed(setting("max_identifier_length", "63", "integer", "Shows the maximum identifier length.")),
    fixed(setting("max_index_keys", "32", "integer", "Shows the maximum number of index keys.")),
    fixed(setting("block_size", "8192", "integer", "Shows the size of a disk block.")),
    setting("row_security", "on", "bool", "Enable row security."),
    setting(
        "search_path",
        "\"$user\", public",
        "string",
        "Sets the schema search order for names that are not schema-qualified.",
    ),
    reported(fixed(setting(
        "server_encoding",
        "UTF8",
        "string",
        "Shows the server (database) character set encoding.",
    ))),
    reported(fixed(setting("server_version", SERVER_VERSION, "string", "Shows the server version."))),
    fixed(setting("server_version_num", "160000", "integer", "Shows the server version as an integer.")),
    reported(setting("session_authorization", "", "string", "Sets the session user name.")),
    reported(fixed(setting(
        "standard_conforming_strings",
        "on",
        "bool",
        "Causes '...' strings to treat backslashes literally.",
    ))),
    unit(setting("statement_timeout", "0", "integer", "Sets the maximum allowed duration of any statement."), "ms"),
    setting("synchronous_commit", "on", "enum", "Sets the current transaction's synchronization level."),
    reported(setting("TimeZone", "UTC", "string", "Sets the time zone for displaying and interpreting time stamps.")),
    setting("timezone_abbreviations", "Default", "string", "Selects a file of time zone abbreviations."),
    setting("transaction_isolation", "read committed", "enum", "Sets the current transaction's isolation level."),
    setting("transaction_read_only", "off", "bool", "Sets the current transaction's read-only status."),
    setting("work_mem", "4096", "integer", "Sets the maximum memory to be used for query workspaces."),
];

/// The setting called `name` (any case).
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}
