//! The catalog: persistence across restarts, both stores behaving alike,
//! SHOW CREATE TABLE output that recreates the table.

use crate::common::{engine_in, fixtures};
use futures::StreamExt;
use glaux::catalog::memory::MemoryCatalog;
use glaux::catalog::sqlite::SqliteCatalog;
use glaux::catalog::{Catalog, Database, IfExists, Table, TableType};
use glaux::engine::{Output, Session};
use glaux::error::SqlState;
use std::sync::Arc;

/// All rows of a script's last output, as text.
async fn rows(session: &mut Session, sql: &str) -> Vec<Vec<Option<String>>> {
    let outputs = session.run_script(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = Vec::new();
    if let Some(Output::Rows { mut stream, .. }) = outputs.into_iter().last() {
        while let Some(batch) = stream.next().await {
            out.extend(glaux::pgtypes::text_rows(&batch.expect("batch")).expect("text"));
        }
    }
    out
}

#[tokio::test]
async fn tables_and_views_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixtures::generate(&dir.path().join("data")).await;
    {
        let engine = engine_in(&dir.path().join("glaux")).await;
        let mut s = engine.session("u", None).unwrap();
        rows(
            &mut s,
            &format!(
                "CREATE DATABASE lake; \
             CREATE EXTERNAL TABLE lake.orders STORED AS PARQUET LOCATION '{}/orders_parquet'; \
             CREATE VIEW lake.big AS SELECT id FROM lake.orders WHERE amount > 15",
                data.display()
            ),
        )
        .await;
    }
    let engine = engine_in(&dir.path().join("glaux")).await;
    let mut s = engine.session("u", None).unwrap();
    let got = rows(&mut s, "SELECT id FROM lake.big ORDER BY id").await;
    assert_eq!(got, vec![vec![Some("2".to_string())], vec![Some("4".to_string())]]);
    // Inferred columns were stored in the catalog.
    let described = rows(&mut s, "DESCRIBE lake.orders").await;
    let names: Vec<_> = described.iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(names, ["id", "customer", "amount", "placed"]);
}

fn sample_table(db: &str, name: &str) -> Table {
    Table {
        name: name.to_string(),
        database_name: db.to_string(),
        table_type: TableType::ExternalTable,
        description: None,
        storage_descriptor: Default::default(),
        partition_keys: vec![],
        parameters: Default::default(),
        view_original_text: None,
        view_expanded_text: None,
        create_time: 0,
        update_time: 0,
    }
}

async fn exercise(catalog: &dyn Catalog) {
    assert!(catalog.create_database(Database::new("Sales"), false).await.unwrap());
    assert!(!catalog.create_database(Database::new("sales"), true).await.unwrap());
    let dup = catalog.create_database(Database::new("sales"), false).await.unwrap_err();
    assert_eq!(dup.sqlstate(), SqlState::DuplicateSchema);
    catalog.create_table(sample_table("sales", "Orders"), IfExists::Fail, Vec::new()).await.unwrap();
    let t = catalog.get_table("SALES", "orders").await.unwrap().expect("table");
    assert_eq!((t.database_name.as_str(), t.name.as_str()), ("sales", "orders"));
    let e = catalog.create_table(sample_table("sales", "orders"), IfExists::Fail, Vec::new()).await.unwrap_err();
    assert_eq!(e.sqlstate(), SqlState::DuplicateTable);
    let e = catalog.create_table(sample_table("nope", "t"), IfExists::Fail, Vec::new()).await.unwrap_err();
    assert_eq!(e.sqlstate(), SqlState::UndefinedSchema);
    let e = catalog.drop_database("sales", false, false).await.unwrap_err();
    assert_eq!(e.sqlstate(), SqlState::DependentObjectsStillExist);
    assert!(catalog.drop_database("sales", false, true).await.unwrap());
    assert!(catalog.get_table("sales", "orders").await.unwrap().is_none());
}

#[tokio::test]
async fn memory_and_sqlite_catalogs_behave_alike() {
    exercise(&MemoryCatalog::new()).await;
    let dir = tempfile::tempdir().unwrap();
    exercise(&SqliteCatalog::open(&dir.path().join("c.db")).unwrap()).await;
}

#[tokio::test]
async fn show_create_table_recreates_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixtures::generate(&dir.path().join("data")).await;
    let engine = glaux::engine::Engine::with_catalog(
        glaux::config::Config::for_data_dir(&dir.path().join("glaux")),
        Arc::new(MemoryCatalog::new()),
    )
    .await
    .unwrap();
    let mut s = engine.session("u", None).unwrap();
    rows(
        &mut s,
        &format!(
            "CREATE EXTERNAL TABLE t (id bigint COMMENT 'the id', customer string, amount double, placed date) \
         COMMENT 'orders' \
         ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' WITH SERDEPROPERTIES ('separatorChar' = ',') \
         STORED AS TEXTFILE LOCATION '{}/orders_csv' TBLPROPERTIES ('skip.header.line.count'='1')",
            data.display()
        ),
    )
    .await;
    let ddl = rows(&mut s, "SHOW CREATE TABLE t").await[0][0].clone().unwrap();
    assert!(ddl.starts_with("CREATE EXTERNAL TABLE `public`.`t`("), "{ddl}");
    assert!(ddl.contains("`id` bigint COMMENT 'the id'"), "{ddl}");
    assert!(ddl.contains("'separatorChar'=','"), "{ddl}");
    let before = rows(&mut s, "SELECT * FROM t ORDER BY id").await;
    rows(&mut s, "DROP TABLE t").await;
    rows(&mut s, &ddl).await;
    assert_eq!(rows(&mut s, "SHOW CREATE TABLE t").await[0][0].as_deref(), Some(ddl.as_str()));
    assert_eq!(rows(&mut s, "SELECT * FROM t ORDER BY id").await, before);
}
