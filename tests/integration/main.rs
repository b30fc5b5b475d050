//! Integration tests: the server driven by a real Postgres client
//! (tokio-postgres), persistence across restarts, object stores, and
//! regressions. One test binary; modules by area.

#[path = "../common/mod.rs"]
mod common;

mod binary;
mod catalog_store;
mod clients;
mod crash;
mod crawl;
mod docs;
mod drivers;
mod partitions;
mod protocol;
mod refusals;
mod framing;
mod fuzz;
mod glue;
mod hostile;
mod lake_paths;
mod s3;
mod soak;
mod security;
mod types;
mod workgroups;
mod wire;
