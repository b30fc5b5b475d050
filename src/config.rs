//! Configuration: one table of documented settings, read from a TOML file,
//! then `GLAUX_*` environment variables, then command-line flags (each layer
//! overrides the one before).
//!
//! [`SETTINGS`] is the single definition of every key; `glaux settings` and
//! docs/configuration.md are generated from it. Depends on nothing else in
//! glaux but `error`.

use crate::error::{Error, Result, SqlState};
use glaux_connector::connector::Definition;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One configuration key.
pub struct Setting {
    /// Dotted key, as written in the config file (`[server] port = 5433`
    /// is `server.port`) and with `--set key=value`.
    pub key: &'static str,
    /// Environment variable that sets it.
    pub env: &'static str,
    /// Default value ("" for none).
    pub default: &'static str,
    pub doc: &'static str,
}

/// Every setting glaux reads.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "server.bind",
        env: "GLAUX_BIND",
        default: "127.0.0.1",
        doc: "Address the server listens on.",
    },
    Setting {
        key: "server.port",
        env: "GLAUX_PORT",
        default: "5433",
        doc: "TCP port the server listens on (0 picks a free port).",
    },
    Setting {
        key: "server.max_message_bytes",
        env: "GLAUX_MAX_MESSAGE_BYTES",
        default: "67108864",
        doc: "Largest protocol message a client may send (query text plus parameters), in bytes; \
              a longer one ends the connection with 54000.",
    },
    Setting {
        key: "server.startup_timeout_secs",
        env: "GLAUX_STARTUP_TIMEOUT_SECS",
        default: "60",
        doc: "Seconds a client has from connecting to finishing authentication.",
    },
    Setting {
        key: "server.idle_session_timeout_secs",
        env: "GLAUX_IDLE_SESSION_TIMEOUT_SECS",
        default: "0",
        doc: "Seconds a connection may sit idle between statements before it is closed with FATAL 57P05 \
              (0: never, as in PostgreSQL). Vanished peers are found by TCP keepalive either way.",
    },
    Setting {
        key: "server.max_connections",
        env: "GLAUX_MAX_CONNECTIONS",
        default: "100",
        doc: "Most clients connected at once; one more is refused with 53300.",
    },
    Setting {
        key: "server.auth",
        env: "GLAUX_AUTH",
        default: "auto",
        doc: "How clients authenticate: `auto` (no password for loopback clients while no user is defined, \
              SCRAM-SHA-256 otherwise), `scram` (always SCRAM-SHA-256) or `trust` (never asks).",
    },
    Setting {
        key: "server.tls_cert",
        env: "GLAUX_TLS_CERT",
        default: "",
        doc: "PEM certificate chain for TLS; with `server.tls_key`, clients may encrypt (SSLRequest or direct TLS).",
    },
    Setting {
        key: "server.tls_key",
        env: "GLAUX_TLS_KEY",
        default: "",
        doc: "PEM private key for `server.tls_cert`.",
    },
    Setting {
        key: "server.require_tls",
        env: "GLAUX_REQUIRE_TLS",
        default: "false",
        doc: "Refuse unencrypted connections (28000); needs `server.tls_cert` and `server.tls_key`.",
    },
    Setting {
        key: "engine.query_memory_limit",
        env: "GLAUX_QUERY_MEMORY_LIMIT",
        default: "4GB",
        doc: "Memory one query may use when its workgroup sets no query_memory_limit: a size (512MB, 8GB) or none. \
              Past it, sorts, aggregations and joins spill to disk or the query ends with 53200; the server and \
              other queries go on.",
    },
    Setting {
        key: "data_dir",
        env: "GLAUX_DATA_DIR",
        default: "~/.glaux",
        doc: "Directory holding the embedded catalog (catalog.db), REPL history and sample data.",
    },
    Setting {
        key: "catalog.name",
        env: "GLAUX_CATALOG_NAME",
        default: "glaux",
        doc: "Name of the catalog: the database name Postgres clients connect to.",
    },
    Setting {
        key: "catalog.type",
        env: "GLAUX_CATALOG_TYPE",
        default: "embedded",
        doc: "Where databases, tables and partitions are kept: `embedded` (SQLite in data_dir) or `glue` \
              (the AWS Glue Data Catalog; users stay in data_dir).",
    },
    Setting {
        key: "catalog.others",
        env: "GLAUX_CATALOG_OTHERS",
        default: "",
        doc: "More catalogs served beside the first, as `name:type` pairs separated by commas \
              (`archive:embedded, lake:glue`). An embedded one keeps its own SQLite file `catalogs/<name>.db` in \
              data_dir; a glue one uses the glue.* settings. Clients connect to any of them as their database, and \
              three-part names `name.database.table` reach across them in one query.",
    },
    Setting {
        key: "glue.region",
        env: "GLAUX_GLUE_REGION",
        default: "",
        doc: "AWS region of the Glue catalog (falls back to AWS_REGION, then us-east-1).",
    },
    Setting {
        key: "glue.endpoint",
        env: "GLAUX_GLUE_ENDPOINT",
        default: "",
        doc: "Endpoint URL of a Glue-compatible API, e.g. http://127.0.0.1:5000 (empty: AWS's).",
    },
    Setting {
        key: "glue.catalog_id",
        env: "GLAUX_GLUE_CATALOG_ID",
        default: "",
        doc: "AWS account id owning the Glue catalog (empty: the caller's).",
    },
    Setting {
        key: "glue.access_key_id",
        env: "GLAUX_GLUE_ACCESS_KEY_ID",
        default: "",
        doc: "Access key id for Glue (empty: the standard AWS credential chain: environment, profile, instance role).",
    },
    Setting {
        key: "glue.secret_access_key",
        env: "GLAUX_GLUE_SECRET_ACCESS_KEY",
        default: "",
        doc: "Secret access key for Glue.",
    },
    Setting {
        key: "glue.max_attempts",
        env: "GLAUX_GLUE_MAX_ATTEMPTS",
        default: "5",
        doc: "Attempts per Glue call when the endpoint is unreachable or throttles, with exponential backoff, before the error is reported.",
    },
    Setting {
        key: "s3.region",
        env: "GLAUX_S3_REGION",
        default: "",
        doc: "AWS region for s3:// locations (falls back to AWS_REGION, then us-east-1).",
    },
    Setting {
        key: "s3.endpoint",
        env: "GLAUX_S3_ENDPOINT",
        default: "",
        doc: "Endpoint URL of an S3-compatible store, e.g. http://127.0.0.1:9000.",
    },
    Setting {
        key: "s3.access_key_id",
        env: "GLAUX_S3_ACCESS_KEY_ID",
        default: "",
        doc: "Access key id (falls back to the standard AWS environment variables).",
    },
    Setting {
        key: "s3.secret_access_key",
        env: "GLAUX_S3_SECRET_ACCESS_KEY",
        default: "",
        doc: "Secret access key (falls back to the standard AWS environment variables).",
    },
    Setting {
        key: "s3.session_token",
        env: "GLAUX_S3_SESSION_TOKEN",
        default: "",
        doc: "Session token for temporary credentials.",
    },
    Setting {
        key: "s3.path_style",
        env: "GLAUX_S3_PATH_STYLE",
        default: "false",
        doc: "Use path-style requests (http://host/bucket/key), as most S3-compatible stores need.",
    },
    Setting {
        key: "s3.allow_http",
        env: "GLAUX_S3_ALLOW_HTTP",
        default: "false",
        doc: "Allow plain http:// endpoints.",
    },
    Setting {
        key: "gcs.service_account_path",
        env: "GLAUX_GCS_SERVICE_ACCOUNT_PATH",
        default: "",
        doc: "Service account JSON file for gs:// locations (else GOOGLE_* environment variables).",
    },
    Setting {
        key: "azure.account",
        env: "GLAUX_AZURE_ACCOUNT",
        default: "",
        doc: "Storage account for az:// locations (else AZURE_* environment variables).",
    },
    Setting {
        key: "azure.access_key",
        env: "GLAUX_AZURE_ACCESS_KEY",
        default: "",
        doc: "Storage account access key for az:// locations.",
    },
];

/// Resolved configuration: every key of [`SETTINGS`] with its value.
/// Keys of connector catalogs start so.
const CONNECTOR_PREFIX: &str = "connector.";
/// Keys of DataFusion's own settings start so.
pub const DATAFUSION_PREFIX: &str = "datafusion.";

#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// Connector catalogs: `[connector.<name>]` tables of the file (or
    /// `connector.<name>.<option>` keys), each with `type` and options.
    /// Debug shows their secrets as `********`.
    connectors: BTreeMap<String, Definition>,
    /// DataFusion settings (`datafusion.execution.target_partitions`, ...)
    /// every session starts with, each checked by DataFusion when set.
    datafusion: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        let values = SETTINGS.iter().map(|s| (s.key, s.default.to_string())).collect();
        Config { values, connectors: BTreeMap::new(), datafusion: BTreeMap::new() }
    }
}

impl Config {
    /// Load: defaults < `file` (if given, or `<data_dir>/glaux.toml` if it
    /// exists) < environment < `overrides` (from flags).
    pub fn load(file: Option<&Path>, overrides: &[(String, String)]) -> Result<Config> {
        let mut config = Config::default();
        let env = |s: &Setting| std::env::var(s.env).ok();
        // The data dir decides where the default config file is, so resolve
        // it first from the layers above the file.
        for s in SETTINGS {
            if let Some(v) = env(s) {
                config.set(s.key, &v)?;
            }
        }
        for (k, v) in overrides {
            config.set(k, v)?;
        }
        let file = match file {
            Some(f) => Some(f.to_path_buf()),
            None => Some(config.data_dir().join("glaux.toml")).filter(|p| p.exists()),
        };
        if let Some(path) = file {
            let mut from_file = Config::default();
            from_file.read_file(&path)?;
            // Re-apply the higher layers over the file.
            for s in SETTINGS {
                if let Some(v) = env(s) {
                    from_file.set(s.key, &v)?;
                }
            }
            for (k, v) in overrides {
                from_file.set(k, v)?;
            }
            config = from_file;
        }
        Ok(config)
    }

    /// Set one key, rejecting unknown keys.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if let Some(rest) = key.strip_prefix(CONNECTOR_PREFIX) {
            return self.set_connector(rest, value);
        }
        if key.starts_with(DATAFUSION_PREFIX) {
            let mut options = datafusion::config::ConfigOptions::default();
            options.set(key, value).map_err(|e| {
                Error::new(SqlState::ConfigFileError, format!("{key} = {value:?}: {}", e.strip_backtrace()))
            })?;
            self.datafusion.insert(key.to_string(), value.to_string());
            return Ok(());
        }
        let setting = SETTINGS.iter().find(|s| s.key == key).ok_or_else(|| {
            let known: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
            Error::new(
                SqlState::ConfigFileError,
                format!("unknown setting {key}; known settings: {}", known.join(", ")),
            )
        })?;
        self.values.insert(setting.key, value.to_string());
        Ok(())
    }

    fn read_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(SqlState::ConfigFileError, format!("cannot read config file {}: {e}", path.display()))
        })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e| Error::new(SqlState::ConfigFileError, format!("config file {}: {e}", path.display())))?;
        let mut flat = Vec::new();
        flatten("", &toml::Value::Table(table), &mut flat);
        for (k, v) in flat {
            self.set(&k, &v)
                .map_err(|e| Error::new(SqlState::ConfigFileError, format!("config file {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// `connector.<name>.<option>`: `type` is the connector's kind, any
    /// other key one of its options.
    fn set_connector(&mut self, rest: &str, value: &str) -> Result<()> {
        let Some((name, option)) = rest.split_once('.').filter(|(n, o)| !n.is_empty() && !o.is_empty()) else {
            return Err(Error::new(
                SqlState::ConfigFileError,
                format!("{CONNECTOR_PREFIX}{rest}: a connector setting is connector.<catalog>.<option>"),
            ));
        };
        let definition = self.connectors.entry(name.to_string()).or_insert_with(|| Definition {
            name: name.to_string(),
            kind: String::new(),
            options: BTreeMap::new(),
        });
        if option == "type" {
            definition.kind = value.to_ascii_lowercase();
        } else {
            definition.options.insert(option.to_ascii_lowercase(), value.to_string());
        }
        Ok(())
    }

    /// The connector catalogs the configuration defines (F0000 for one
    /// without a type).
    pub fn connectors(&self) -> Result<Vec<Definition>> {
        self.connectors
            .values()
            .map(|d| {
                if d.kind.is_empty() {
                    Err(Error::new(
                        SqlState::ConfigFileError,
                        format!("connector.{}: its type is missing (postgres)", d.name),
                    ))
                } else {
                    Ok(d.clone())
                }
            })
            .collect()
    }

    /// The DataFusion settings the configuration sets, applied to every
    /// session's DataFusion configuration.
    pub fn apply_datafusion(&self, options: &mut datafusion::config::ConfigOptions) -> Result<()> {
        for (key, value) in &self.datafusion {
            options.set(key, value).map_err(|e| Error::new(SqlState::ConfigFileError, e.strip_backtrace()))?;
        }
        Ok(())
    }

    /// The raw value of a key ("" when unset).
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map(String::as_str).unwrap_or("")
    }

    /// A key's value, or None when empty.
    pub fn get_opt(&self, key: &str) -> Option<&str> {
        Some(self.get(key)).filter(|v| !v.is_empty())
    }

    pub fn get_bool(&self, key: &str) -> Result<bool> {
        match self.get(key).to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" | "" => Ok(false),
            other => Err(Error::new(
                SqlState::ConfigFileError,
                format!("setting {key} must be true or false, not {other:?}"),
            )),
        }
    }

    pub fn bind(&self) -> &str {
        self.get("server.bind")
    }

    /// A setting that must be a whole number.
    pub fn number(&self, key: &str) -> Result<u64> {
        self.get(key).parse().map_err(|_| {
            Error::new(SqlState::ConfigFileError, format!("{key} must be a whole number, not {:?}", self.get(key)))
        })
    }

    pub fn port(&self) -> Result<u16> {
        self.get("server.port").parse().map_err(|_| {
            Error::new(
                SqlState::ConfigFileError,
                format!("server.port must be a port number, not {:?}", self.get("server.port")),
            )
        })
    }

    pub fn catalog_name(&self) -> &str {
        self.get("catalog.name")
    }

    /// The data directory, with a leading `~` expanded.
    pub fn data_dir(&self) -> PathBuf {
        let raw = self.get("data_dir");
        match raw.strip_prefix("~") {
            Some(rest) => {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
                home.join(rest.trim_start_matches('/'))
            }
            None => PathBuf::from(raw),
        }
    }

    /// A config pointing at `data_dir`, everything else default: for tests.
    pub fn for_data_dir(data_dir: &Path) -> Config {
        let mut c = Config::default();
        c.values.insert("data_dir", data_dir.display().to_string());
        c
    }
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The settings reference as Markdown (docs/configuration.md).
pub fn settings_markdown() -> String {
    let mut out = String::from(
        "# Configuration\n\nglaux reads, each layer overriding the one before: the defaults below, a TOML file \
         (`--config FILE`, else `<data_dir>/glaux.toml` if present; `[server] port = 5433` sets `server.port`), \
         the environment variables, and flags (`--port`, `--bind`, `--data-dir`, or `--set key=value` for any key).\n\n\
         This page is generated by `glaux settings`.\n\n| key | environment | default | meaning |\n| --- | --- | --- | --- |\n",
    );
    for s in SETTINGS {
        out.push_str(&format!("| `{}` | `{}` | `{}` | {} |\n", s.key, s.env, s.default, s.doc));
    }
    out.push_str(
        "\n## Connector catalogs\n\nA table `[connector.<name>]` (or keys `connector.<name>.<option>`, with \
         `--set` too) defines a catalog of another database, reached by three-part names \
         `<name>.<schema>.<table>`. `type` is the connector (`postgres`, `mysql`, `sqlite` or `flightsql`); the other keys \
         are its options (one the connector does not take stops glaux from starting, 22023), and `pushdown = \"off\"` (any connector) sends the source nothing but the columns to \
         read (docs/sql.md, Connector catalogs). A secret's value (an option whose name has password, secret, token or \
         key in it) may be `env:NAME` or `file:/path`, read when the catalog connects; glaux shows secrets as \
         `********`. The source is connected when a statement first needs it, so glaux starts while a source is \
         down.\n\n```toml\n[connector.pg]\ntype = \"postgres\"\nurl = \"postgresql://db.internal:5432/shop\"\n\
         user = \"analyst\"\npassword = \"env:SHOP_PASSWORD\"\n\
         # pushdown = \"on\"     (off: whole tables read, every condition run in glaux)\n```\n",
    );
    out.push_str(
        "\n## DataFusion settings\n\nAny key starting `datafusion.` is one of DataFusion's own settings \
         (`datafusion.execution.target_partitions`, `datafusion.execution.parquet.pushdown_filters`, ...), \
         given in the file (`[datafusion.execution] batch_size = 8192`) or with `--set`. Every session plans and \
         runs with them; one DataFusion does not know, or a value it refuses, stops glaux at start. glaux's \
         own choices (the SQL dialect, the session's time zone, its default catalog and database) are not \
         changed by them. They hold for the whole server: `SET datafusion....` in a session is refused (55P02). \
         `bench/tpch.sh` shows what a setting does to the TPC-H queries.\n",
    );
    out
}
