//! Tables on an S3-compatible store: a real moto server started on
//! loopback (`moto_server`, installed by .ci/run from PyPI).

use crate::common::fixtures;
use glaux::config::Config;
use glaux::engine::{Engine, Output};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) struct Moto {
    child: Child,
    pub(crate) port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) async fn start_moto() -> Moto {
    let port = free_port();
    let mut child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server must be installed (pip install 'moto[server]'; .ci/run does this)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Moto { child, port };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("moto_server did not start on port {port}");
}

/// A client of bucket `bucket` on the moto server at `endpoint`.
pub(crate) fn moto_store(endpoint: &str, bucket: &str) -> object_store::aws::AmazonS3 {
    AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .unwrap()
}

/// CreateBucket through a plain HTTP PUT (moto does not check signatures).
pub(crate) async fn create_bucket(port: u16, bucket: &str) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req =
        format!("PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
}

/// Every row `sql` answers, as text (NULL as empty).
async fn rows(s: &mut glaux::engine::Session, sql: &str) -> Vec<Vec<String>> {
    use futures::StreamExt;
    let out = s.run_script(sql).await.unwrap();
    let Some(Output::Rows { mut stream, .. }) = out.into_iter().next() else { panic!("no rows") };
    let mut all = Vec::new();
    while let Some(batch) = stream.next().await {
        all.extend(glaux::pgtypes::text_rows(&batch.unwrap()).unwrap());
    }
    all.into_iter().map(|r| r.into_iter().map(Option::unwrap_or_default).collect()).collect()
}

#[tokio::test]
async fn external_tables_on_an_s3_compatible_store() {
    let moto = start_moto().await;
    create_bucket(moto.port, "lake").await;
    let dir = tempfile::tempdir().unwrap();
    let data = fixtures::generate(&dir.path().join("data")).await;
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let store = moto_store(&endpoint, "lake");
    for (local, key) in [
        ("orders_parquet/part-0.parquet", "orders/part-0.parquet"),
        ("orders_parquet/_SUCCESS", "orders/_SUCCESS"),
        ("orders_csv_gz/part-0.csv.gz", "orders_gz/part-0.csv.gz"),
    ] {
        let bytes = std::fs::read(data.join(local)).unwrap();
        store.put(&StorePath::from(key), bytes.into()).await.unwrap();
    }

    let mut config = Config::for_data_dir(&dir.path().join("glaux"));
    for (k, v) in [
        ("s3.endpoint", endpoint.as_str()),
        ("s3.region", "us-east-1"),
        ("s3.access_key_id", "test"),
        ("s3.secret_access_key", "test"),
        ("s3.path_style", "true"),
        ("s3.allow_http", "true"),
    ] {
        config.set(k, v).unwrap();
    }
    let engine = Engine::open(config).await.unwrap();
    let mut s = engine.session("u", None).unwrap();
    s.run_script(
        "CREATE EXTERNAL TABLE orders STORED AS PARQUET LOCATION 's3://lake/orders/';
         CREATE EXTERNAL TABLE orders_gz (id bigint, customer string, amount double, placed date)
           ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION 's3://lake/orders_gz/'
           TBLPROPERTIES ('skip.header.line.count'='1')",
    )
    .await
    .unwrap();
    for table in ["orders", "orders_gz"] {
        let out = s.run_script(&format!("SELECT sum(id), count(amount) FROM {table}")).await.unwrap();
        let Some(Output::Rows { mut stream, .. }) = out.into_iter().next() else { panic!("no rows") };
        use futures::StreamExt;
        let batch = stream.next().await.unwrap().unwrap();
        let rows = glaux::pgtypes::text_rows(&batch).unwrap();
        assert_eq!(rows, vec![vec![Some("15".to_string()), Some("4".to_string())]], "{table}");
    }
    assert!(engine.bytes_read() > 0);

    // INSERT writes new files beside the old ones; a partitioned table's
    // rows go to Hive's folders (values escaped), its new partitions
    // registered.
    s.run_script(
        "INSERT INTO orders VALUES (6, 'dave', 1.5, DATE '2024-03-01');
         CREATE EXTERNAL TABLE sales (id bigint) PARTITIONED BY (day string) STORED AS PARQUET
           LOCATION 's3://lake/sales/';
         INSERT INTO sales VALUES (1, '2024-01-01'), (2, 'a b:c'), (3, '2024-01-01')",
    )
    .await
    .unwrap();
    let got: Vec<Vec<String>> = rows(&mut s, "SELECT count(*), sum(id) FROM orders").await;
    assert_eq!(got, vec![vec!["6".to_string(), "21".to_string()]]);
    let got: Vec<Vec<String>> =
        rows(&mut s, "SELECT day, count(*), sum(id) FROM sales GROUP BY day ORDER BY day").await;
    assert_eq!(
        got,
        vec![vec!["2024-01-01".to_string(), "2".into(), "4".into()], vec!["a b:c".into(), "1".into(), "2".into()]]
    );
    let got: Vec<Vec<String>> = rows(&mut s, "SHOW PARTITIONS sales").await;
    assert_eq!(got, vec![vec!["day=2024-01-01".to_string()], vec!["day=a b:c".to_string()]]);
    use futures::TryStreamExt;
    let listed: Vec<object_store::ObjectMeta> =
        store.list(Some(&StorePath::from("sales"))).try_collect().await.unwrap();
    let mut folders: Vec<String> =
        listed.iter().map(|o| o.location.as_ref().rsplit_once('/').unwrap().0.to_string()).collect();
    folders.sort();
    assert_eq!(folders.len(), 2, "{listed:?}");
    assert!(folders[0].ends_with("day=2024-01-01") && folders[1].contains("day=a b"), "{folders:?}");
    let orders: Vec<object_store::ObjectMeta> =
        store.list(Some(&StorePath::from("orders"))).try_collect().await.unwrap();
    assert_eq!(orders.iter().filter(|o| o.location.as_ref().ends_with(".parquet")).count(), 2, "{orders:?}");

    // Both convert to Iceberg in place, with the same answers; the Iceberg
    // metadata goes under each location's _iceberg/ folder, the files stay.
    let by_day = "SELECT day, count(*), sum(id) FROM sales GROUP BY day ORDER BY day";
    let totals = "SELECT count(*), sum(id), sum(amount) FROM orders";
    let (sales_before, orders_before) = (rows(&mut s, by_day).await, rows(&mut s, totals).await);
    s.run_script("ALTER TABLE sales CONVERT TO ICEBERG; CALL system.migrate('orders')").await.unwrap();
    assert_eq!(rows(&mut s, by_day).await, sales_before);
    assert_eq!(rows(&mut s, totals).await, orders_before);
    assert_eq!(rows(&mut s, "SELECT count(*) FROM \"sales$files\"").await, vec![vec!["2".to_string()]]);
    let metadata: Vec<object_store::ObjectMeta> =
        store.list(Some(&StorePath::from("sales/_iceberg/metadata"))).try_collect().await.unwrap();
    assert!(metadata.iter().any(|o| o.location.as_ref().ends_with(".metadata.json")), "{metadata:?}");
    s.run_script("INSERT INTO sales VALUES (4, 'a b:c')").await.unwrap();
    let got = rows(&mut s, "SELECT count(*), sum(id) FROM sales WHERE day = 'a b:c'").await;
    assert_eq!(got, vec![vec!["2".to_string(), "6".to_string()]]);
    assert_eq!(rows(&mut s, "SELECT count(*) FROM sales_backup_hive").await, vec![vec!["3".to_string()]]);
    // An ORC table too: its files are read from S3 by the Iceberg table,
    // deletes applied.
    s.run_script(
        "CREATE TABLE events WITH (format = 'ORC', external_location = 's3://lake/events/', partitioned_by = ARRAY['kind']) \
         AS SELECT v AS id, 'e' || v AS name, CASE WHEN v % 2 = 0 THEN 'even:x' ELSE 'odd' END AS kind \
         FROM generate_series(1, 30) AS g(v)",
    )
    .await
    .unwrap();
    let by_kind = "SELECT kind, count(*), sum(id), max(name) FROM events GROUP BY kind ORDER BY kind";
    let events_before = rows(&mut s, by_kind).await;
    s.run_script("ALTER TABLE events CONVERT TO ICEBERG; DELETE FROM events WHERE id > 25").await.unwrap();
    assert_eq!(rows(&mut s, &by_kind.replace("FROM events", "FROM events_backup_hive")).await, events_before);
    let kept = by_kind.replace("FROM events", "FROM events_backup_hive WHERE id <= 25");
    assert_eq!(rows(&mut s, by_kind).await, rows(&mut s, &kept).await);
    let formats = rows(&mut s, "SELECT DISTINCT file_format FROM \"events$files\" WHERE content = 0").await;
    assert_eq!(formats, vec![vec!["ORC".to_string()]]);

    // A bucket that does not exist is a storage error, not a crash.
    let err = s
        .run_script("CREATE EXTERNAL TABLE nope STORED AS PARQUET LOCATION 's3://no-such-bucket/x/'")
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate().code(), "58030", "{err}");
}
