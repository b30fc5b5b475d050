//! Partition pruning as EXPLAIN shows it: the partitions a query's
//! conditions keep, out of those registered.

use crate::common::{plan_text, server_with_fixtures};

#[tokio::test]
async fn explain_shows_the_partitions_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = server_with_fixtures(dir.path()).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE sales (id bigint, amount double) PARTITIONED BY (region string) \
             STORED AS PARQUET LOCATION '{}/sales'",
            data.display()
        ))
        .await
        .unwrap();
    let plan = |sql: &'static str| plan_text(&client, sql);
    let one = plan("EXPLAIN SELECT sum(amount) FROM sales WHERE region = 'us'").await;
    assert!(one.contains("PartitionsScan: table=public.sales, partitions=1 of 2, files=1"), "{one}");
    assert!(!one.contains("region=eu"), "the eu partition's files are not scanned: {one}");
    let all = plan("EXPLAIN SELECT sum(amount) FROM sales WHERE amount > 0").await;
    assert!(all.contains("partitions=2 of 2, files=2"), "{all}");
    let none = plan("EXPLAIN SELECT sum(amount) FROM sales WHERE region = 'mars'").await;
    assert!(none.contains("partitions=0 of 2, files=0"), "{none}");
}

#[tokio::test]
async fn explain_shows_projected_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = server_with_fixtures(dir.path()).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE logs (id int, amount int) PARTITIONED BY (region string, dt string) \
             ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{0}/logs' TBLPROPERTIES ( \
             'projection.enabled' = 'true', 'projection.region.type' = 'enum', 'projection.region.values' = 'eu,us', \
             'projection.dt.type' = 'date', 'projection.dt.format' = 'yyyy/MM/dd', \
             'projection.dt.range' = '2024/01/01,2024/12/31', \
             'storage.location.template' = '{0}/logs/${{region}}/${{dt}}/')",
            data.display()
        ))
        .await
        .unwrap();
    let explain = |sql: &'static str| plan_text(&client, sql);
    // 2 regions x 366 days; one day in one region is one partition.
    let one = explain("EXPLAIN SELECT sum(amount) FROM logs WHERE region = 'eu' AND dt = '2024/01/02'").await;
    assert!(one.contains("PartitionsScan: table=public.logs, partitions=1 of 732 projected"), "{one}");
    assert!(one.contains("logs/eu/2024/01/02"), "the partition's folder is read: {one}");
    assert!(!one.contains("2024/01/01"), "no other folder is read: {one}");
    let week = explain("EXPLAIN SELECT sum(amount) FROM logs WHERE dt BETWEEN '2024/03/01' AND '2024/03/07'").await;
    assert!(week.contains("partitions=14 of 732 projected"), "{week}");
}

/// The `bytes_read=N` figure EXPLAIN ANALYZE prints on the line naming `node`.
fn bytes_read(plan: &str, node: &str) -> u64 {
    let line = plan.lines().find(|l| l.contains(node)).unwrap_or_else(|| panic!("no {node} in {plan}"));
    let at = line.find("bytes_read=").unwrap_or_else(|| panic!("no bytes_read in {line}"));
    line[at + "bytes_read=".len()..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().unwrap()
}

#[tokio::test]
async fn explain_analyze_shows_bytes_read_per_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = server_with_fixtures(dir.path()).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE sales (id bigint, amount double) PARTITIONED BY (region string) \
             STORED AS PARQUET LOCATION '{0}/sales'; \
             CREATE EXTERNAL TABLE people (name string, country string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' \
             LOCATION '{0}/customers_csv'",
            data.display()
        ))
        .await
        .unwrap();
    let analyze = |sql: &'static str| plan_text(&client, sql);
    let one = analyze("EXPLAIN ANALYZE SELECT sum(amount) FROM sales WHERE region = 'us'").await;
    let all = analyze("EXPLAIN ANALYZE SELECT sum(amount) FROM sales").await;
    let (one, all) = (bytes_read(&one, "PartitionsScan"), bytes_read(&all, "PartitionsScan"));
    assert!(one > 0 && all > one, "one partition read {one} bytes, both read {all}");
    // An unpartitioned table's scan, next to a partitioned one in a join:
    // each scan has its own figure.
    let csv_size = std::fs::metadata(data.join("customers_csv/customers.csv")).unwrap().len();
    let join = analyze("EXPLAIN ANALYZE SELECT count(name), sum(amount) FROM people, sales WHERE region = 'eu'").await;
    assert_eq!(bytes_read(&join, "TableScan: table=public.people"), csv_size, "{join}");
    assert!(bytes_read(&join, "PartitionsScan") > 0, "{join}");
}

#[tokio::test]
async fn concurrent_inserts_into_a_hive_table_lose_no_row_and_no_partition() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = server_with_fixtures(dir.path()).await;
    let client = server.connect().await;
    let location = dir.path().join("odd place: 50% =ok");
    std::fs::create_dir_all(&location).unwrap();
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE ev (id bigint, note string) PARTITIONED BY (day string) \
             STORED AS PARQUET LOCATION '{}'",
            location.display()
        ))
        .await
        .unwrap();
    // Four sessions, each ten INSERTs of two rows into two days, the
    // days shared between sessions (the first INSERT of a day registers
    // it, whoever comes first).
    let mut sessions = Vec::new();
    for s in 0..4i64 {
        let client = server.connect().await;
        sessions.push(tokio::spawn(async move {
            let mut inserted = 0u64;
            for i in 0..10i64 {
                let id = s * 100 + i;
                let sql = format!(
                    "INSERT INTO ev VALUES ({id}, 'é', 'd{}'), ({}, NULL, 'd{}/x')",
                    i % 3,
                    id + 10_000,
                    (i + s) % 2
                );
                inserted += client.execute(sql.as_str(), &[]).await.unwrap();
            }
            inserted
        }));
    }
    let mut inserted = 0;
    for session in sessions {
        inserted += session.await.unwrap();
    }
    assert_eq!(inserted, 80);
    let rows = crate::common::simple_rows(&client, "SELECT count(*), count(DISTINCT id), count(note) FROM ev").await;
    assert_eq!(rows, vec![vec!["80".to_string(), "80".to_string(), "40".to_string()]]);
    let days = crate::common::simple_rows(&client, "SHOW PARTITIONS ev").await;
    let days: Vec<&str> = days.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(days, ["day=d0", "day=d0/x", "day=d1", "day=d1/x", "day=d2"]);
    let rows = crate::common::simple_rows(&client, "SELECT count(*) FROM ev WHERE day = 'd1/x'").await;
    assert_eq!(rows, vec![vec!["20".to_string()]]);
    // Each statement wrote one file per partition, into escaped folders.
    let folder = location.join("day=d0%2Fx");
    assert!(folder.is_dir(), "{:?}", std::fs::read_dir(&location).unwrap().collect::<Vec<_>>());

    // An INSERT that fails after writing rows of several partitions
    // leaves no file and registers no partition.
    let files = || crate::common::walk(&location);
    let before = files();
    let sql = "INSERT INTO ev SELECT v, 'n', 'new' || CAST(v % 3 AS varchar) || CAST(10 / (v - 9000) AS varchar) \
               FROM generate_series(1, 10000) AS g(v)";
    let e = client.execute(sql, &[]).await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22012", "{e:?}");
    assert_eq!(files(), before);
    let again = crate::common::simple_rows(&client, "SHOW PARTITIONS ev").await;
    assert_eq!(again.len(), 5, "{again:?}");
    let rows = crate::common::simple_rows(&client, "SELECT count(*) FROM ev").await;
    assert_eq!(rows, vec![vec!["80".to_string()]]);
}
