//! SCRAM-SHA-256 (RFC 5802, RFC 7677), as PostgreSQL speaks it: password
//! verifiers in PostgreSQL's format (`SCRAM-SHA-256$4096:salt$StoredKey:ServerKey`),
//! which are all glaux stores of a password, and the server's side of the
//! exchange. The server wire code ([`crate::server`]) drives the messages;
//! `CREATE USER ... PASSWORD` makes verifiers.
//!
//! Channel binding is not offered (no `SCRAM-SHA-256-PLUS`); a client that
//! asks for it is refused, one that could but does not (`y,,`) is served.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

/// PostgreSQL's default iteration count.
pub const ITERATIONS: u32 = 4096;

pub const MECHANISM: &str = "SCRAM-SHA-256";

/// A stored password verifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Verifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl Verifier {
    /// Parse PostgreSQL's text form.
    pub fn parse(s: &str) -> Option<Verifier> {
        let (iter_salt, keys) = s.strip_prefix("SCRAM-SHA-256$")?.split_once('$')?;
        let (iterations, salt) = iter_salt.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(Verifier {
            iterations: iterations.parse().ok().filter(|&i: &u32| i > 0)?,
            salt: B64.decode(salt).ok()?,
            stored_key: B64.decode(stored).ok()?.try_into().ok()?,
            server_key: B64.decode(server).ok()?.try_into().ok()?,
        })
    }

    /// The verifier of `password` with a fresh random salt.
    pub fn new(password: &str) -> Verifier {
        let mut salt = [0u8; 16];
        // SystemRandom only fails when the OS has no randomness at all.
        SystemRandom::new().fill(&mut salt).expect("the operating system's random source");
        Verifier::with_salt(password, &salt, ITERATIONS)
    }

    pub fn with_salt(password: &str, salt: &[u8], iterations: u32) -> Verifier {
        let prepared = stringprep::saslprep(password).map(|c| c.into_owned()).unwrap_or_else(|_| password.to_owned());
        let mut salted = [0u8; 32];
        let rounds = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
        pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, rounds, salt, prepared.as_bytes(), &mut salted);
        Verifier {
            iterations,
            salt: salt.to_vec(),
            stored_key: sha256(&mac(&salted, b"Client Key")),
            server_key: mac(&salted, b"Server Key"),
        }
    }

    /// PostgreSQL's text form.
    pub fn encode(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }
}

fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why an exchange failed.
#[derive(Debug, PartialEq)]
pub enum Failure {
    /// The client broke the protocol (08P01), with the reason.
    Protocol(&'static str),
    /// Wrong password, or no such user (28P01; the two are not told apart).
    Rejected,
}

const MALFORMED: Failure = Failure::Protocol("malformed SCRAM message");

/// The body of a SASLInitialResponse: the mechanism and the client-first
/// message, bounds-checked.
pub fn parse_initial(body: &[u8]) -> Option<(&str, &[u8])> {
    let nul = body.iter().position(|&b| b == 0)?;
    let mechanism = std::str::from_utf8(&body[..nul]).ok()?;
    let rest = &body[nul + 1..];
    let len = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let data = &rest[4..];
    (len >= 0 && len as usize == data.len()).then_some((mechanism, data))
}

/// The server's state between its first message and the client's final one.
#[derive(Debug)]
pub struct Exchange {
    client_first_bare: String,
    server_first: String,
    nonce: String,
    gs2_header: String,
    /// `None` for an unknown user: the exchange runs to the end and fails,
    /// so a client cannot tell unknown users from wrong passwords.
    verifier: Option<Verifier>,
}

/// Answer the client-first message. `decoy_salt` is used when there is no
/// verifier, so an unknown user gets a salt that looks like a real one.
pub fn server_first(
    client_first: &[u8],
    verifier: Option<Verifier>,
    decoy_salt: &[u8],
) -> Result<(String, Exchange), Failure> {
    let text = std::str::from_utf8(client_first).map_err(|_| MALFORMED)?;
    let mut parts = text.splitn(3, ',');
    let (flag, authzid, bare) =
        (parts.next().ok_or(MALFORMED)?, parts.next().ok_or(MALFORMED)?, parts.next().ok_or(MALFORMED)?);
    if !authzid.is_empty() {
        return Err(Failure::Protocol("client uses authorization identity, but it is not supported"));
    }
    if flag != "n" && flag != "y" {
        return Err(Failure::Protocol("channel binding is not supported"));
    }
    let mut attrs = bare.split(',');
    if !attrs.next().is_some_and(|a| a.starts_with("n=")) {
        return Err(MALFORMED);
    }
    let client_nonce = attrs
        .next()
        .and_then(|r| r.strip_prefix("r="))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b','))
        .ok_or(MALFORMED)?;
    let mut raw = [0u8; 18];
    SystemRandom::new().fill(&mut raw).map_err(|_| Failure::Protocol("could not generate a random nonce"))?;
    let nonce = format!("{client_nonce}{}", B64.encode(raw));
    let (salt, iterations) = match &verifier {
        Some(v) => (v.salt.clone(), v.iterations),
        None => (decoy_salt.to_vec(), ITERATIONS),
    };
    let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(&salt));
    let exchange = Exchange {
        client_first_bare: bare.to_string(),
        server_first: server_first.clone(),
        nonce,
        gs2_header: format!("{flag},,"),
        verifier,
    };
    Ok((server_first, exchange))
}

/// Check the client-final message; on success, the server-final message.
pub fn server_final(exchange: &Exchange, client_final: &[u8]) -> Result<String, Failure> {
    let text = std::str::from_utf8(client_final).map_err(|_| MALFORMED)?;
    let (without_proof, proof) = text.rsplit_once(",p=").ok_or(MALFORMED)?;
    let mut attrs = without_proof.split(',');
    let binding = attrs.next().and_then(|c| c.strip_prefix("c=")).ok_or(MALFORMED)?;
    let nonce = attrs.next().and_then(|r| r.strip_prefix("r=")).ok_or(MALFORMED)?;
    if B64.decode(binding).ok().as_deref() != Some(exchange.gs2_header.as_bytes()) {
        return Err(Failure::Protocol("SCRAM channel binding check failed"));
    }
    if nonce != exchange.nonce {
        return Err(Failure::Protocol("unexpected SCRAM nonce"));
    }
    let proof = B64.decode(proof).map_err(|_| MALFORMED)?;
    if proof.len() != 32 {
        return Err(MALFORMED);
    }
    let Some(v) = &exchange.verifier else { return Err(Failure::Rejected) };
    let auth_message = format!("{},{},{}", exchange.client_first_bare, exchange.server_first, without_proof);
    let signature = mac(&v.stored_key, auth_message.as_bytes());
    let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
    if !constant_time_eq(&sha256(&client_key), &v.stored_key) {
        return Err(Failure::Rejected);
    }
    Ok(format!("v={}", B64.encode(mac(&v.server_key, auth_message.as_bytes()))))
}

/// A salt for a user that does not exist, stable per name and server run.
pub fn decoy_salt(secret: &[u8], user: &str) -> Vec<u8> {
    mac(secret, user.as_bytes())[..16].to_vec()
}
