//! Object identifiers: the OIDs PostgreSQL clients key catalog rows by.
//!
//! The Glue model has no OIDs, so glaux derives them from names: a schema's
//! OID hashes its name, a relation's its schema and name (FNV-1a, folded
//! into 16384..2^31, the range PostgreSQL gives user objects). The same
//! name has the same OID in every session, on every server and after a
//! restart, which is what clients caching OIDs between queries rely on.
//! Two names could hash alike; with the catalog sizes glaux serves
//! (thousands of tables) the chance is about one in a thousand million per
//! pair, and a collision only confuses a tool's metadata view.
//! System objects (pg_catalog, its types and functions) have fixed OIDs
//! below 16384, PostgreSQL's where it has one.

/// `pg_catalog`'s OID, as in PostgreSQL.
pub const PG_CATALOG: u32 = 11;
/// `public`'s OID, as in PostgreSQL.
pub const PUBLIC: u32 = 2200;
/// `information_schema`'s OID.
pub const INFORMATION_SCHEMA: u32 = 13000;
/// The one role clients see as owner of everything (PostgreSQL's bootstrap
/// superuser OID).
pub const OWNER: u32 = 10;
/// pg_class's own OID, the `classoid` of relation comments.
pub const PG_CLASS: u32 = 1259;
/// pg_namespace's OID, the `classoid` of schema comments.
pub const PG_NAMESPACE: u32 = 2615;
/// The first OID of glaux's functions in pg_proc.
pub const FIRST_FUNCTION: u32 = 9000;

const FIRST_USER: u32 = 16385;

/// The OID of a database (a glaux catalog), the same in every session.
pub fn database(name: &str) -> u32 {
    fold(fnv1a(&["database", name]))
}

/// The OID of a schema (a Glue database).
pub fn namespace(name: &str) -> u32 {
    match name {
        "pg_catalog" => PG_CATALOG,
        "public" => PUBLIC,
        "information_schema" => INFORMATION_SCHEMA,
        _ => fold(fnv1a(&["namespace", name])),
    }
}

/// The OID of a table or view (PostgreSQL's for the system catalogs
/// clients name by OID, such as pg_class as the `classoid` of comments).
pub fn relation(schema: &str, name: &str) -> u32 {
    match (schema, name) {
        ("pg_catalog", "pg_type") => 1247,
        ("pg_catalog", "pg_attribute") => 1249,
        ("pg_catalog", "pg_proc") => 1255,
        ("pg_catalog", "pg_class") => PG_CLASS,
        ("pg_catalog", "pg_database") => 1262,
        ("pg_catalog", "pg_namespace") => PG_NAMESPACE,
        _ => fold(fnv1a(&["relation", schema, name])),
    }
}

fn fold(hash: u32) -> u32 {
    FIRST_USER + hash % (i32::MAX as u32 - FIRST_USER)
}

fn fnv1a(parts: &[&str]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A separator byte, so ("ab", "c") and ("a", "bc") differ.
            hash = hash.wrapping_mul(0x0100_0193);
        }
        for byte in part.bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    }
    hash
}
