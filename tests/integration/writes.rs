//! Files glaux writes keep the order the query gave its rows, and its
//! Parquet files have small pages: a sorted file with small pages is what
//! lets a reader's page index find one key's rows cheaply.

use crate::common::{engine_in, session_rows};
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

    // An Iceberg table's appends keep the order too.
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    let ice = out.join("ice");
    s.run_script(&format!(
        "CREATE TABLE ice WITH (table_type = 'ICEBERG', location = '{}') \
         AS SELECT x, arrow_cast(x::text, 'Utf8View') AS s FROM generate_series(1, {rows}) AS t(x) ORDER BY x DESC",
        ice.display()
    ))
    .await
    .unwrap();
    let files = parquet_files(&ice);
    assert_eq!(files.len(), 1, "{files:?}");
    let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&files[0]).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let mut xs = Vec::new();
    for batch in reader {
        xs.extend(batch.unwrap().column(0).as_primitive::<Int64Type>().values().iter().copied());
    }
    assert_eq!(xs.len(), rows);
    assert!(
        xs.windows(2).all(|w| w[0] > w[1]),
        "an Iceberg CREATE TABLE AS ... ORDER BY x DESC wrote rows out of order"
    );
}

/// `glaux sample` writes each TPC-H table in the generator's order, sorted
/// by its key, so lookups by key read one page.
#[tokio::test]
async fn sample_tables_are_sorted_by_their_keys() {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use datafusion::parquet::arrow::ProjectionMask;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("glaux")).await;
    glaux::sample::generate_tpch(&engine, 0.05).await.unwrap();
    // (lineitem's CSV is large enough that a parallel read would split it.)
    for (table, keys) in [("customer", vec![0]), ("orders", vec![0]), ("lineitem", vec![0, 3])] {
        let file = std::fs::File::open(dir.path().join(format!("glaux/sample/tpch/{table}/data.parquet"))).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let mask = ProjectionMask::roots(builder.parquet_schema(), keys.clone());
        let mut rows: Vec<Vec<i64>> = Vec::new();
        for batch in builder.with_projection(mask).build().unwrap() {
            let batch = batch.unwrap();
            let columns: Vec<_> = batch.columns().iter().map(|c| c.as_primitive::<Int64Type>().clone()).collect();
            rows.extend((0..batch.num_rows()).map(|i| columns.iter().map(|c| c.value(i)).collect()));
        }
        assert!(rows.len() > 1000, "{table}: {} rows", rows.len());
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "tpch.{table}'s file is not sorted by its key");
    }
}

/// The number of data pages of each column of a Parquet file (all row
/// groups), from its offset index.
fn pages_per_column(file: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    use datafusion::parquet::file::reader::FileReader;
    use datafusion::parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedFileReader};
    let options = ReadOptionsBuilder::new().with_page_index().build();
    let reader = SerializedFileReader::new_with_options(std::fs::File::open(file).unwrap(), options).unwrap();
    let metadata = reader.metadata();
    let mut pages = std::collections::BTreeMap::new();
    for (group, index) in metadata.row_groups().iter().zip(metadata.offset_index().expect("an offset index")) {
        for (column, offsets) in group.columns().iter().zip(index) {
            *pages.entry(column.column_path().string()).or_default() += offsets.page_locations().len();
        }
    }
    pages
}

/// Parquet files glaux writes (CREATE TABLE AS, INSERT, `glaux sample`)
/// cut pages at 64 KiB, dictionary pages included, where the format's
/// default is 1 MiB: 100,000 values of about 55 bytes make about 50 pages
/// (at 1 MiB, or 20,000 rows a page, 5 or 6).
#[tokio::test]
async fn parquet_files_have_small_pages() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("glaux")).await;
    let mut s = engine.session("u", None).unwrap();
    let out = dir.path().join("wide");
    s.run_script(&format!(
        "CREATE TABLE wide WITH (format = 'PARQUET', external_location = '{}/') \
         AS SELECT x, repeat('v', 50) || x AS s FROM generate_series(1, 100000) AS t(x)",
        out.display()
    ))
    .await
    .unwrap();
    let file = std::fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let pages = pages_per_column(&file);
    assert!(pages["s"] >= 30, "{pages:?}");
    glaux::sample::generate_tpch(&engine, 0.01).await.unwrap();
    let customer = dir.path().join("glaux/sample/tpch/customer/data.parquet");
    let pages = pages_per_column(&customer);
    // 1,500 comments of about 73 bytes.
    assert!(pages["c_comment"] >= 2, "{pages:?}");
}

/// Every Parquet data file under `dir` (recursively).
fn parquet_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(parquet_files(&path));
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
    out
}

/// The data files glaux's Iceberg writer makes (CREATE TABLE AS, INSERT,
/// UPDATE, DELETE and MERGE rewrites, OPTIMIZE) take the table's compression codec (zstd when
/// unset, Iceberg's default) and glaux's small pages; an unknown codec is
/// refused when the table is created. (INSERT and CREATE TABLE AS still
/// write through iceberg-datafusion's writer.)
#[tokio::test]
async fn iceberg_data_files_are_compressed_as_the_table_says() {
    use datafusion::parquet::basic::Compression;
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("glaux")).await;
    let mut s = engine.session("u", None).unwrap();
    let query = "SELECT x, repeat('v', 50) || x AS s FROM generate_series(1, 100000) AS t(x)";
    for (name, option, want) in [
        ("plain", "", "ZSTD"),
        ("snappy", ", write_compression = 'SNAPPY'", "SNAPPY"),
        ("gzip", ", write_compression = 'gzip'", "GZIP"),
    ] {
        let location = dir.path().join(name);
        s.run_script(&format!(
            "CREATE TABLE {name} WITH (table_type = 'ICEBERG', location = '{}'{option}) AS {query}",
            location.display()
        ))
        .await
        .unwrap();
        // CREATE TABLE AS and INSERT append; UPDATE writes rows again.
        let mut written = parquet_files(&location);
        assert!(!written.is_empty(), "{name}: CREATE TABLE AS wrote no file");
        for statement in [format!("INSERT INTO {name} {query}"), format!("UPDATE {name} SET s = s || '!' WHERE x > 0")]
        {
            let before = parquet_files(&location);
            s.run_script(&statement).await.unwrap();
            let new: Vec<_> = parquet_files(&location).into_iter().filter(|f| !before.contains(f)).collect();
            assert!(!new.is_empty(), "{statement}: wrote no file");
            written.extend(new);
        }
        let count = session_rows(&mut s, &format!("SELECT count(*), count(DISTINCT x) FROM {name}")).await;
        assert_eq!(count, vec![vec![Some("200000".to_string()), Some("100000".to_string())]], "{name}");
        for file in written {
            let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
            for group in reader.metadata().row_groups() {
                for column in group.columns() {
                    let codec = match column.compression() {
                        Compression::ZSTD(_) => "ZSTD",
                        Compression::SNAPPY => "SNAPPY",
                        Compression::GZIP(_) => "GZIP",
                        other => panic!("{name}: {other:?} in {}", file.display()),
                    };
                    assert_eq!(codec, want, "{name}: {}", file.display());
                }
            }
            // Each file holds at least a quarter of the 100,000 rows: about
            // 1.4 MB of `s`, two pages at the format's 1 MiB, 20 at 64 KiB.
            let pages = pages_per_column(&file);
            assert!(pages.values().any(|&n| n >= 10), "{name}: {pages:?} in {}", file.display());
        }
    }
    let refused = s
        .run_script(&format!(
            "CREATE TABLE bad WITH (table_type = 'ICEBERG', location = '{}', write_compression = 'ZIP') AS SELECT 1 AS x",
            dir.path().join("bad").display()
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.sqlstate().code(), "22023", "{refused}");
}

/// A lookup by key has the Parquet reader test each row of the pages the
/// page index kept and decode the other columns only for the row that
/// matches; a condition that keeps many rows is applied above the scan,
/// as before. The answers are the same.
#[tokio::test]
async fn selective_lookups_filter_rows_inside_the_parquet_reader() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("glaux")).await;
    let mut s = engine.session("u", None).unwrap();
    s.run_script(&format!(
        "CREATE TABLE wide WITH (format = 'PARQUET', external_location = '{}/wide/') \
         AS SELECT x, repeat('v', 50) || x AS s FROM generate_series(1, 100000) AS t(x) ORDER BY x; \
         CREATE TABLE parts WITH (format = 'PARQUET', external_location = '{}/parts/', partitioned_by = ARRAY['p']) \
         AS SELECT x, 'w' || x AS s, x % 2 AS p FROM generate_series(1, 100000) AS t(x) ORDER BY x",
        dir.path().display(),
        dir.path().display()
    ))
    .await
    .unwrap();
    // The values of a metric on every scan of the plan (one per file).
    let metric = |plan: &str, name: &str| -> Vec<String> {
        let key = format!("{name}=");
        let values = plan.match_indices(&key).map(|(at, _)| &plan[at + key.len()..]);
        values.map(|v| v.split([',', ']']).next().unwrap_or_default().trim().to_string()).collect()
    };
    for table in ["wide", "parts"] {
        let plan = session_rows(&mut s, &format!("EXPLAIN ANALYZE SELECT * FROM {table} WHERE x = 77777")).await;
        let plan: String = plan.into_iter().flatten().flatten().collect::<Vec<_>>().join("\n");
        let matched = metric(&plan, "pushdown_rows_matched");
        assert_eq!(matched.iter().filter(|v| *v == "1").count(), 1, "{table}: {plan}");
        assert!(matched.iter().all(|v| v == "1" || v == "0"), "{table}: {plan}");
        let rows = session_rows(&mut s, &format!("SELECT x, s FROM {table} WHERE x = 77777")).await;
        let want = if table == "wide" { format!("{}77777", "v".repeat(50)) } else { "w77777".to_string() };
        assert_eq!(rows, vec![vec![Some("77777".to_string()), Some(want)]], "{table}");

        let plan = session_rows(&mut s, &format!("EXPLAIN ANALYZE SELECT count(s) FROM {table} WHERE x > 10")).await;
        let plan: String = plan.into_iter().flatten().flatten().collect::<Vec<_>>().join("\n");
        let matched = metric(&plan, "pushdown_rows_matched");
        assert!(!matched.is_empty() && matched.iter().all(|v| v == "0"), "{table}: {plan}");
        let rows = session_rows(&mut s, &format!("SELECT count(s) FROM {table} WHERE x > 10")).await;
        assert_eq!(rows, vec![vec![Some("99990".to_string())]], "{table}");
    }
}
