//! Partition values Hive escapes in folder names (`city=a%2Fb` holds the
//! value `a/b`) round-trip exactly between the catalog, the folder name
//! and the object key, on local disk and on S3 with both catalogs: no
//! partition reads as silently empty.

use crate::common::{engine_in, simple_rows, TestServer};
use crate::s3::{create_bucket, moto_store, start_moto};
use glaux::engine::Engine;
use object_store::path::Path as StorePath;
use object_store::ObjectStoreExt;
use std::collections::BTreeMap;

/// Each value and the folder name Hive writes for it: every character of
/// Hive's escape set, and some it leaves alone (space, `}`, unicode).
const CASES: &[(&str, &str)] = &[
    ("a/b", "a%2Fb"),
    ("k=v", "k%3Dv"),
    ("50%", "50%25"),
    ("x:y?z", "x%3Ay%3Fz"),
    ("q\"d", "q%22d"),
    ("h#s", "h%23s"),
    ("it's", "it%27s"),
    ("st*r", "st%2Ar"),
    ("[br]", "%5Bbr%5D"),
    ("{c}", "%7Bc}"),
    ("^c", "%5Ec"),
    ("back\\s", "back%5Cs"),
    ("tab\tx", "tab%09x"),
    ("del\x7f", "del%7F"),
    ("sp ace", "sp ace"),
    ("ünï", "ünï"),
    ("plain", "plain"),
];

/// Partition `i` holds `i + 1` rows; the default (NULL) partition 3.
fn rows_of(i: usize) -> String {
    (0..=i).map(|n| format!("{n}\n")).collect()
}

fn expected() -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> =
        CASES.iter().enumerate().map(|(i, (v, _))| (v.to_string(), (i + 1).to_string())).collect();
    m.insert("NULL".into(), "3".into());
    m
}

/// city -> row count, as the table reads.
async fn counts(client: &tokio_postgres::Client, table: &str) -> BTreeMap<String, String> {
    let rows = simple_rows(client, &format!("SELECT city, count(*) FROM {table} GROUP BY city")).await;
    rows.into_iter().map(|r| (r[0].clone(), r[1].clone())).collect()
}

async fn check_every_value_reads(client: &tokio_postgres::Client, table: &str) {
    assert_eq!(counts(client, table).await, expected(), "{table}");
    // And each one chosen by its value (pruning before any listing).
    for (i, (value, _)) in CASES.iter().enumerate() {
        let literal = value.replace('\'', "''");
        let sql = format!(
            "SELECT count(*) FROM {table} WHERE city = E'{}'",
            literal.replace('\\', "\\\\").replace('\t', "\\t")
        );
        assert_eq!(simple_rows(client, &sql).await, vec![vec![(i + 1).to_string()]], "{table} {value:?}");
    }
}

const TABLE_DDL: &str = "(id int) PARTITIONED BY (city string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','";

#[tokio::test]
async fn hive_escaped_partition_folders_read_exactly_on_local_disk() {
    // The 15 rows under `city=x%3Ay%3Fz` were missing from count(*).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t");
    for (i, (_, folder)) in CASES.iter().enumerate() {
        let d = root.join(format!("city={folder}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("data.csv"), rows_of(i)).unwrap();
    }
    let d = root.join("city=__HIVE_DEFAULT_PARTITION__");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("data.csv"), rows_of(2)).unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let client = server.connect().await;
    let location = root.to_str().unwrap();
    client.batch_execute(&format!("CREATE EXTERNAL TABLE t {TABLE_DDL} LOCATION '{location}/'")).await.unwrap();
    check_every_value_reads(&client, "t").await;
    // The same through a file:// location, after MSCK.
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE f {TABLE_DDL} LOCATION 'file://{location}/'; MSCK REPAIR TABLE f"
        ))
        .await
        .unwrap();
    check_every_value_reads(&client, "f").await;

    // A partition added by value lands in the folder Hive would name.
    client.batch_execute("ALTER TABLE t ADD PARTITION (city = 'new/one:?')").await.unwrap();
    let d = root.join("city=new%2Fone%3A%3F");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("data.csv"), "1\n2\n").unwrap();
    let sql = "SELECT count(*) FROM t WHERE city = 'new/one:?'";
    assert_eq!(simple_rows(&client, sql).await, vec![vec!["2".to_string()]]);

    // A registered partition whose folder is gone reads as empty, as in
    // Athena, but never silently: the client gets a NOTICE naming it.
    client.batch_execute("ALTER TABLE t ADD PARTITION (city = 'gone')").await.unwrap();
    let (watched, notices) = server.connect_with_notices().await;
    assert_eq!(simple_rows(&watched, "SELECT count(*) FROM t WHERE city = 'gone'").await, vec![vec!["0".to_string()]]);
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("partition (city=gone) of table public.t") && said.contains("does not exist"), "{said}");
}

/// Put every case's folder under `s3://lake/t/`.
async fn put_partitions(endpoint: &str) {
    let store = moto_store(endpoint, "lake");
    for (i, (_, folder)) in CASES.iter().enumerate() {
        let key = StorePath::parse(format!("t/city={folder}/data.csv")).unwrap();
        store.put(&key, rows_of(i).into_bytes().into()).await.unwrap();
    }
    let key = StorePath::parse("t/city=__HIVE_DEFAULT_PARTITION__/data.csv").unwrap();
    store.put(&key, rows_of(2).into_bytes().into()).await.unwrap();
}

async fn check_s3(engine: Engine, catalog: &str) {
    let server = TestServer::start(engine).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE DATABASE hive; CREATE EXTERNAL TABLE hive.t {TABLE_DDL} LOCATION 's3://lake/t/'; MSCK REPAIR TABLE hive.t"
        ))
        .await
        .unwrap();
    eprintln!("checking S3 with the {catalog} catalog");
    check_every_value_reads(&client, "hive.t").await;
}

#[tokio::test]
async fn hive_escaped_partition_keys_read_exactly_on_s3_with_both_catalogs() {
    // On S3 after MSCK REPAIR TABLE, `a/b`, `k=v`, `50%` and `x:y?z` all
    // read as empty: the key was percent-decoded once too often.
    let moto = start_moto().await;
    create_bucket(moto.port, "lake").await;
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    put_partitions(&endpoint).await;
    let dir = tempfile::tempdir().unwrap();

    let mut embedded = crate::glue::glue_config(&dir.path().join("embedded"), &endpoint);
    embedded.set("catalog.type", "embedded").unwrap();
    check_s3(Engine::open(embedded).await.unwrap(), "embedded").await;

    let glue = crate::glue::glue_config(&dir.path().join("glue"), &endpoint);
    check_s3(Engine::open(glue).await.unwrap(), "glue").await;
}
