//! TLS for client connections (rustls with ring, through pgwire's
//! re-export): the certificate and key from `server.tls_cert` and
//! `server.tls_key`, offered both after an SSLRequest and to clients that
//! start TLS directly (PostgreSQL 17's `sslnegotiation=direct`, which must
//! name the `postgresql` ALPN protocol).

use crate::config::Config;
use crate::error::{Error, Result, SqlState};
use pgwire::tokio::tokio_rustls::rustls;
use pgwire::tokio::TlsAcceptor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The ALPN protocol name PostgreSQL clients send.
pub const ALPN: &[u8] = b"postgresql";

/// The TLS acceptor, if TLS is configured.
pub fn acceptor(config: &Config) -> Result<Option<TlsAcceptor>> {
    let bad = |m: String| Error::new(SqlState::ConfigFileError, m);
    let (cert, key) = match (config.get_opt("server.tls_cert"), config.get_opt("server.tls_key")) {
        (None, None) => {
            if config.get_bool("server.require_tls")? {
                return Err(bad("server.require_tls needs server.tls_cert and server.tls_key".into()));
            }
            return Ok(None);
        }
        (Some(c), Some(k)) => (c, k),
        _ => return Err(bad("set both server.tls_cert and server.tls_key, or neither".into())),
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| bad(format!("cannot read the certificate {cert}: {e}")))?;
    if certs.is_empty() {
        return Err(bad(format!("no certificate in {cert}")));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(format!("cannot read the private key {key}: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(format!("TLS certificate and key do not fit: {e}")))?;
    server.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}
