//! The crawler through the `glaux crawl` command: a re-run adds new
//! partitions and new columns, leaves what is unchanged alone, and each
//! change of the table is a new schema version.

use datafusion::prelude::SessionContext;
use std::process::Command;

const GLAUX: &str = env!("CARGO_BIN_EXE_glaux");

fn glaux(data_dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(GLAUX).args(["--data-dir", data_dir.to_str().unwrap()]).args(args).output().unwrap();
    assert!(out.status.success(), "glaux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn write_parquet(ctx: &SessionContext, select: &str, path: &std::path::Path) {
    let sql = format!("COPY ({select}) TO '{}' STORED AS PARQUET", path.display());
    ctx.sql(&sql).await.unwrap().collect().await.unwrap();
}

#[tokio::test]
async fn crawl_again_adds_partitions_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, data_dir) = (dir.path().join("lake"), dir.path().join("glaux"));
    let ctx = SessionContext::new();
    write_parquet(&ctx, "SELECT 1 AS id", &lake.join("clicks/dt=2026-11-01/a.parquet")).await;
    let lake_arg = lake.to_str().unwrap();

    let first = glaux(&data_dir, &["crawl", lake_arg, "--format", "csv"]);
    assert!(first.contains("public.clicks,created,\"1 columns, 1 partitions; version 1\""), "{first}");

    // Nothing new: nothing changes.
    let again = glaux(&data_dir, &["crawl", lake_arg, "--format", "csv"]);
    assert!(again.contains("public.clicks,unchanged,"), "{again}");

    // A new day whose files have a new column.
    write_parquet(&ctx, "SELECT 2 AS id, 'eu' AS region", &lake.join("clicks/dt=2026-11-02/a.parquet")).await;
    let third = glaux(&data_dir, &["crawl", lake_arg, "--format", "csv"]);
    assert!(third.contains("public.clicks,updated,new columns region; version 2"), "{third}");
    assert!(third.contains("public.clicks,partitions added,1"), "{third}");

    let rows = glaux(&data_dir, &["-c", "SELECT id, region, dt FROM clicks ORDER BY id", "--format", "csv"]);
    assert_eq!(rows, "id,region,dt\n1,,2026-11-01\n2,eu,2026-11-02\n");

    // Each change of the table is a version.
    let versions = glaux(&data_dir, &["-c", "SHOW TABLE VERSIONS clicks", "--format", "csv"]);
    let lines: Vec<&str> = versions.lines().collect();
    assert_eq!(lines.len(), 3, "{versions}");
    assert!(lines[1].starts_with("1,id bigint,dt string,"), "{versions}");
    assert!(lines[2].starts_with("2,\"id bigint, region string\",dt string,"), "{versions}");
}
