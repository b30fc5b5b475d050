//! Integration tests: the server driven by a real Postgres client
//! (tokio-postgres), persistence across restarts, object stores, and
//! regressions. One test binary; modules by area.

#[path = "../common/mod.rs"]
mod common;

mod binary;
mod catalog_store;
mod clients;
mod connectors;
mod crash;
mod crawl;
mod docs;
mod drivers;
mod federated;
mod flight_server;
mod framing;
mod fuzz;
mod glue;
mod hostile;
mod iceberg;
mod lake_paths;
mod partitions;
mod protocol;
mod refusals;
mod s3;
mod security;
mod soak;
mod types;
mod units;
mod wire;
mod workgroups;
mod writes;
