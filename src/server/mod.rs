//! The PostgreSQL wire-protocol frontend: translation only. It turns
//! protocol messages into [`Session`](crate::engine::Session) calls and
//! results into protocol messages; it never plans, and never touches the
//! catalog or storage.
//!
//! - [`connection`]: one client from accept to close (negotiation,
//!   start-up timeout, the message loop).
//! - [`framing`]: the client's bytes checked message by message before
//!   pgwire decodes them.
//! - [`handler`]: start-up, simple and extended query, cancel.
//! - [`rows`]: result streams to DataRows, errors to ErrorResponses.
//!
//! [`run`] serves a bound listener until `shutdown` resolves, so tests can
//! start a server on port 0; [`serve`] is what `glaux serve` runs.

mod auth;
mod connection;
pub mod framing;
mod handler;
mod rows;
mod tls;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result, SqlState};
use handler::Handlers;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Open the engine, listen on the configured address and serve until
/// SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> Result<()> {
    let engine = Engine::open(config.clone()).await?;
    let addr = format!("{}:{}", config.bind(), config.port()?);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::new(SqlState::IoError, format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    eprintln!(
        "glaux listening on {local} (data dir {}); connect with: psql -h {} -p {} -U $USER {}",
        config.data_dir().display(),
        local.ip(),
        local.port(),
        engine.catalog_names()[0]
    );
    run(listener, engine, shutdown_signal()).await
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Serve connections on `listener` until `shutdown` resolves; then stop
/// accepting, give open connections a few seconds to finish, and return.
pub async fn run(listener: TcpListener, engine: Engine, shutdown: impl Future<Output = ()>) -> Result<()> {
    let config = engine.config();
    let idle = config.number("server.idle_session_timeout_secs")?;
    let limits = connection::Limits {
        startup_timeout: Duration::from_secs(config.number("server.startup_timeout_secs")?),
        max_message_bytes: usize::try_from(config.number("server.max_message_bytes")?).unwrap_or(usize::MAX),
        idle_timeout: (idle > 0).then(|| Duration::from_secs(idle)),
    };
    let auth = auth::Auth::from_config(config)?;
    let tls = tls::acceptor(config)?;
    let slots = Arc::new(tokio::sync::Semaphore::new(
        usize::try_from(config.number("server.max_connections")?).unwrap_or(usize::MAX),
    ));
    let handlers = Arc::new(Handlers::new(engine, auth));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        log::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = socket.set_nodelay(true);
                // A peer that vanished (a crashed client, a dropped network)
                // is found by TCP keepalive and its connection closed.
                let keepalive = socket2::TcpKeepalive::new()
                    .with_time(Duration::from_secs(60))
                    .with_interval(Duration::from_secs(10));
                let _ = socket2::SockRef::from(&socket).set_tcp_keepalive(&keepalive);
                let handlers = Arc::clone(&handlers);
                let tls = tls.clone();
                let permit = Arc::clone(&slots).try_acquire_owned().ok();
                connections.spawn(async move {
                    let served = connection::serve(socket, handlers, limits, tls, permit);
                    match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(served)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => log::debug!("connection from {peer} ended: {e}"),
                        // A bug: only this connection ends.
                        Err(_) => log::error!("connection from {peer} panicked and was closed"),
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain).await.is_err() {
        connections.abort_all();
    }
    Ok(())
}
