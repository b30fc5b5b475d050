//! Partition pruning as EXPLAIN shows it: the partitions a query's
//! conditions keep, out of those registered.

use crate::common::server_with_fixtures;

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
    let plan = |sql: &'static str| {
        let client = &client;
        async move {
            let rows = client.query(sql, &[]).await.unwrap();
            rows.iter().map(|r| r.get::<_, String>(1)).collect::<Vec<_>>().join("\n")
        }
    };
    let one = plan("EXPLAIN SELECT sum(amount) FROM sales WHERE region = 'us'").await;
    assert!(one.contains("PartitionsScan: table=public.sales, partitions=1 of 2"), "{one}");
    assert!(!one.contains("region=eu"), "the eu partition's files are not scanned: {one}");
    let all = plan("EXPLAIN SELECT sum(amount) FROM sales WHERE amount > 0").await;
    assert!(all.contains("partitions=2 of 2"), "{all}");
    let none = plan("EXPLAIN SELECT sum(amount) FROM sales WHERE region = 'mars'").await;
    assert!(none.contains("partitions=0 of 2"), "{none}");
}
