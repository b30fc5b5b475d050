//! Test data, generated fresh into a scratch directory: small,
//! deterministic files in every format glaux reads, plus broken ones.
//!
//! Layout under the returned directory:
//! - `orders_{parquet,orc,csv,json}/`: the same five orders in each format,
//!   each folder also holding a `_SUCCESS` marker and a `.crc` side file.
//! - `orders_csv_{gz,zst,bz2,xz}/`: the orders as compressed CSV (header).
//! - `customers_csv/`: a CSV with a header; `lazy_tsv/`: tab-separated,
//!   `\\N` nulls; `opencsv/`: `|`-separated with quotes.
//! - `sales/region={eu,us}/`: Hive-partitioned Parquet.
//! - `types_parquet/`: one row of every type; `nested_json/`.
//! - broken: `corrupt_parquet/`, `truncated_parquet/`, `corrupt_orc/`,
//!   `ragged_csv/`, `badvalue_csv/`, `empty_files/` (a zero-byte file),
//!   `no_files/` (empty folder).

use datafusion::arrow::array::{Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::config::CsvOptions;
use datafusion::common::parsers::CompressionTypeVariant;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::SessionContext;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const ORDERS_CSV: &str = "\
id,customer,amount,placed
1,alice,10.5,2024-01-01
2,bob,20.25,2024-01-02
3,alice,7.75,2024-01-03
4,carol,100,2024-02-01
5,dave,,2024-02-02
";

fn orders_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("placed", DataType::Date32, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
            Arc::new(StringArray::from(vec!["alice", "bob", "alice", "carol", "dave"])),
            Arc::new(Float64Array::from(vec![Some(10.5), Some(20.25), Some(7.75), Some(100.0), None])),
            // 2024-01-01 is day 19723 since the epoch.
            Arc::new(Date32Array::from(vec![19723, 19724, 19725, 19754, 19755])),
        ],
    )
    .expect("orders batch")
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write fixture");
}

/// Hadoop/Spark leftovers Athena ignores.
fn add_markers(dir: &Path) {
    write(&dir.join("_SUCCESS"), "");
    write(&dir.join(".part-0.crc"), "crc garbage that is not data");
}

async fn sql(ctx: &SessionContext, q: &str) {
    ctx.sql(q).await.unwrap_or_else(|e| panic!("{q}: {e}")).collect().await.unwrap_or_else(|e| panic!("{q}: {e}"));
}

/// Write every fixture under `root` and return it.
pub async fn generate(root: &Path) -> PathBuf {
    let ctx = SessionContext::new();
    let orders = ctx.read_batch(orders_batch()).expect("orders df");
    let opts = || DataFrameWriteOptions::new().with_single_file_output(true);
    let p = |s: &str| root.join(s).to_string_lossy().into_owned();

    orders.clone().write_parquet(&p("orders_parquet/part-0.parquet"), opts(), None).await.expect("parquet");
    add_markers(&root.join("orders_parquet"));
    write(&root.join("orders_csv/part-0.csv"), ORDERS_CSV);
    add_markers(&root.join("orders_csv"));
    orders.clone().write_json(&p("orders_json/part-0.json"), opts(), None).await.expect("json");
    add_markers(&root.join("orders_json"));
    write_orc(&root.join("orders_orc/part-0.orc"), &orders_batch());
    add_markers(&root.join("orders_orc"));
    for (dir, ext, c) in [
        ("orders_csv_gz", "csv.gz", CompressionTypeVariant::GZIP),
        ("orders_csv_zst", "csv.zst", CompressionTypeVariant::ZSTD),
        ("orders_csv_bz2", "csv.bz2", CompressionTypeVariant::BZIP2),
        ("orders_csv_xz", "csv.xz", CompressionTypeVariant::XZ),
    ] {
        let options = CsvOptions { compression: c, has_header: Some(true), ..Default::default() };
        orders.clone().write_csv(&p(&format!("{dir}/part-0.{ext}")), opts(), Some(options)).await.expect("csv");
    }

    // Partition projection: dates under regions (a location template),
    // two-digit days (k=v folders), and a folder per customer.
    for (path, row) in [
        ("logs/eu/2024/01/01/a.csv", "1,10\n"),
        ("logs/eu/2024/01/02/a.csv", "2,20\n"),
        ("logs/us/2024/01/01/a.csv", "3,30\n"),
        ("logs/us/2024/03/01/a.csv", "4,40\n"),
        ("daily/day=01/a.csv", "1,1\n"),
        ("daily/day=15/a.csv", "2,15\n"),
        ("cust/alice/a.csv", "1,5\n"),
        ("cust/bob/a.csv", "2,7\n"),
    ] {
        write(&root.join(path), row);
    }
    write(&root.join("customers_csv/customers.csv"), "name,country\nalice,FR\nbob,US\ncarol,FR\n");
    write(&root.join("lazy_tsv/data.tsv"), "1\tone\t\\N\n2\t\\N\t2.5\n3\t\t\n");
    write(&root.join("opencsv/data.txt"), "\"1\"|\"a|b\"|\"x\"\n\"2\"|\"say \"\"hi\"\"\"|\"y\"\n");

    // For the crawler: partitions whose files drifted (day=2 widened id
    // and amount and added note; day=3 has amount as text), and a CSV
    // with a header.
    for (day, select) in [
        (1, "SELECT CAST(1 AS INT) AS id, CAST(10 AS INT) AS amount"),
        (2, "SELECT CAST(2 AS BIGINT) AS id, CAST(20.5 AS DOUBLE) AS amount, 'late' AS note"),
        (3, "SELECT CAST(3 AS BIGINT) AS id, 'thirty' AS amount"),
    ] {
        sql(
            &ctx,
            &format!("COPY ({select}) TO '{}' STORED AS PARQUET", p(&format!("crawl/events/day={day}/part-0.parquet"))),
        )
        .await;
    }
    write(&root.join("crawl/people/people.csv"), "name,age\nann,31\nbob,42\n");
    write(&root.join("crawl/events/_SUCCESS"), "");

    sql(
        &ctx,
        &format!(
        "COPY (SELECT column1 AS id, column2 AS amount FROM (VALUES (1, 10.0), (2, 20.0))) TO '{}' STORED AS PARQUET",
        p("sales/region=eu/part-0.parquet")
    ),
    )
    .await;
    sql(
        &ctx,
        &format!(
            "COPY (SELECT column1 AS id, column2 AS amount FROM (VALUES (3, 30.0))) TO '{}' STORED AS PARQUET",
            p("sales/region=us/part-0.parquet")
        ),
    )
    .await;

    sql(
        &ctx,
        &format!(
            "COPY (SELECT CAST(1 AS TINYINT) AS t8, CAST(2 AS SMALLINT) AS t16, CAST(3 AS INT) AS t32, \
         CAST(4 AS BIGINT) AS t64, CAST(1.5 AS REAL) AS f32, CAST(2.25 AS DOUBLE) AS f64, \
         CAST(12.34 AS DECIMAL(10,2)) AS dec, 'text' AS s, true AS b, DATE '2024-03-04' AS d, \
         TIMESTAMP '2024-03-04 05:06:07.891' AS ts, X'DEADBEEF' AS bin, [1, 2, 3] AS arr, \
         named_struct('a', 1, 'b', 'x') AS st, MAP {{'k': 1}} AS m) TO '{}' STORED AS PARQUET",
            p("types_parquet/part-0.parquet")
        ),
    )
    .await;
    write(&root.join("nested_json/data.json"), "{\"id\":1,\"tags\":[\"a\",\"b\"],\"owner\":{\"name\":\"x\"}}\n");

    let good = std::fs::read(root.join("orders_parquet/part-0.parquet")).expect("read parquet");
    write(&root.join("truncated_parquet/part-0.parquet"), &good[..good.len() / 2]);
    write(&root.join("corrupt_parquet/part-0.parquet"), b"PAR1 this is not really a parquet file PAR1");
    write(&root.join("corrupt_orc/part-0.orc"), b"ORC but not really");
    write(&root.join("ragged_csv/data.csv"), "a,b,c\n1,2,3\n4,5\n");
    write(&root.join("badvalue_csv/data.csv"), "a,b\n1,2\nthree,4\n");
    write(&root.join("empty_files/empty.csv"), "");
    std::fs::create_dir_all(root.join("no_files")).expect("mkdir");
    root.to_path_buf()
}

/// orc-rust writes no date columns: dates go in as ISO strings, and the
/// reader casts them to the table's `date` type.
fn write_orc(path: &Path, batch: &RecordBatch) {
    use datafusion::arrow::compute::cast;
    let columns: Vec<_> =
        batch
            .columns()
            .iter()
            .map(|c| {
                if c.data_type() == &DataType::Date32 {
                    cast(c, &DataType::Utf8).expect("cast")
                } else {
                    Arc::clone(c)
                }
            })
            .collect();
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let t = if f.data_type() == &DataType::Date32 { DataType::Utf8 } else { f.data_type().clone() };
            Field::new(f.name(), t, f.is_nullable())
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("orc batch");
    let batch = &batch;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let file = std::fs::File::create(path).expect("create orc");
    let mut writer = orc_rust::ArrowWriterBuilder::new(file, batch.schema()).try_build().expect("orc writer");
    writer.write(batch).expect("write orc");
    writer.close().expect("close orc");
}
