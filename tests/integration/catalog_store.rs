//! The catalog: persistence across restarts, both stores behaving alike,
//! SHOW CREATE TABLE output that recreates the table.

use crate::common::{engine_in, fixtures, session_rows as rows};
use glaux::catalog::memory::MemoryCatalog;
use glaux::catalog::sqlite::SqliteCatalog;
use glaux::catalog::{Database, IfExists, Metastore, Table};
use glaux::error::SqlState;
use std::sync::Arc;

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
    Table::external(db, name, Vec::new())
}

async fn exercise(catalog: &dyn Metastore) {
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
    // update_table is a compare-and-swap on the version a table was read at.
    let (first, stale) = (t.clone(), t.clone());
    assert_eq!(first.version, 1);
    let mut changed = first;
    changed.description = Some("first writer".into());
    assert_eq!(catalog.update_table(changed).await.unwrap(), 2);
    let mut lost = stale;
    lost.description = Some("second writer".into());
    let e = catalog.update_table(lost).await.unwrap_err();
    assert_eq!(e.sqlstate(), SqlState::SerializationFailure, "{e}");
    assert!(e.to_string().contains("sales.orders was changed by another statement"), "{e}");
    let now = catalog.get_table("sales", "orders").await.unwrap().expect("table");
    assert_eq!((now.version, now.description.as_deref()), (2, Some("first writer")));
    assert_eq!(catalog.update_table(now).await.unwrap(), 3);
    assert_eq!(catalog.table_versions("sales", "orders").await.unwrap().len(), 3);
    let e = catalog.update_table(sample_table("sales", "nope")).await.unwrap_err();
    assert_eq!(e.sqlstate(), SqlState::UndefinedTable);
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

/// Two writers changing one table at once: exactly one of each pair wins,
/// the other gets 40001, and no change is lost.
#[tokio::test]
async fn concurrent_table_updates_never_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(SqliteCatalog::open(&dir.path().join("c.db")).unwrap());
    catalog.create_database(Database::new("d"), false).await.unwrap();
    catalog.create_table(sample_table("d", "t"), IfExists::Fail, Vec::new()).await.unwrap();
    let mut wins = 0;
    for round in 0..20 {
        let read = catalog.get_table("d", "t").await.unwrap().unwrap();
        let writers = (0..2).map(|w| {
            let (catalog, mut table) = (Arc::clone(&catalog), read.clone());
            table.parameters.insert(format!("round{round}"), format!("writer{w}"));
            tokio::spawn(async move { catalog.update_table(table).await })
        });
        let results: Vec<_> = futures::future::join_all(writers).await.into_iter().map(|r| r.unwrap()).collect();
        let won: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
        assert_eq!(won.len(), 1, "{results:?}");
        for lost in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(lost.sqlstate(), SqlState::SerializationFailure, "{lost}");
        }
        wins += won.len();
    }
    let table = catalog.get_table("d", "t").await.unwrap().unwrap();
    // Every round's winner is in the table: each built on the one before.
    assert_eq!(table.parameters.len(), 20, "{:?}", table.parameters);
    assert_eq!(table.version, 1 + wins as i64);
}

/// `catalog.others` serves more catalogs: clients connect to any of them
/// as their database, three-part names reach across them in one query,
/// and an unknown catalog is 3D000 at connect and 42P01 in a query, naming
/// the known ones.
#[tokio::test]
async fn catalogs_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixtures::generate(&dir.path().join("data")).await;
    let open = || async {
        let mut config = glaux::config::Config::for_data_dir(&dir.path().join("glaux"));
        config.set("catalog.others", "archive:embedded").unwrap();
        glaux::engine::Engine::open(config).await.unwrap()
    };
    let server = crate::common::TestServer::start(open().await).await;
    let connect = |database: &str| {
        let url = format!("host=127.0.0.1 port={} user=tester dbname={database}", server.addr.port());
        async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, tokio_postgres::Error>(client)
        }
    };
    let main = connect("glaux").await.unwrap();
    let archive = connect("archive").await.unwrap();
    assert_eq!(crate::common::simple_rows(&archive, "SELECT current_database()").await, vec![vec!["archive"]]);
    // Each catalog keeps its own databases and tables.
    archive
        .batch_execute(&format!(
            "CREATE DATABASE old; CREATE EXTERNAL TABLE old.customers (name string, country string)              ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}/customers_csv'              TBLPROPERTIES ('skip.header.line.count'='1')",
            data.display()
        ))
        .await
        .unwrap();
    main.batch_execute(&format!(
        "CREATE EXTERNAL TABLE glaux.public.orders STORED AS PARQUET LOCATION '{}/orders_parquet'",
        data.display()
    ))
    .await
    .unwrap();
    let e = main.simple_query("SELECT * FROM old.customers").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("3F000"), "{e:?}");
    assert_eq!(crate::common::simple_rows(&main, "SHOW DATABASES").await, vec![vec!["public"]]);
    // One query across both.
    let joined = "SELECT c.country, count(*) FROM glaux.public.orders o                   JOIN archive.old.customers c ON o.customer = c.name GROUP BY c.country ORDER BY c.country";
    let expected = crate::common::simple_rows(&archive, joined).await;
    assert!(!expected.is_empty());
    assert_eq!(crate::common::simple_rows(&main, joined).await, expected);
    // The catalogs are listed: SHOW CATALOGS, and pg_database (psql's \l)
    // with the connected one first.
    assert_eq!(
        crate::common::simple_rows(&main, "SHOW CATALOGS").await,
        vec![vec!["glaux", "embedded", ""], vec!["archive", "embedded", ""]]
    );
    assert_eq!(
        crate::common::simple_rows(&main, "SHOW CATALOGS LIKE 'arch%'").await,
        vec![vec!["archive", "embedded", ""]]
    );
    let databases = "SELECT datname FROM pg_catalog.pg_database";
    assert_eq!(crate::common::simple_rows(&archive, databases).await, vec![vec!["archive"], vec!["glaux"]]);
    assert_eq!(crate::common::simple_rows(&main, "SHOW TABLES IN archive.old").await, vec![vec!["customers"]]);
    let e = main.simple_query("SHOW TABLES IN nowhere.old").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("3F000"), "{e:?}");
    // Commands take three-part names too.
    let described = crate::common::simple_rows(&main, "DESCRIBE archive.old.customers").await;
    assert_eq!(described.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["name", "country"]);
    main.batch_execute("CREATE VIEW archive.old.fr AS SELECT name FROM archive.old.customers WHERE country = 'FR'")
        .await
        .unwrap();
    assert_eq!(crate::common::simple_rows(&archive, "SELECT count(*) FROM old.fr").await, vec![vec!["2"]]);
    // Unknown catalogs.
    let e = main.simple_query("SELECT * FROM nowhere.old.customers").await.unwrap_err();
    let db = e.as_db_error().expect("server error");
    assert_eq!(db.code().code(), "42P01", "{e:?}");
    assert!(db.message().contains("known catalogs: glaux, archive"), "{}", db.message());
    let e = main.simple_query("DROP TABLE nowhere.old.customers").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"), "{e:?}");
    let e = connect("nowhere").await.unwrap_err();
    let db = e.as_db_error().expect("server error");
    assert_eq!(db.code().code(), "3D000", "{e:?}");
    assert!(db.message().contains("known catalogs: glaux, archive"), "{}", db.message());
    drop((main, archive));
    server.stop().await;
    // The other catalog is kept across a restart, in its own file.
    assert!(dir.path().join("glaux/catalogs/archive.db").exists());
    let engine = open().await;
    let mut s = engine.session("u", Some("archive")).unwrap();
    assert_eq!(rows(&mut s, "SELECT count(*) FROM old.customers").await, vec![vec![Some("3".to_string())]]);
}
