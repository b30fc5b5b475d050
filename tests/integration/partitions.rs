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
