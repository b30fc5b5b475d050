//! AWS Glue as the catalog: a real moto server (Glue and S3 APIs) on
//! loopback. Tables written straight through the Glue API, as Athena and
//! Glue crawlers write them, are read by glaux; tables glaux creates are
//! checked through the Glue API for the shapes Athena expects.

use crate::common::{fixtures, simple_rows, TestServer};
use crate::s3::{create_bucket, free_port, moto_store, start_moto};
use aws_sdk_glue::types::{Column, DatabaseInput, PartitionInput, SerDeInfo, StorageDescriptor, TableInput};
use glaux::config::Config;
use glaux::engine::Engine;
use object_store::path::Path as StorePath;
use object_store::ObjectStoreExt;
use std::collections::HashMap;

const PARQUET_IN: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
const PARQUET_OUT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

fn glue_client(endpoint: &str) -> aws_sdk_glue::Client {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let config = aws_sdk_glue::Config::builder()
        .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
        .region(aws_sdk_glue::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_glue::config::Credentials::new("test", "test", None, None, "test"))
        .http_client(http)
        .build();
    aws_sdk_glue::Client::from_conf(config)
}

fn column(name: &str, t: &str) -> Column {
    Column::builder().name(name).r#type(t).build().unwrap()
}

fn parquet_sd(columns: &[(&str, &str)], location: &str) -> StorageDescriptor {
    StorageDescriptor::builder()
        .set_columns(Some(columns.iter().map(|(n, t)| column(n, t)).collect()))
        .location(location)
        .input_format(PARQUET_IN)
        .output_format(PARQUET_OUT)
        .serde_info(
            SerDeInfo::builder().serialization_library(PARQUET_SERDE).parameters("serialization.format", "1").build(),
        )
        .build()
}

pub(crate) fn glue_config(dir: &std::path::Path, endpoint: &str) -> Config {
    let mut config = Config::for_data_dir(dir);
    for (k, v) in [
        ("catalog.type", "glue"),
        ("glue.endpoint", endpoint),
        ("glue.region", "us-east-1"),
        ("glue.access_key_id", "test"),
        ("glue.secret_access_key", "test"),
        ("s3.endpoint", endpoint),
        ("s3.region", "us-east-1"),
        ("s3.access_key_id", "test"),
        ("s3.secret_access_key", "test"),
        ("s3.path_style", "true"),
        ("s3.allow_http", "true"),
    ] {
        config.set(k, v).unwrap();
    }
    config
}

#[tokio::test]
async fn glue_catalog_reads_and_writes_athena_shapes() {
    let moto = start_moto().await;
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    create_bucket(moto.port, "lake").await;
    let dir = tempfile::tempdir().unwrap();
    let data = fixtures::generate(&dir.path().join("data")).await;
    let store = moto_store(&endpoint, "lake");
    for (local, key) in [
        ("sales/region=eu/part-0.parquet", "sales/region=eu/part-0.parquet"),
        ("sales/region=us/part-0.parquet", "sales/region=us/part-0.parquet"),
        ("customers_csv/customers.csv", "customers/customers.csv"),
        ("crawl/events/day=1/part-0.parquet", "raw/events/day=1/part-0.parquet"),
        ("crawl/events/day=2/part-0.parquet", "raw/events/day=2/part-0.parquet"),
    ] {
        store.put(&StorePath::from(key), std::fs::read(data.join(local)).unwrap().into()).await.unwrap();
    }

    // Tables written directly through the Glue API, as a crawler would.
    let glue = glue_client(&endpoint);
    glue.create_database().database_input(DatabaseInput::builder().name("lake").build().unwrap()).send().await.unwrap();
    let sales = TableInput::builder()
        .name("sales")
        .table_type("EXTERNAL_TABLE")
        .storage_descriptor(parquet_sd(&[("id", "bigint"), ("amount", "double")], "s3://lake/sales/"))
        .partition_keys(column("region", "string"))
        .parameters("classification", "parquet")
        .build()
        .unwrap();
    glue.create_table().database_name("lake").table_input(sales).send().await.unwrap();
    for region in ["eu", "us"] {
        let partition = PartitionInput::builder()
            .values(region)
            .storage_descriptor(parquet_sd(
                &[("id", "bigint"), ("amount", "double")],
                &format!("s3://lake/sales/region={region}/"),
            ))
            .build();
        glue.create_partition()
            .database_name("lake")
            .table_name("sales")
            .partition_input(partition)
            .send()
            .await
            .unwrap();
    }
    let csv_sd = StorageDescriptor::builder()
        .set_columns(Some(vec![column("name", "string"), column("country", "string")]))
        .location("s3://lake/customers/")
        .input_format("org.apache.hadoop.mapred.TextInputFormat")
        .output_format("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat")
        .serde_info(
            SerDeInfo::builder()
                .serialization_library("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe")
                .set_parameters(Some(HashMap::from([("field.delim".to_string(), ",".to_string())])))
                .build(),
        )
        .build();
    let customers = TableInput::builder()
        .name("customers")
        .table_type("EXTERNAL_TABLE")
        .storage_descriptor(csv_sd)
        .parameters("classification", "csv")
        .parameters("skip.header.line.count", "1")
        .build()
        .unwrap();
    glue.create_table().database_name("lake").table_input(customers).send().await.unwrap();

    let mut config = glue_config(&dir.path().join("glaux"), &endpoint);
    config.set("catalog.others", "local:embedded").unwrap();
    let engine = Engine::open(config.clone()).await.unwrap();
    let server = TestServer::start(engine).await;
    let client = server.connect().await;

    assert_eq!(
        simple_rows(&client, "SELECT region, count(*), sum(amount) FROM lake.sales GROUP BY region ORDER BY region")
            .await,
        vec![vec!["eu", "2", "30"], vec!["us", "1", "30"]]
    );
    assert_eq!(
        simple_rows(&client, "SELECT country, count(*) FROM lake.customers GROUP BY country ORDER BY country").await,
        vec![vec!["FR", "2"], vec!["US", "1"]]
    );
    // The partition condition goes to Glue as a GetPartitions expression:
    // one partition comes back, and only its folder is read.
    let plan = simple_rows(&client, "EXPLAIN SELECT sum(amount) FROM lake.sales WHERE region = 'us'").await;
    let plan: String = plan.iter().map(|r| r.join(" ")).collect::<Vec<_>>().join("\n");
    assert!(plan.contains("PartitionsScan: table=lake.sales, partitions=1 of ?"), "{plan}");
    assert!(!plan.contains("region=eu"), "{plan}");
    assert_eq!(
        simple_rows(&client, "SELECT sum(id) FROM lake.sales WHERE region IN ('us', 'mars')").await,
        vec![vec!["3"]]
    );
    // Ranges go to Glue too (a listing of every partition would count them).
    let plan = simple_rows(&client, "EXPLAIN SELECT sum(amount) FROM lake.sales WHERE region > 'f'").await;
    let plan: String = plan.iter().map(|r| r.join(" ")).collect::<Vec<_>>().join("\n");
    assert!(plan.contains("partitions=1 of ?"), "{plan}");
    assert_eq!(
        simple_rows(&client, "SELECT sum(id) FROM lake.sales WHERE region BETWEEN 'a' AND 'f'").await,
        vec![vec!["3"]]
    );
    assert_eq!(simple_rows(&client, "SHOW PARTITIONS lake.sales").await, vec![vec!["region=eu"], vec!["region=us"]]);

    // A table created through glaux, in the shapes Athena writes.
    client
        .batch_execute(
            "CREATE EXTERNAL TABLE lake.sales2 (id bigint, amount double) PARTITIONED BY (region string)
             STORED AS PARQUET LOCATION 's3://lake/sales/';
             ALTER TABLE lake.sales2 ADD PARTITION (region = 'asia') LOCATION 's3://lake/sales/region=us/'",
        )
        .await
        .unwrap();
    let table = glue.get_table().database_name("lake").name("sales2").send().await.unwrap();
    let table = table.table().unwrap();
    assert_eq!(table.table_type(), Some("EXTERNAL_TABLE"));
    assert_eq!(table.parameters().and_then(|p| p.get("EXTERNAL")).map(String::as_str), Some("TRUE"));
    let sd = table.storage_descriptor().unwrap();
    assert_eq!(sd.input_format(), Some(PARQUET_IN));
    assert_eq!(sd.output_format(), Some(PARQUET_OUT));
    assert_eq!(sd.serde_info().and_then(|s| s.serialization_library()), Some(PARQUET_SERDE));
    assert_eq!(sd.location(), Some("s3://lake/sales/"));
    let keys: Vec<(&str, Option<&str>)> = table.partition_keys().iter().map(|c| (c.name(), c.r#type())).collect();
    assert_eq!(keys, vec![("region", Some("string"))]);
    let partitions = glue.get_partitions().database_name("lake").table_name("sales2").send().await.unwrap();
    let mut found: Vec<(String, String, String)> = partitions
        .partitions()
        .iter()
        .map(|p| {
            let sd = p.storage_descriptor().unwrap();
            (p.values().join("/"), sd.location().unwrap_or("").to_string(), sd.input_format().unwrap_or("").to_string())
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("asia".into(), "s3://lake/sales/region=us/".into(), PARQUET_IN.into()),
            ("eu".into(), "s3://lake/sales/region=eu/".into(), PARQUET_IN.into()),
            ("us".into(), "s3://lake/sales/region=us/".into(), PARQUET_IN.into()),
        ]
    );
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM lake.sales2 WHERE region <> 'eu'").await, vec![vec!["2"]]);
    client.batch_execute("ALTER TABLE lake.sales2 DROP PARTITION (region = 'asia')").await.unwrap();
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM lake.sales2").await, vec![vec!["3"]]);
    // TBLPROPERTIES changes go through UpdateTable, which keeps versions.
    client.batch_execute("ALTER TABLE lake.sales2 SET TBLPROPERTIES ('owner' = 'analytics')").await.unwrap();
    let table = glue.get_table().database_name("lake").name("sales2").send().await.unwrap();
    assert_eq!(table.table().unwrap().parameters().and_then(|p| p.get("owner")).map(String::as_str), Some("analytics"));
    let versions = simple_rows(&client, "SHOW TABLE VERSIONS lake.sales2").await;
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[1][1], "id bigint, amount double");

    // Views are stored as Athena stores them, and read back.
    client
        .batch_execute("CREATE VIEW lake.eu_sales AS SELECT id, amount FROM lake.sales WHERE region = 'eu'")
        .await
        .unwrap();
    let view = glue.get_table().database_name("lake").name("eu_sales").send().await.unwrap();
    let view = view.table().unwrap();
    assert_eq!(view.table_type(), Some("VIRTUAL_VIEW"));
    assert_eq!(view.parameters().and_then(|p| p.get("presto_view")).map(String::as_str), Some("true"));
    let text = view.view_original_text().unwrap();
    let encoded = text.strip_prefix("/* Presto View: ").and_then(|t| t.strip_suffix(" */")).expect(text);
    use base64::Engine as _;
    let json: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(json["originalSql"], "SELECT id, amount FROM lake.sales WHERE region = 'eu'");
    assert_eq!(
        json["columns"],
        serde_json::json!([{"name": "id", "type": "bigint"}, {"name": "amount", "type": "double"}])
    );
    assert_eq!(simple_rows(&client, "SELECT sum(amount) FROM lake.eu_sales").await, vec![vec!["30"]]);

    // The crawler over the S3-compatible store, writing to Glue.
    let crawl = simple_rows(&client, "CRAWL 's3://lake/raw/' INTO lake").await;
    assert_eq!(crawl, vec![vec!["lake.events", "created", "3 columns, 2 partitions; version 1"]]);
    let partitions = glue.get_partitions().database_name("lake").table_name("events").send().await.unwrap();
    let mut own: Vec<(String, Vec<String>)> = partitions
        .partitions()
        .iter()
        .map(|p| {
            (
                p.values().join("/"),
                p.storage_descriptor().unwrap().columns().iter().map(|c| c.name().to_string()).collect(),
            )
        })
        .collect();
    own.sort();
    assert_eq!(
        own,
        vec![
            ("1".into(), vec!["id".into(), "amount".into()]),
            ("2".into(), vec!["id".into(), "amount".into(), "note".into()])
        ]
    );
    assert_eq!(
        simple_rows(&client, "SELECT id, amount, note FROM lake.events ORDER BY id").await,
        vec![vec!["1", "10", "NULL"], vec!["2", "20.5", "late"]]
    );

    // Errors keep their SQLSTATEs over Glue.
    let err = client.simple_query("SELECT * FROM lake.nope").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42P01"), "{err:?}");
    let err =
        client.simple_query("CREATE EXTERNAL TABLE lake.sales (id int) LOCATION 's3://lake/sales/'").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42P07"), "{err:?}");

    // Glue beside the embedded catalog: one query joins them.
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE local.public.people (name string, country string) \
             ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}/customers_csv' \
             TBLPROPERTIES ('skip.header.line.count'='1')",
            data.display()
        ))
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&client, "SELECT count(*) FROM lake.customers c JOIN local.public.people p USING (name, country)")
            .await,
        vec![vec!["3"]]
    );
    assert!(glue.get_table().database_name("public").name("people").send().await.is_err());

    // UpdateTable is a compare-and-swap on the version read.
    let metastore = glaux::catalog::glue::GlueCatalog::connect(&config).await.unwrap();
    use glaux::catalog::Metastore as _;
    let read = metastore.get_table("lake", "sales2").await.unwrap().unwrap();
    assert!(read.version > 0, "{read:?}");
    let mut first = read.clone();
    first.parameters.insert("writer".into(), "first".into());
    metastore.update_table(first).await.unwrap();
    let mut second = read;
    second.parameters.insert("writer".into(), "second".into());
    let e = metastore.update_table(second).await.unwrap_err();
    assert_eq!(e.sqlstate(), glaux::error::SqlState::SerializationFailure, "{e}");
    let table = glue.get_table().database_name("lake").name("sales2").send().await.unwrap();
    assert_eq!(table.table().unwrap().parameters().and_then(|p| p.get("writer")).map(String::as_str), Some("first"));

    // A Hive table in Glue converts to Iceberg in place: Glue's entry is
    // Athena's Iceberg shape, the Hive definition is kept with its
    // partitions, and the answers are the same.
    let by_region = "SELECT region, count(*), sum(id) FROM lake.sales GROUP BY region ORDER BY region";
    let before = simple_rows(&client, by_region).await;
    client.batch_execute("ALTER TABLE lake.sales CONVERT TO ICEBERG").await.unwrap();
    assert_eq!(simple_rows(&client, by_region).await, before);
    assert_eq!(simple_rows(&client, &by_region.replace("lake.sales", "lake.sales_backup_hive")).await, before);
    let table = glue.get_table().database_name("lake").name("sales").send().await.unwrap();
    let parameters = table.table().unwrap().parameters().cloned().unwrap_or_default();
    assert_eq!(parameters.get("table_type").map(String::as_str), Some("ICEBERG"), "{parameters:?}");
    assert!(parameters.get("metadata_location").is_some_and(|m| m.starts_with("s3://lake/sales/_iceberg/metadata/")));
    let kept = glue.get_partitions().database_name("lake").table_name("sales_backup_hive").send().await.unwrap();
    assert_eq!(kept.partitions().len(), 2);

    client.batch_execute("DROP TABLE lake.sales2").await.unwrap();
    assert!(glue.get_table().database_name("lake").name("sales2").send().await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn glue_endpoint_down_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this port.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let mut config = glue_config(dir.path(), &endpoint);
    config.set("glue.max_attempts", "2").unwrap();
    let err = Engine::open(config).await.unwrap_err();
    assert_eq!(err.sqlstate().code(), "58030", "{err}");
    let message = err.to_string();
    assert!(message.contains(&format!("Glue endpoint {endpoint} cannot be reached")), "{message}");
}

/// An endpoint that answers every call with Glue's ThrottlingException,
/// counting the calls.
async fn throttling_endpoint() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&calls);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = std::sync::Arc::clone(&counter);
            tokio::spawn(async move {
                // Read the request head and its body, then refuse it.
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: ThrottlingException\r\n\
                     Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (endpoint, calls)
}

#[tokio::test]
async fn glue_throttling_is_retried_then_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (endpoint, calls) = throttling_endpoint().await;
    let mut config = glue_config(dir.path(), &endpoint);
    config.set("glue.max_attempts", "3").unwrap();
    let err = Engine::open(config).await.unwrap_err();
    assert_eq!(err.sqlstate().code(), "58030", "{err}");
    assert!(err.to_string().contains("kept throttling"), "{err}");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3, "each attempt reached the endpoint");
}
