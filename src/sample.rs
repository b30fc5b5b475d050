//! Sample data: TPC-H tables generated with the tpchgen crate, written as
//! Parquet under `<data_dir>/sample/tpch/<table>/` and registered as
//! external tables in database `tpch` (`glaux sample --scale 0.01`).
//!
//! Rows are generated as CSV, then converted to Parquet by DataFusion;
//! column types are those CSV inference gives (money columns are doubles).

use crate::engine::Engine;
use crate::error::{Error, Result, SqlState};
use crate::table::write::PARQUET_PAGE_BYTES;
use datafusion::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{CsvReadOptions, SessionConfig, SessionContext};
use std::fmt::Display;
use std::io::Write;
use std::path::Path;
use tpchgen::csv::*;
use tpchgen::generators::*;

fn write_csv<T: Display>(path: &Path, header: &str, rows: impl Iterator<Item = T>) -> Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{header}")?;
    let mut n = 0;
    for row in rows {
        writeln!(out, "{row}")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// Generate the eight TPC-H tables at `scale` and register them.
pub async fn generate_tpch(engine: &Engine, scale: f64) -> Result<String> {
    if !(scale > 0.0 && scale <= 100.0) {
        return Err(Error::new(SqlState::InvalidParameterValue, "--scale must be greater than 0 and at most 100"));
    }
    let root = engine.config().data_dir().join("sample").join("tpch");
    let tmp = root.join(".csv");
    std::fs::create_dir_all(&tmp)?;
    let s = scale;
    let mut counts = Vec::new();
    macro_rules! table {
        ($name:literal, $gen:expr, $csv:ident) => {{
            let path = tmp.join(concat!($name, ".csv"));
            let n = write_csv(&path, $csv::header(), $gen.iter().map($csv::new))?;
            counts.push(($name, n));
        }};
    }
    table!("nation", NationGenerator::new(s, 1, 1), NationCsv);
    table!("region", RegionGenerator::new(s, 1, 1), RegionCsv);
    table!("part", PartGenerator::new(s, 1, 1), PartCsv);
    table!("supplier", SupplierGenerator::new(s, 1, 1), SupplierCsv);
    table!("partsupp", PartSuppGenerator::new(s, 1, 1), PartSuppCsv);
    table!("customer", CustomerGenerator::new(s, 1, 1), CustomerCsv);
    table!("orders", OrderGenerator::new(s, 1, 1), OrderCsv);
    table!("lineitem", LineItemGenerator::new(s, 1, 1), LineItemCsv);

    // One partition: the files keep the generator's order (each table
    // sorted by its key), so the page index can find a key's rows.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    let mut session = engine.session("glaux", None)?;
    session.run_script("CREATE DATABASE IF NOT EXISTS tpch COMMENT 'TPC-H sample data'").await?;
    let mut report = format!("TPC-H scale {scale} in database tpch ({}):\n", root.display());
    for (name, rows) in &counts {
        let dir = root.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let csv = tmp.join(format!("{name}.csv"));
        let df = ctx.read_csv(csv.to_string_lossy().as_ref(), CsvReadOptions::new().has_header(true)).await?;
        let target = dir.join("data.parquet");
        let mut parquet = TableParquetOptions::default();
        parquet.global.data_pagesize_limit = PARQUET_PAGE_BYTES;
        parquet.global.dictionary_page_size_limit = PARQUET_PAGE_BYTES;
        df.write_parquet(
            target.to_string_lossy().as_ref(),
            DataFrameWriteOptions::new().with_single_file_output(true),
            Some(parquet),
        )
        .await?;
        session
            .run_script(&format!(
                "DROP TABLE IF EXISTS tpch.{name}; CREATE EXTERNAL TABLE tpch.{name} STORED AS PARQUET LOCATION '{}'",
                dir.display()
            ))
            .await?;
        report.push_str(&format!("  tpch.{name}: {rows} rows\n"));
    }
    std::fs::remove_dir_all(&tmp)?;
    report.push_str("try: SELECT n_name, count(*) FROM tpch.customer JOIN tpch.nation ON c_nationkey = n_nationkey GROUP BY n_name ORDER BY 2 DESC LIMIT 5;");
    Ok(report)
}
