//! The glaux binary: parse arguments into a [`Config`], then run the server,
//! the REPL, a script, or a one-off command. Everything else is in the library.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use glaux::config::{settings_markdown, Config};
use glaux::repl::{OutputFormat, ReplOptions};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "glaux",
    version,
    about = "An interactive SQL engine for data lakes, speaking the PostgreSQL wire protocol"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    shell: ShellArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Flags every command understands.
#[derive(Args, Clone)]
struct CommonArgs {
    /// Config file (TOML); default <data_dir>/glaux.toml when present.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory holding the embedded catalog (default ~/.glaux).
    #[arg(long, global = true)]
    data_dir: Option<String>,
    /// Set any configuration key, e.g. --set s3.endpoint=http://127.0.0.1:9000.
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    set: Vec<String>,
}

#[derive(Args, Clone)]
struct ShellArgs {
    /// Run one SQL string (several statements separated by ';') and exit.
    #[arg(short = 'c', long = "command")]
    command: Option<String>,
    /// Run the SQL statements in a file and exit.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Result format for -c and -f (the interactive shell always uses table).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Talk to a running server instead of opening the data dir, e.g.
    /// postgres://user@127.0.0.1:5433/glaux.
    #[arg(long)]
    connect: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the PostgreSQL-protocol server.
    Serve {
        /// Address to listen on (default 127.0.0.1).
        #[arg(long)]
        bind: Option<String>,
        /// Port to listen on (default 5433).
        #[arg(long, short = 'p')]
        port: Option<u16>,
    },
    /// Open the interactive shell (the default when no command is given).
    Shell(ShellArgs),
    /// Generate TPC-H sample tables (Parquet) into the data dir and register
    /// them in database `tpch`.
    Sample {
        /// TPC-H scale factor (1 is about 1 GB of raw data).
        #[arg(long, default_value_t = 0.01)]
        scale: f64,
    },
    /// Crawl a location: create or update a table per dataset under it
    /// (the same as the SQL statement CRAWL 'location' INTO database).
    Crawl {
        /// The folder or object-store prefix to walk, e.g. s3://bucket/lake/.
        location: String,
        /// The database to create the tables in (default: public).
        #[arg(long, short = 'd', default_value = "public")]
        database: String,
        /// Result format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Run an admin statement against a running server, e.g.
    /// `glaux admin SHOW WORKGROUPS` or
    /// `glaux admin "CREATE WORKGROUP bi WITH (bytes_scanned_cutoff_per_query = '10GB')"`.
    Admin {
        /// The server (default postgres://$USER@127.0.0.1:5433/glaux).
        #[arg(long)]
        connect: Option<String>,
        /// Result format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// The statement, in one or more words.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        statement: Vec<String>,
    },
    /// Print the configuration reference (Markdown).
    Settings,
}

fn load_config(common: &CommonArgs, extra: &[(String, String)]) -> anyhow::Result<Config> {
    let mut overrides = Vec::new();
    if let Some(d) = &common.data_dir {
        overrides.push(("data_dir".to_string(), d.clone()));
    }
    for kv in &common.set {
        let (k, v) = kv.split_once('=').with_context(|| format!("--set expects KEY=VALUE, got {kv:?}"))?;
        overrides.push((k.trim().to_string(), v.trim().to_string()));
    }
    overrides.extend_from_slice(extra);
    Ok(Config::load(common.config.as_deref(), &overrides)?)
}

/// jemalloc, with its background threads purging pages no query uses any
/// more (about 10 s after they were freed): under glibc's malloc the server
/// kept a gigabyte or more after one large sort, for as long as it ran.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("GLAUX_LOG", "warn")).init();
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        log::warn!("memory freed by queries will be returned to the system only as new memory is allocated: {e}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(glaux::THREAD_STACK_BYTES)
        .enable_all()
        .build()?;
    match cli.command {
        Some(Command::Serve { bind, port }) => {
            let mut extra = Vec::new();
            if let Some(b) = bind {
                extra.push(("server.bind".to_string(), b));
            }
            if let Some(p) = port {
                extra.push(("server.port".to_string(), p.to_string()));
            }
            let config = load_config(&cli.common, &extra)?;
            runtime.block_on(glaux::server::serve(config))?;
        }
        Some(Command::Settings) => print!("{}", settings_markdown()),
        Some(Command::Sample { scale }) => {
            let config = load_config(&cli.common, &[])?;
            runtime.block_on(async {
                let engine = glaux::engine::Engine::open(config).await?;
                let report = glaux::sample::generate_tpch(&engine, scale).await?;
                println!("{report}");
                Ok::<_, anyhow::Error>(())
            })?;
        }
        Some(Command::Crawl { location, database, format }) => {
            let sql = format!("CRAWL '{}' INTO \"{}\"", location.replace('\'', "''"), database.replace('"', "\"\""));
            let shell = ShellArgs { command: Some(sql), file: None, format, connect: None };
            run_shell(&cli.common, shell, &runtime)?
        }
        Some(Command::Admin { connect, format, statement }) => {
            let user = std::env::var("USER").unwrap_or_else(|_| "glaux".into());
            let connect = connect.unwrap_or_else(|| format!("postgres://{user}@127.0.0.1:5433/glaux"));
            let shell = ShellArgs { command: Some(statement.join(" ")), file: None, format, connect: Some(connect) };
            run_shell(&cli.common, shell, &runtime)?
        }
        Some(Command::Shell(shell)) => run_shell(&cli.common, shell, &runtime)?,
        None => run_shell(&cli.common, cli.shell, &runtime)?,
    }
    // Do not wait for blocking reads (stdin) the runtime may still hold.
    runtime.shutdown_background();
    Ok(())
}

fn run_shell(common: &CommonArgs, shell: ShellArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let config = load_config(common, &[])?;
    let options =
        ReplOptions { command: shell.command, file: shell.file, format: shell.format, connect: shell.connect };
    let code = runtime.block_on(glaux::repl::run(config, options))?;
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}
