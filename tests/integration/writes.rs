//! Files glaux writes keep the order the query gave its rows: a sorted
//! file is what lets a reader's page index find one key's rows.

use crate::common::engine_in;
use glaux::engine::Output;

/// UNLOAD and CREATE TABLE AS of `ORDER BY` queries write their rows in
/// that order, though the plan runs in parallel (two target partitions)
/// and the written columns are cast to the table's types (string views,
/// as Parquet's strings arrive, to strings): a cast the optimizer would
/// otherwise spread over both partitions, interleaving the rows.
#[tokio::test]
async fn ordered_queries_are_written_in_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("glaux")).await;
    let mut s = engine.session("u", None).unwrap();
    let rows = 300_000;
    let out = dir.path().join("out");
    let sql = format!(
        "UNLOAD (SELECT x, x % 7 AS m, arrow_cast(x::text, 'Utf8View') AS s FROM generate_series(1, {rows}) AS t(x) ORDER BY x DESC) \
         TO '{}/unloaded/' WITH (format = 'JSON'); \
         CREATE TABLE by_m WITH (format = 'JSON', external_location = '{}/by_m/') \
         AS SELECT x % 7 AS m, x, arrow_cast(x::text, 'Utf8View') AS s FROM generate_series(1, {rows}) AS t(x) ORDER BY 1, 2",
        out.display(),
        out.display()
    );
    for output in s.run_script(&sql).await.unwrap() {
        assert!(matches!(output, Output::Done { .. }));
    }
    let values = |folder: &str, key: &str| -> Vec<(i64, i64)> {
        let files: Vec<_> = std::fs::read_dir(out.join(folder)).unwrap().map(|f| f.unwrap().path()).collect();
        assert_eq!(files.len(), 1, "{files:?}");
        std::fs::read_to_string(&files[0])
            .unwrap()
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                (v[key].as_i64().unwrap(), v["x"].as_i64().unwrap())
            })
            .collect()
    };
    let unloaded = values("unloaded", "m");
    assert_eq!(unloaded.len(), rows);
    assert!(unloaded.windows(2).all(|w| w[0].1 > w[1].1), "UNLOAD ... ORDER BY x DESC wrote rows out of order");
    let by_m = values("by_m", "m");
    assert_eq!(by_m.len(), rows);
    assert!(by_m.windows(2).all(|w| w[0] < w[1]), "CREATE TABLE AS ... ORDER BY m, x wrote rows out of order");
}

/// `glaux sample` writes each TPC-H table in the generator's order, sorted
/// by its key, so lookups by key read one page.
#[tokio::test]
async fn sample_tables_are_sorted_by_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("glaux")).await;
    glaux::sample::generate_tpch(&engine, 0.05).await.unwrap();
    let mut s = engine.session("u", None).unwrap();
    for (table, key) in
        [("customer", "c_custkey"), ("orders", "o_orderkey"), ("lineitem", "l_orderkey * 8 + l_linenumber")]
    {
        // Files below DataFusion's size for splitting a scan: read in the
        // file's order. (lineitem's CSV is above it: the generation must
        // not split it either.)
        let keys: Vec<i64> = crate::common::session_rows(&mut s, &format!("SELECT {key} FROM tpch.{table}"))
            .await
            .iter()
            .map(|r| r[0].as_deref().unwrap().parse().unwrap())
            .collect();
        assert!(keys.len() > 1000, "{table}: {} rows", keys.len());
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "tpch.{table} is not sorted by {key}");
    }
}
