//! The interactive shell (`glaux`, `glaux shell`) and script runner
//! (`glaux -c`, `glaux -f`): translation only. Backslash commands expand to
//! SQL; statements run on an embedded session or a server ([`backend`]).
//!
//! Interactive use has line editing and persistent history (rustyline),
//! multi-line statements ended by `;`, `\timing`, a progress line on long
//! queries and Ctrl-C to cancel the running query (not the shell).

mod backend;
mod render;

pub use render::{OutputFormat, ResultSet};

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use backend::{Backend, Progress, Ran};
use rustyline::error::ReadlineError;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct ReplOptions {
    pub command: Option<String>,
    pub file: Option<PathBuf>,
    pub format: OutputFormat,
    /// A postgres:// URL to run against instead of the data dir.
    pub connect: Option<String>,
}

const HELP: &str = "\
glaux shell commands:
  \\?            this help
  \\q            quit (or Ctrl-D)
  \\l            list databases          (SHOW DATABASES)
  \\dt [db]      list tables             (SHOW TABLES [IN db])
  \\d [table]    describe a table        (DESCRIBE table); no argument lists tables
  \\timing       toggle timing of statements
End SQL statements with ';'. Ctrl-C cancels the running statement.
";

/// Run the shell or a script; returns the process exit code.
pub async fn run(config: Config, options: ReplOptions) -> Result<i32> {
    let mut backend = match &options.connect {
        Some(url) => Backend::remote(url).await?,
        None => Backend::embedded(Engine::open(config.clone()).await?).await?,
    };
    let script =
        match (&options.command, &options.file) {
            (Some(c), _) => Some(c.clone()),
            (None, Some(f)) => Some(std::fs::read_to_string(f).map_err(|e| {
                Error::new(crate::error::SqlState::IoError, format!("cannot read {}: {e}", f.display()))
            })?),
            (None, None) => None,
        };
    match script {
        Some(sql) => Ok(run_script(&mut backend, &sql, options.format).await),
        None => interactive(&mut backend, &config).await,
    }
}

fn print_error(e: &Error) {
    eprintln!("ERROR: {}: {}", e.sqlstate(), e);
    if let Some(h) = e.hint() {
        eprintln!("HINT: {h}");
    }
}

async fn run_script(backend: &mut Backend, sql: &str, format: OutputFormat) -> i32 {
    let ran = backend.run(sql, &mut |_| {}).await;
    show(backend, ran, format).map_or(0, |_| 1)
}

/// Print what a script did: its results, the notices, then the error that
/// stopped it (returned), as psql does.
fn show(backend: &Backend, ran: Ran, format: OutputFormat) -> Option<Error> {
    let mut out = std::io::stdout().lock();
    for r in &ran.results {
        let _ = out.write_all(render::render(r, format).as_bytes());
    }
    let _ = out.flush();
    for notice in backend.take_notices() {
        eprintln!("{notice}");
    }
    if let Some(e) = &ran.error {
        print_error(e);
    }
    ran.error
}

/// Translate a backslash command into SQL, or handle it here.
enum Command {
    Sql(String),
    Quit,
    Help,
    Timing,
    Unknown(String),
}

fn backslash(line: &str) -> Command {
    let mut parts = line.split_whitespace();
    let cmd = parts.next().unwrap_or("");
    let arg = parts.next();
    match (cmd, arg) {
        ("\\q", _) => Command::Quit,
        ("\\?" | "\\h" | "\\help", _) => Command::Help,
        ("\\timing", _) => Command::Timing,
        ("\\l" | "\\l+", _) => Command::Sql("SHOW DATABASES".into()),
        ("\\dt" | "\\dt+" | "\\d" | "\\d+", None) => Command::Sql("SHOW TABLES".into()),
        ("\\dt" | "\\dt+", Some(db)) => Command::Sql(format!("SHOW TABLES IN {db}")),
        ("\\d" | "\\d+", Some(t)) => Command::Sql(format!("DESCRIBE {t}")),
        ("\\dn", _) => Command::Sql("SHOW DATABASES".into()),
        _ => Command::Unknown(cmd.to_string()),
    }
}

/// Whether the buffer holds complete statements (ends with `;` outside
/// strings and comments).
fn complete(buffer: &str) -> bool {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    match Tokenizer::new(&PostgreSqlDialect {}, buffer).tokenize() {
        Ok(tokens) => tokens.iter().rev().find(|t| !matches!(t, Token::Whitespace(_))) == Some(&Token::SemiColon),
        Err(_) => false, // e.g. an unterminated string: keep reading
    }
}

async fn interactive(backend: &mut Backend, config: &Config) -> Result<i32> {
    let mut editor = rustyline::DefaultEditor::new()
        .map_err(|e| Error::new(crate::error::SqlState::IoError, format!("terminal: {e}")))?;
    let history = config.data_dir().join("history");
    let _ = std::fs::create_dir_all(config.data_dir());
    let _ = editor.load_history(&history);
    println!("glaux {} — type \\? for help, \\q to quit.", env!("CARGO_PKG_VERSION"));
    let mut timing = false;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "glaux=> " } else { "glaux-> " };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::new(crate::error::SqlState::IoError, format!("terminal: {e}"))),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            match backslash(trimmed) {
                Command::Quit => break,
                Command::Help => print!("{HELP}"),
                Command::Timing => {
                    timing = !timing;
                    println!("Timing is {}.", if timing { "on" } else { "off" });
                }
                Command::Unknown(c) => eprintln!("invalid command {c}; try \\? for help"),
                Command::Sql(sql) => execute(backend, &sql, timing).await,
            }
            continue;
        }
        if trimmed.is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if complete(&buffer) {
            let sql = std::mem::take(&mut buffer);
            let _ = editor.add_history_entry(sql.trim_end());
            execute(backend, &sql, timing).await;
        }
    }
    let _ = editor.save_history(&history);
    Ok(0)
}

/// Run statements, showing progress and cancelling on Ctrl-C.
async fn execute(backend: &mut Backend, sql: &str, timing: bool) {
    let start = Instant::now();
    let show_progress = std::io::stderr().is_terminal();
    let mut shown = false;
    let mut progress = |p: Progress| {
        if show_progress && p.elapsed > Duration::from_millis(500) {
            eprint!(
                "\r\x1b[K{:.1}s  {} rows  {} read",
                p.elapsed.as_secs_f64(),
                p.rows,
                crate::workgroup::human_bytes(p.bytes)
            );
            shown = true;
        }
    };
    let result = {
        let run = backend.run(sql, &mut progress);
        tokio::pin!(run);
        tokio::select! {
            r = &mut run => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    };
    if shown {
        eprint!("\r\x1b[K");
    }
    match result {
        None => {
            backend.cancel().await;
            eprintln!("ERROR: 57014: canceling statement due to user request");
        }
        Some(ran) => {
            show(backend, ran, OutputFormat::Table);
        }
    }
    if timing {
        println!("Time: {:.3} ms", start.elapsed().as_secs_f64() * 1000.0);
    }
}
