//! Iceberg tables made by pyiceberg (`tests/clients/iceberg_tables.py`),
//! registered in glaux and read at every snapshot, by id and by time,
//! each answer checked against pyiceberg's own for that snapshot; hidden
//! partition pruning seen in EXPLAIN; and bad metadata and files.

use crate::common::{engine_in, plan_text, simple_rows, walk, TestServer};
use crate::glue::glue_config;
use crate::s3::{create_bucket, start_moto};
use glaux::engine::Engine;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Builds the pyiceberg table under `dir` and returns what pyiceberg read.
async fn pyiceberg_table(dir: &Path) -> Value {
    pyiceberg_table_in(dir, &[]).await
}

/// Builds the pyiceberg table with `args` after the work dir (`glue
/// <endpoint>` for Glue and S3 on moto).
async fn pyiceberg_table_in(dir: &Path, args: &[&str]) -> Value {
    let python =
        std::env::var("GLAUX_TEST_PYTHON").unwrap_or_else(|_| "/var/tmp/glaux-pyclients/bin/python".to_string());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/iceberg_tables.py");
    std::fs::create_dir_all(dir).unwrap();
    let mut command = std::process::Command::new(python);
    command.arg(script).arg(dir).args(args);
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("python starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

/// The SQLSTATE and message of a statement that must fail.
async fn failure(client: &tokio_postgres::Client, sql: &str) -> (String, String) {
    let e = client.simple_query(sql).await.expect_err(sql);
    let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
    (db.code().code().to_string(), db.message().to_string())
}

/// The row count, sum(id) and id hash the fixture records per snapshot.
const ANSWER: &str = "count(*), sum(id), sum((id * 2654435761) % 4294967296)";

fn expected(step: &Value) -> Vec<Vec<String>> {
    vec![vec![step["count"].to_string(), step["sum_id"].to_string(), step["hash"].to_string()]]
}

/// A commit time as a SQL timestamp with time zone.
fn at(ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
    format!("CAST('{}' AS TIMESTAMP WITH TIME ZONE)", t.format("%Y-%m-%d %H:%M:%S%.3f+00:00"))
}

#[tokio::test]
async fn pyiceberg_table_reads_at_every_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = pyiceberg_table(&dir.path().join("py")).await;
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let (client, notices) = server.connect_with_notices().await;
    client.batch_execute("CREATE DATABASE lake").await.unwrap();
    let location = fixture["location"].as_str().unwrap();
    let register =
        format!("CREATE EXTERNAL TABLE lake.events LOCATION '{location}' TBLPROPERTIES ('table_type' = 'iceberg')");
    client.batch_execute(&register).await.unwrap();

    // Without metadata_location, the newest metadata file is taken and named.
    let newest = fixture["metadata_location"].as_str().unwrap();
    let file = newest.rsplit('/').next().unwrap();
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains(file), "{said}");
    let properties = simple_rows(&client, "SHOW TBLPROPERTIES lake.events").await;
    assert!(properties.iter().any(|p| p[0] == "metadata_location" && p[1].ends_with(file)), "{properties:?}");
    let one = simple_rows(&client, "SHOW TBLPROPERTIES lake.events ('table_type')").await;
    assert_eq!(one, vec![vec!["table_type".to_string(), "ICEBERG".to_string()]]);
    assert_eq!(failure(&client, "SHOW TBLPROPERTIES lake.events ('nope')").await.0, "42704");

    // The current snapshot, with the current schema.
    let steps = fixture["snapshots"].as_array().unwrap();
    let current = steps.last().unwrap();
    let sql = format!("SELECT {ANSWER} FROM lake.events");
    assert_eq!(simple_rows(&client, &sql).await, expected(current));
    let columns = simple_rows(
        &client,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position",
    )
    .await;
    // The current schema is newer than the current snapshot's: `late` was
    // added after it, and reads as NULL.
    let want: Vec<Vec<String>> =
        fixture["current_columns"].as_array().unwrap().iter().map(|c| vec![c.as_str().unwrap().to_string()]).collect();
    assert_eq!(columns, want);
    assert_eq!(want.last().unwrap()[0], "late");
    let all = client.prepare("SELECT * FROM lake.events").await.unwrap();
    let names: Vec<Vec<String>> = all.columns().iter().map(|c| vec![c.name().to_string()]).collect();
    assert_eq!(names, want);
    let sql = "SELECT count(*), count(late), count(comment) > 0 FROM lake.events WHERE country IS NOT NULL";
    let rows = simple_rows(&client, sql).await;
    assert_eq!(rows[0][1..], ["0".to_string(), "t".to_string()], "{rows:?}");

    let described = simple_rows(&client, "DESCRIBE lake.events").await;
    assert_eq!(described.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), want.concat(), "{described:?}");
    // SHOW CREATE TABLE gives the statement that registers it again.
    let ddl = simple_rows(&client, "SHOW CREATE TABLE lake.events").await[0][0].clone();
    client.batch_execute("DROP TABLE lake.events").await.unwrap();
    client.batch_execute(&ddl).await.unwrap_or_else(|e| panic!("{ddl}: {e:?}"));
    let sql = format!("SELECT {ANSWER} FROM lake.events");
    assert_eq!(simple_rows(&client, &sql).await, expected(current));

    // Every snapshot, by id and by commit time, with its own schema.
    for step in steps {
        let id = step["snapshot_id"].as_i64().unwrap();
        let what = step["what"].as_str().unwrap();
        let by_id = format!("SELECT {ANSWER} FROM lake.events FOR VERSION AS OF {id}");
        assert_eq!(simple_rows(&client, &by_id).await, expected(step), "{what}");
        let ms = step["timestamp_ms"].as_i64().unwrap();
        let by_time = format!("SELECT {ANSWER} FROM lake.events FOR TIMESTAMP AS OF {}", at(ms));
        assert_eq!(simple_rows(&client, &by_time).await, expected(step), "{what}");
        let old = client.prepare(&format!("SELECT * FROM lake.events FOR SYSTEM_VERSION AS OF {id} e")).await.unwrap();
        let names: Vec<&str> = old.columns().iter().map(|c| c.name()).collect();
        let want: Vec<&str> = step["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        assert_eq!(names, want, "{what}");
    }

    // Two snapshots of one table in one query: the rows the copy-on-write
    // delete removed are those of the first two snapshots' difference.
    let (before, after) = (steps[1]["snapshot_id"].as_i64().unwrap(), steps[2]["snapshot_id"].as_i64().unwrap());
    let sql = format!(
        "SELECT count(*) FROM lake.events FOR VERSION AS OF {before} a \
         LEFT JOIN (SELECT id FROM lake.events FOR SYSTEM_TIME AS OF {}) b ON a.id = b.id WHERE b.id IS NULL",
        at(steps[2]["timestamp_ms"].as_i64().unwrap())
    );
    let removed = steps[1]["count"].as_i64().unwrap() - steps[2]["count"].as_i64().unwrap();
    assert_eq!(simple_rows(&client, &sql).await, vec![vec![removed.to_string()]], "{after}");
    // In a view and a CTE.
    let first = steps[0]["snapshot_id"].as_i64().unwrap();
    client
        .batch_execute(&format!(
            "CREATE VIEW lake.first_events AS SELECT *, 'it''s' AS q FROM lake.events FOR VERSION AS OF {first}"
        ))
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&client, "SELECT count(*) FROM lake.first_events").await[0][0],
        steps[0]["count"].to_string()
    );
    let sql = format!("WITH f AS (SELECT id FROM lake.events FOR VERSION AS OF {first}) SELECT count(*) FROM f");
    assert_eq!(simple_rows(&client, &sql).await[0][0], steps[0]["count"].to_string());
    // The view's text is Athena's SQL, as written.
    let shown = simple_rows(&client, "SHOW CREATE TABLE lake.first_events").await[0][0].clone();
    assert!(shown.contains(&format!("lake.events FOR VERSION AS OF {first}")) && !shown.contains("glaux"), "{shown}");
    assert!(shown.contains("'it''s'"), "{shown}");
    // Columns qualified by the table's name; the time of the statement.
    let sql = format!("SELECT count(events.id) FROM lake.events FOR VERSION AS OF {first}");
    assert_eq!(simple_rows(&client, &sql).await[0][0], steps[0]["count"].to_string());
    let sql = format!("SELECT {ANSWER} FROM lake.events FOR SYSTEM_TIME AS OF current_timestamp");
    assert_eq!(simple_rows(&client, &sql).await, expected(current));

    // Bad clauses: clear errors naming the table.
    let before_first = steps[0]["timestamp_ms"].as_i64().unwrap() - 60_000;
    let (code, message) =
        failure(&client, &format!("SELECT * FROM lake.events FOR TIMESTAMP AS OF {}", at(before_first))).await;
    assert_eq!(code, "22023", "{message}");
    assert!(message.contains("lake.events") && message.contains("first"), "{message}");
    let (code, message) = failure(&client, "SELECT * FROM lake.events FOR VERSION AS OF 12345").await;
    assert_eq!(code, "22023", "{message}");
    assert!(message.contains("lake.events has no snapshot 12345"), "{message}");
    let sql = "SELECT * FROM lake.events FOR VERSION AS OF (SELECT max(snapshot_id) FROM lake.\"events$snapshots\")";
    let (code, message) = failure(&client, sql).await;
    assert!(code == "22023" && message.contains("subquery"), "{code} {message}");
    let sql = "WITH events AS (SELECT 1 AS id) SELECT * FROM events FOR VERSION AS OF 1";
    let (code, message) = failure(&client, sql).await;
    assert!(code == "42809" && message.contains("WITH query"), "{code} {message}");
    client.batch_execute("CREATE VIEW lake.v AS SELECT 1 AS one").await.unwrap();
    let (code, message) = failure(&client, "SELECT * FROM lake.v FOR VERSION AS OF 1").await;
    assert_eq!(code, "42809", "{message}");
    let (code, message) = failure(&client, "SELECT * FROM lake.events FOR TIMESTAMP AS OF 'yesterday-ish'").await;
    assert_eq!(code, "22023", "{message}");

    // The metadata tables agree with pyiceberg's inspect tables.
    let inspect = &fixture["inspect"];
    let ids = |v: &Value| -> Vec<Vec<String>> { v.as_array().unwrap().iter().map(|id| vec![id.to_string()]).collect() };
    let sql = "SELECT snapshot_id FROM lake.\"events$snapshots\" ORDER BY committed_at";
    assert_eq!(simple_rows(&client, sql).await, ids(&inspect["snapshots"]));
    let sql = "SELECT snapshot_id FROM \"lake\".\"events$history\" ORDER BY made_current_at";
    assert_eq!(simple_rows(&client, sql).await, ids(&inspect["history"]));
    // Unquoted, as some clients send it.
    let sql = "SELECT snapshot_id FROM lake.events$history ORDER BY made_current_at";
    assert_eq!(simple_rows(&client, sql).await, ids(&inspect["history"]));
    let sql = "SELECT count(*), sum(record_count), sum(file_size_in_bytes) FROM lake.\"events$files\"";
    let want: Vec<String> = inspect["files"].as_array().unwrap().iter().map(Value::to_string).collect();
    assert_eq!(simple_rows(&client, sql).await, vec![want]);
    let sql = "SELECT count(*) FROM lake.\"events$files\" WHERE content <> 0";
    assert_eq!(simple_rows(&client, sql).await[0][0], inspect["delete_files"].to_string());
    let sql = "SELECT count(*) FROM lake.\"events$manifests\"";
    assert_eq!(simple_rows(&client, sql).await[0][0], inspect["manifests"].to_string());
    let sql = "SELECT count(*) FROM lake.\"events$partitions\"";
    assert_eq!(simple_rows(&client, sql).await[0][0], inspect["partitions"].to_string());
    let sql = "SELECT name, type, snapshot_id FROM lake.\"events$refs\"";
    let refs: Vec<Vec<String>> = inspect["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array().unwrap().iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect()
        })
        .collect();
    assert_eq!(simple_rows(&client, sql).await, refs);
    let sql = "SELECT count(*) FROM lake.\"events$snapshots\" s JOIN lake.\"events$history\" h USING (snapshot_id) \
               WHERE s.summary['operation'] IS NULL AND h.is_current_ancestor";
    assert_eq!(simple_rows(&client, sql).await[0][0], inspect["history"].as_array().unwrap().len().to_string());
    let sql = format!("SELECT * FROM lake.\"events$files\" FOR VERSION AS OF {first}");
    let (code, message) = failure(&client, &sql).await;
    assert!(code == "0A000" && message.contains("events$files"), "{code} {message}");
    let (code, message) = failure(&client, "SELECT * FROM lake.\"events$nothing\"").await;
    assert_eq!(code, "42P01", "{message}");
    assert!(message.contains("$snapshots"), "{message}");
    let listed =
        simple_rows(&client, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'lake'").await;
    assert!(listed.iter().all(|t| !t[0].contains('$')), "{listed:?}");

    // Hidden partitioning: a one-day filter keeps that day's files only.
    let day = "ts >= TIMESTAMP '2024-03-05 00:00:00' AND ts < TIMESTAMP '2024-03-06 00:00:00'";
    let sql = format!("SELECT count(*) FROM lake.events WHERE {day}");
    assert_eq!(simple_rows(&client, &sql).await[0][0], fixture["current_day_count"].to_string());
    let plan = plan_text(&client, &format!("EXPLAIN SELECT count(*) FROM lake.events WHERE {day}")).await;
    let kept = plan.split("data_files=").nth(1).unwrap_or_else(|| panic!("{plan}"));
    let (kept, total) = kept.split_once(" of ").unwrap();
    let total: usize = total.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
    let kept: usize = kept.parse().unwrap();
    assert!(kept >= 1 && kept * 4 < total, "{plan}");

    // DELETE on rows in files of the newer partition spec: the delete
    // files glaux writes carry that spec, so the rows are gone.
    let ids: Vec<String> = fixture["newer_spec_ids"].as_array().unwrap().iter().map(Value::to_string).collect();
    assert!(!ids.is_empty());
    let before: i64 = simple_rows(&client, "SELECT count(*) FROM lake.events").await[0][0].parse().unwrap();
    let sql = format!("DELETE FROM lake.events WHERE id IN ({})", ids.join(", "));
    assert_eq!(client.execute(sql.as_str(), &[]).await.unwrap(), ids.len() as u64);
    let sql = format!("SELECT count(*) FROM lake.events WHERE id IN ({})", ids.join(", "));
    assert_eq!(simple_rows(&client, &sql).await, vec![vec!["0".to_string()]]);
    let after: i64 = simple_rows(&client, "SELECT count(*) FROM lake.events").await[0][0].parse().unwrap();
    assert_eq!(after, before - ids.len() as i64);

    // The pre-flight estimate counts the column chunks read, from the
    // manifests' column sizes: one column is less than all of them, it is
    // not "at most", and it is close to what the scan then reads.
    let estimate = |rows: Vec<Vec<String>>| rows.last().unwrap()[1].clone();
    let one = estimate(simple_rows(&client, "EXPLAIN SELECT id FROM lake.events").await);
    let all = estimate(simple_rows(&client, "EXPLAIN SELECT * FROM lake.events").await);
    assert!(!one.starts_with("at most") && human_bytes(&one) < human_bytes(&all), "{one} / {all}");
    let analyzed = plan_text(&client, "EXPLAIN ANALYZE SELECT id FROM lake.events").await;
    let line = analyzed.lines().find(|l| l.contains("IcebergScan")).unwrap();
    let figure = line.split("bytes_read=").nth(1).unwrap().split(',').next().unwrap();
    let (digits, scale) = match figure.strip_suffix(" K") {
        Some(thousands) => (thousands, 1e3),
        None => (figure, 1.0),
    };
    let read = digits.parse::<f64>().unwrap_or_else(|_| panic!("{line}")) * scale;
    assert!((human_bytes(&one) - read).abs() < read * 0.1, "estimate {one}, read {read}: {analyzed}");
}

/// The bytes a figure such as `12.34 KB (from ...)` says.
fn human_bytes(text: &str) -> f64 {
    let mut words = text.split_whitespace();
    let value: f64 = words.next().unwrap().parse().unwrap_or_else(|_| panic!("{text}"));
    let unit = words.next();
    let power = ["B", "KB", "MB", "GB"].iter().position(|u| Some(*u) == unit).unwrap_or_else(|| panic!("{text}"));
    value * 1024f64.powi(power as i32)
}

#[tokio::test]
async fn bad_iceberg_metadata_and_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = pyiceberg_table(&dir.path().join("py")).await;
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    let location = fixture["location"].as_str().unwrap();
    let local = location.strip_prefix("file://").unwrap();

    // A metadata file that does not exist, or is not Iceberg metadata.
    let missing = format!("{local}/metadata/nothing.metadata.json");
    let sql = format!(
        "CREATE EXTERNAL TABLE gone LOCATION '{location}' TBLPROPERTIES ('table_type'='ICEBERG', 'metadata_location'='{missing}')"
    );
    let (code, message) = failure(&client, &sql).await;
    assert_eq!(code, "58030", "{message}");
    assert!(message.contains("nothing.metadata.json"), "{message}");
    let junk = format!("{local}/metadata/junk.metadata.json");
    std::fs::write(&junk, "{\"format-version\": 2, \"oops\": true}").unwrap();
    let sql = format!(
        "CREATE EXTERNAL TABLE junk LOCATION '{location}' TBLPROPERTIES ('table_type'='ICEBERG', 'metadata_location'='{junk}')"
    );
    let (code, message) = failure(&client, &sql).await;
    assert_eq!(code, "XX001", "{message}");
    assert!(message.contains("junk.metadata.json"), "{message}");
    std::fs::remove_file(&junk).unwrap();
    // A format-3 table, and a snapshot whose schema is not in the file.
    let newest = fixture["metadata_location"].as_str().unwrap().strip_prefix("file://").unwrap();
    let metadata: Value = serde_json::from_str(&std::fs::read_to_string(newest).unwrap()).unwrap();
    let mut v3 = metadata.clone();
    v3["format-version"] = 3.into();
    let mut lost = metadata.clone();
    lost["snapshots"][0]["schema-id"] = 99.into();
    for (name, doc, code, says) in [("v3", v3, "0A000", "format version 3"), ("lost", lost, "XX001", "99")] {
        let file = format!("{local}/metadata/{name}.metadata.json");
        std::fs::write(&file, doc.to_string()).unwrap();
        let register = format!(
            "CREATE EXTERNAL TABLE {name} LOCATION '{location}' TBLPROPERTIES ('table_type'='ICEBERG', 'metadata_location'='{file}')"
        );
        let first = fixture["snapshots"][0]["snapshot_id"].as_i64().unwrap();
        let query = format!("SELECT count(*) FROM {name} FOR VERSION AS OF {first}");
        let (got, message) = match client.batch_execute(&register).await {
            Err(_) => failure(&client, &register).await,
            Ok(()) => failure(&client, &query).await,
        };
        assert_eq!(got, code, "{name}: {message}");
        assert!(message.contains(says) && message.contains(&format!("{name}.metadata.json")), "{message}");
        std::fs::remove_file(&file).unwrap();
    }
    // No column list: the columns are the metadata's.
    let sql =
        format!("CREATE EXTERNAL TABLE cols (a int) LOCATION '{location}' TBLPROPERTIES ('table_type'='ICEBERG')");
    assert_eq!(failure(&client, &sql).await.0, "42601");

    // A data file gone from storage: the scan names it, and nothing else breaks.
    let sql = format!("CREATE EXTERNAL TABLE events LOCATION '{location}' TBLPROPERTIES ('table_type'='ICEBERG')");
    client.batch_execute(&sql).await.unwrap();
    let data = Path::new(local).join("data");
    let victim = walk(&data).into_iter().find(|p| p.extension().is_some_and(|e| e == "parquet")).unwrap();
    std::fs::remove_file(&victim).unwrap();
    let (code, message) = failure(&client, "SELECT sum(amount) FROM events").await;
    assert!(code == "58030" || code == "XX001", "{code} {message}");
    assert!(message.contains(victim.file_name().unwrap().to_str().unwrap()), "{message}");
    assert_eq!(simple_rows(&client, "SELECT 1").await, vec![vec!["1".to_string()]]);
    // DROP TABLE unregisters and keeps the files.
    client.batch_execute("DROP TABLE events").await.unwrap();
    assert!(Path::new(local).join("metadata").is_dir());
}

/// Every file under `dir`.
/// What pyiceberg reads from a metadata file: schema, spec and properties.
async fn pyiceberg_reads(metadata_location: &str) -> Value {
    let python =
        std::env::var("GLAUX_TEST_PYTHON").unwrap_or_else(|_| "/var/tmp/glaux-pyclients/bin/python".to_string());
    let script = r#"
import json, sys
from pyiceberg.table import StaticTable
t = StaticTable.from_metadata(sys.argv[1])
m = t.metadata
print(json.dumps({
    "format_version": m.format_version,
    "columns": [[f.name, str(f.field_type), f.doc] for f in t.schema().fields],
    "spec": [[f.name, str(f.transform), t.schema().find_column_name(f.source_id)] for f in t.spec().fields],
    "properties": m.properties,
    "snapshots": len(m.snapshots),
    "rows": t.scan().to_arrow().num_rows,
    "per_snapshot": [
        [s.snapshot_id, s.summary.operation.value, t.scan(snapshot_id=s.snapshot_id).to_arrow().num_rows]
        for s in sorted(m.snapshots, key=lambda s: s.sequence_number)
    ],
}))
"#;
    let mut command = std::process::Command::new(python);
    command.arg("-c").arg(script).arg(metadata_location);
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("python starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

#[tokio::test]
async fn create_table_makes_an_empty_iceberg_table_other_tools_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    let root = dir.path().join("made table %=:é");
    let location = root.to_str().unwrap();
    let create = format!(
        "CREATE TABLE IF NOT EXISTS made (id bigint COMMENT 'the id', ts timestamp, name string, price decimal(10,2), \
         tags array<string>, place struct<city:string,at:timestamp>) \
         PARTITIONED BY (day(ts), bucket(16, id), truncate(4, name), name) LOCATION '{location}' \
         TBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet', 'write_compression'='ZSTD', 'vacuum_min_snapshots_to_keep'='3')"
    );
    client.batch_execute(&create).await.unwrap();
    // Again with IF NOT EXISTS: nothing happens, no second metadata file.
    client.batch_execute(&create).await.unwrap();
    let written = walk(&root.join("metadata"));
    assert_eq!(written.len(), 1, "{written:?}");
    let file = written[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(file.starts_with("00000-") && file.ends_with(".metadata.json"), "{file}");

    let properties = simple_rows(&client, "SHOW TBLPROPERTIES made").await;
    let property = |k: &str| properties.iter().find(|p| p[0] == k).map(|p| p[1].clone());
    assert_eq!(property("vacuum_min_snapshots_to_keep").as_deref(), Some("3"));
    assert_eq!(property("table_type").as_deref(), Some("ICEBERG"));
    let metadata_location = property("metadata_location").unwrap();
    assert!(metadata_location.ends_with(&file), "{metadata_location}");
    assert_eq!(
        simple_rows(&client, "SELECT count(*), sum(id) FROM made").await,
        vec![vec!["0".to_string(), "NULL".to_string()]]
    );
    let described = simple_rows(&client, "DESCRIBE made").await;
    let columns: Vec<_> = described.iter().map(|r| (r[0].as_str(), r[1].as_str(), r[3].as_str())).collect();
    assert_eq!(
        columns,
        vec![
            ("id", "bigint", "the id"),
            ("ts", "timestamp", "NULL"),
            ("name", "string", "NULL"),
            ("price", "decimal(10,2)", "NULL"),
            ("tags", "array<string>", "NULL"),
            ("place", "struct<city:string,at:timestamp>", "NULL"),
        ]
    );
    let listed = simple_rows(&client, "SELECT count(*) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON a.attrelid = c.oid WHERE c.relname = 'made' AND a.attnum > 0").await;
    assert_eq!(listed, vec![vec!["6".to_string()]]);

    // pyiceberg reads the table glaux wrote.
    let seen = pyiceberg_reads(&metadata_location).await;
    assert_eq!(seen["format_version"], 2);
    assert_eq!(seen["snapshots"], 0);
    assert_eq!(seen["rows"], 0);
    assert_eq!(seen["columns"][0], serde_json::json!(["id", "long", "the id"]));
    assert_eq!(seen["columns"][1][1], "timestamp");
    assert_eq!(seen["columns"][3][1], "decimal(10, 2)");
    assert_eq!(
        seen["spec"],
        serde_json::json!([
            ["ts_day", "day", "ts"],
            ["id_bucket", "bucket[16]", "id"],
            ["name_trunc", "truncate[4]", "name"],
            ["name", "identity", "name"]
        ])
    );
    assert_eq!(seen["properties"]["write.parquet.compression-codec"], "zstd");
    assert_eq!(seen["properties"]["write.format.default"], "parquet");

    // Each bad definition is a clear error and writes nothing.
    let other = dir.path().join("other");
    let bad = |columns: &str, partitioning: &str, properties: &str| {
        format!(
            "CREATE TABLE bad ({columns}) {partitioning} LOCATION '{}' TBLPROPERTIES ('table_type'='ICEBERG'{properties})",
            other.display()
        )
    };
    let cases = [
        (bad("id bigint, ts timestamp", "PARTITIONED BY (week(ts))", ""), "22023", "week"),
        (bad("id bigint, ts timestamp", "PARTITIONED BY (bucket(id))", ""), "22023", "bucket"),
        (bad("id bigint, ts timestamp", "PARTITIONED BY (day(id))", ""), "42804", "id"),
        (bad("id bigint, ts timestamp", "PARTITIONED BY (day(nope))", ""), "42703", "nope"),
        (bad("id bigint, ts timestamp", "PARTITIONED BY (dt string)", ""), "42601", "dt"),
        (bad("id tinyint", "", ""), "0A000", "tinyint"),
        (bad("ts timestamp, ts_day date", "PARTITIONED BY (day(ts))", ""), "42710", "ts_day"),
        (bad("id bigint", "", ", 'format'='csv'"), "22023", "csv"),
        (bad("id bigint", "STORED AS PARQUET", ""), "42601", "format"),
        (bad("id bigint", "", ", 'metadata_location'='/x.metadata.json'"), "42601", "metadata_location"),
        (
            format!("CREATE TABLE bad LOCATION '{}' TBLPROPERTIES ('table_type'='ICEBERG')", other.display()),
            "42601",
            "columns",
        ),
        (
            format!("CREATE TABLE made (id int) LOCATION '{}' TBLPROPERTIES ('table_type'='ICEBERG')", other.display()),
            "42P07",
            "made",
        ),
        (
            format!("CREATE TABLE again (id int) LOCATION '{location}' TBLPROPERTIES ('table_type'='ICEBERG')"),
            "42P07",
            "already holds",
        ),
        (
            format!("CREATE EXTERNAL TABLE hive (id int) PARTITIONED BY (dt) LOCATION '{}'", other.display()),
            "42601",
            "dt",
        ),
    ];
    for (sql, code, names) in cases {
        let (got, message) = failure(&client, &sql).await;
        assert_eq!(got, code, "{sql}: {message}");
        assert!(message.contains(names), "{sql}: {message}");
    }
    assert!(!other.exists());
    assert_eq!(walk(&root.join("metadata")).len(), 1);

    // DROP TABLE unregisters; the files stay and can be registered again.
    client.batch_execute("DROP TABLE made").await.unwrap();
    assert_eq!(walk(&root.join("metadata")).len(), 1);
    let sql = format!("CREATE EXTERNAL TABLE made LOCATION '{location}' TBLPROPERTIES ('table_type'='ICEBERG')");
    client.batch_execute(&sql).await.unwrap();
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM made").await, vec![vec!["0".to_string()]]);
}

#[tokio::test]
async fn a_table_pyiceberg_put_in_glue_and_s3_reads_through_the_glue_catalog() {
    let moto = start_moto().await;
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    create_bucket(moto.port, "lake").await;
    let dir = tempfile::tempdir().unwrap();
    let fixture = pyiceberg_table_in(&dir.path().join("py"), &["glue", &endpoint]).await;
    assert!(fixture["location"].as_str().unwrap().starts_with("s3://lake/"), "{fixture}");
    let engine = Engine::open(glue_config(&dir.path().join("glaux"), &endpoint)).await.unwrap();
    let server = TestServer::start(engine).await;
    let client = server.connect().await;

    // pyiceberg's GlueCatalog wrote the entry: no registration.
    let properties = simple_rows(&client, "SHOW TBLPROPERTIES lake.events").await;
    let metadata = properties.iter().find(|p| p[0] == "metadata_location").map(|p| p[1].clone());
    assert_eq!(metadata.as_deref(), fixture["metadata_location"].as_str());
    assert!(properties.iter().any(|p| p[0] == "previous_metadata_location"), "{properties:?}");
    let steps = fixture["snapshots"].as_array().unwrap();
    let sql = format!("SELECT {ANSWER} FROM lake.events");
    assert_eq!(simple_rows(&client, &sql).await, expected(steps.last().unwrap()));
    for step in steps {
        let id = step["snapshot_id"].as_i64().unwrap();
        let sql = format!("SELECT {ANSWER} FROM lake.events FOR VERSION AS OF {id}");
        assert_eq!(simple_rows(&client, &sql).await, expected(step), "{}", step["what"]);
    }
    let snapshots = simple_rows(&client, "SELECT count(*) FROM lake.\"events$snapshots\"").await;
    assert_eq!(snapshots[0][0], fixture["inspect"]["snapshots"].as_array().unwrap().len().to_string());
    let columns = simple_rows(
        &client,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'lake' AND table_name = 'events' ORDER BY ordinal_position",
    )
    .await;
    let want: Vec<Vec<String>> =
        fixture["current_columns"].as_array().unwrap().iter().map(|c| vec![c.as_str().unwrap().to_string()]).collect();
    assert_eq!(columns, want);

    // A new table glaux creates in Glue and S3 is one pyiceberg's GlueCatalog loads.
    let create = "CREATE TABLE lake.made (id bigint, ts timestamp) PARTITIONED BY (day(ts)) \
                  LOCATION 's3://lake/warehouse/made' TBLPROPERTIES ('table_type' = 'ICEBERG')";
    client.batch_execute(create).await.unwrap();
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM lake.made").await, vec![vec!["0".to_string()]]);
    // Written through Glue (its version guards each swap) and S3.
    let sql =
        "INSERT INTO lake.made VALUES (1, TIMESTAMP '2024-01-01 10:00:00'), (2, TIMESTAMP '2024-01-01 11:00:00'), \
               (3, TIMESTAMP '2024-01-02 10:00:00')";
    assert_eq!(client.execute(sql, &[]).await.unwrap(), 3);
    let mut sessions = Vec::new();
    for s in 0..2 {
        let client = server.connect().await;
        sessions.push(tokio::spawn(async move {
            for i in 0..3 {
                let sql =
                    format!("INSERT INTO lake.made VALUES ({}, TIMESTAMP '2024-01-03 00:00:00')", 10 + s * 10 + i);
                client.execute(sql.as_str(), &[]).await.unwrap();
            }
        }));
    }
    for session in sessions {
        session.await.unwrap();
    }
    assert_eq!(client.execute("DELETE FROM lake.made WHERE id = 2", &[]).await.unwrap(), 1);
    assert_eq!(client.execute("UPDATE lake.made SET id = 4 WHERE id = 3", &[]).await.unwrap(), 1);
    let ids = simple_rows(&client, "SELECT string_agg(CAST(id AS varchar), ',' ORDER BY id) FROM lake.made").await;
    assert_eq!(ids, vec![vec!["1,4,10,11,12,20,21,22".to_string()]]);
    // And on top of the table pyiceberg made (pyiceberg does not read its
    // equality deletes; it sees glaux's snapshot).
    let before: i64 = simple_rows(&client, "SELECT count(*) FROM lake.events").await[0][0].parse().unwrap();
    assert_eq!(client.execute("INSERT INTO lake.events (id) VALUES (987654)", &[]).await.unwrap(), 1);
    let after: i64 = simple_rows(&client, "SELECT count(*) FROM lake.events").await[0][0].parse().unwrap();
    assert_eq!(after, before + 1);
    let python =
        std::env::var("GLAUX_TEST_PYTHON").unwrap_or_else(|_| "/var/tmp/glaux-pyclients/bin/python".to_string());
    let script = r#"
import json, sys
from pyiceberg.catalog.glue import GlueCatalog
e = sys.argv[1]
props = {"glue.endpoint": e, "glue.region": "us-east-1", "glue.access-key-id": "test", "glue.secret-access-key": "test",
         "s3.endpoint": e, "s3.region": "us-east-1", "s3.access-key-id": "test", "s3.secret-access-key": "test",
         "py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO"}
t = GlueCatalog("glue", **props).load_table("lake.made")
ids = sorted(t.scan().to_arrow().column("id").to_pylist())
last = GlueCatalog("glue", **props).load_table("lake.events").current_snapshot().summary
events = [last.operation.value, last["added-records"]]
print(json.dumps({"columns": [f.name for f in t.schema().fields], "spec": [str(f.transform) for f in t.spec().fields],
                  "location": t.location(), "ids": ids, "events": events}))
"#;
    let mut command = std::process::Command::new(python);
    command.arg("-c").arg(script).arg(&endpoint);
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("python starts");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({"columns": ["id", "ts"], "spec": ["day"], "location": "s3://lake/warehouse/made",
                           "ids": [1, 4, 10, 11, 12, 20, 21, 22], "events": ["append", "1"]})
    );
}

#[tokio::test]
async fn insert_appends_snapshots_other_tools_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    let root = dir.path().join("written %=:é");
    let create = format!(
        "CREATE TABLE ev (id bigint, ts timestamp, name string, amount decimal(10,2)) \
         PARTITIONED BY (day(ts), bucket(4, id)) LOCATION '{}' TBLPROPERTIES ('table_type'='ICEBERG')",
        root.display()
    );
    client.batch_execute(&create).await.unwrap();

    // VALUES and SELECT, each one snapshot, with the PostgreSQL tag.
    let first = client
        .execute(
            "INSERT INTO ev VALUES (1, TIMESTAMP '2024-03-05 10:00:00', 'a', 1.50), \
             (2, TIMESTAMP '2024-03-05 11:00:00', 'b', 2.25), (3, TIMESTAMP '2024-03-06 09:00:00', NULL, NULL)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(first, 3);
    let sql = "INSERT INTO ev (ts, id, name) SELECT to_timestamp_seconds(1709769600 + v * 3600), v + 100, 'x' || v FROM generate_series(1, 50) AS g(v)";
    assert_eq!(client.execute(sql, &[]).await.unwrap(), 50);
    let rows = simple_rows(&client, "SELECT count(*), sum(id), count(amount), sum(amount) FROM ev").await;
    assert_eq!(rows, vec![vec!["53".to_string(), "6281".to_string(), "2".to_string(), "3.75".to_string()]]);
    let rows =
        simple_rows(&client, "SELECT id, name FROM ev WHERE ts < TIMESTAMP '2024-03-06 00:00:00' ORDER BY id").await;
    assert_eq!(rows, vec![vec!["1".to_string(), "a".to_string()], vec!["2".to_string(), "b".to_string()]]);

    // Two snapshots, and the first is still there to travel to.
    let snapshots =
        simple_rows(&client, "SELECT snapshot_id, operation FROM \"ev$snapshots\" ORDER BY committed_at").await;
    assert_eq!(snapshots.len(), 2, "{snapshots:?}");
    assert!(snapshots.iter().all(|s| s[1] == "append"), "{snapshots:?}");
    let sql = format!("SELECT count(*) FROM ev FOR VERSION AS OF {}", snapshots[0][0]);
    assert_eq!(simple_rows(&client, &sql).await, vec![vec!["3".to_string()]]);
    // Files are partitioned by the table's spec: the first day's rows
    // are in files of that day only.
    let plan = plan_text(&client, "EXPLAIN SELECT * FROM ev WHERE ts < TIMESTAMP '2024-03-06 00:00:00'").await;
    let total: usize = simple_rows(&client, "SELECT count(*) FROM \"ev$files\"").await[0][0].parse().unwrap();
    assert!(total >= 3 && !plan.contains(&format!("data_files={total} of")), "{plan}");

    // The catalog points at the newest metadata file, and keeps the one before.
    let properties = simple_rows(&client, "SHOW TBLPROPERTIES ev").await;
    let property = |k: &str| properties.iter().find(|p| p[0] == k).map(|p| p[1].clone()).unwrap();
    let (current, previous) = (property("metadata_location"), property("previous_metadata_location"));
    assert!(current.contains("/00002-") && previous.contains("/00001-"), "{current} {previous}");

    // pyiceberg reads every snapshot glaux wrote, with glaux's answers.
    let seen = pyiceberg_reads(&current).await;
    assert_eq!(seen["rows"], 53);
    let per_snapshot: Vec<(String, String, i64)> = seen["per_snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s[0].to_string(), s[1].as_str().unwrap().to_string(), s[2].as_i64().unwrap()))
        .collect();
    assert_eq!(
        per_snapshot,
        vec![(snapshots[0][0].clone(), "append".to_string(), 3), (snapshots[1][0].clone(), "append".to_string(), 53)]
    );

    // Sessions appending at once: every acknowledged INSERT keeps its rows.
    let mut sessions = Vec::new();
    for s in 0..4 {
        let client = server.connect().await;
        sessions.push(tokio::spawn(async move {
            let mut done = 0;
            for i in 0..5 {
                let id = 1000 + s * 100 + i;
                let sql = format!("INSERT INTO ev VALUES ({id}, TIMESTAMP '2024-04-0{} 00:00:00', 's', 1)", s + 1);
                if client.execute(sql.as_str(), &[]).await.is_ok() {
                    done += 1;
                }
            }
            done
        }));
    }
    let mut acknowledged = 0;
    for session in sessions {
        acknowledged += session.await.unwrap();
    }
    assert_eq!(acknowledged, 20);
    let rows = simple_rows(&client, "SELECT count(*) FROM ev WHERE name = 's'").await;
    assert_eq!(rows, vec![vec!["20".to_string()]]);
    let count = simple_rows(&client, "SELECT count(*) FROM \"ev$snapshots\"").await;
    assert_eq!(count, vec![vec!["22".to_string()]]);

    // Bad input: clear errors, and the table is unchanged.
    let (code, message) = failure(&client, "INSERT INTO ev (id) VALUES ('not a number')").await;
    assert!(code == "22P02" || code == "42804", "{code} {message}");
    let (code, message) = failure(&client, "INSERT INTO ev (nope) VALUES (1)").await;
    assert!(code == "42703", "{code} {message}");
    let (code, message) = failure(&client, "INSERT OVERWRITE ev SELECT * FROM ev").await;
    assert!(code == "0A000" || code == "42601", "{code} {message}");
    let count = simple_rows(&client, "SELECT count(*) FROM \"ev$snapshots\"").await;
    assert_eq!(count, vec![vec!["22".to_string()]]);
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM ev").await, vec![vec!["73".to_string()]]);
}

#[tokio::test]
async fn delete_writes_position_deletes_or_drops_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    let create = format!(
        "CREATE TABLE ev (id bigint, day date, note string) PARTITIONED BY (day) LOCATION '{}' \
         TBLPROPERTIES ('table_type'='ICEBERG')",
        dir.path().join("ev").display()
    );
    client.batch_execute(&create).await.unwrap();
    // Three days, ten rows each, in three commits.
    for day in 1..=3 {
        let sql = format!(
            "INSERT INTO ev SELECT v + {}, DATE '2024-01-0{day}', 'n' || v FROM generate_series(1, 10) AS g(v)",
            day * 100
        );
        assert_eq!(client.execute(sql.as_str(), &[]).await.unwrap(), 10);
    }
    let count = |sql: &'static str| {
        let client = &client;
        async move { simple_rows(client, sql).await[0][0].parse::<i64>().unwrap() }
    };
    let snapshots = || count("SELECT count(*) FROM \"ev$snapshots\"");

    // Some rows of a file: a position-delete file, in a `delete` snapshot.
    assert_eq!(
        client
            .execute("DELETE FROM ev WHERE id IN (101, 102) OR note = 'n3' AND day = DATE '2024-01-02'", &[])
            .await
            .unwrap(),
        3
    );
    assert_eq!(count("SELECT count(*) FROM ev").await, 27);
    assert_eq!(count("SELECT count(*) FROM ev WHERE id IN (101, 102, 203)").await, 0);
    assert_eq!(count("SELECT count(*) FROM \"ev$files\" WHERE content = 1").await, 2);
    let last =
        "SELECT operation, summary['deleted-data-files'], summary['added-position-deletes'], summary['total-records'] \
                FROM \"ev$snapshots\" ORDER BY committed_at DESC LIMIT 1";
    assert_eq!(
        simple_rows(&client, last).await,
        vec![vec!["delete".to_string(), "NULL".to_string(), "3".to_string(), "30".to_string()]]
    );
    // Rows already deleted are not deleted (or counted) again; a DELETE
    // that matches nothing makes no snapshot.
    assert_eq!(client.execute("DELETE FROM ev WHERE id <= 102", &[]).await.unwrap(), 0);
    assert_eq!(snapshots().await, 4);
    assert_eq!(client.execute("DELETE FROM ev WHERE id BETWEEN 101 AND 104", &[]).await.unwrap(), 2);
    assert_eq!(count("SELECT count(*) FROM ev").await, 25);

    // Every live row of a file: the file leaves the table, no delete file.
    assert_eq!(client.execute("DELETE FROM ev WHERE day = DATE '2024-01-03'", &[]).await.unwrap(), 10);
    assert_eq!(
        simple_rows(&client, last).await,
        vec![vec!["delete".to_string(), "1".to_string(), "NULL".to_string(), "20".to_string()]]
    );
    assert_eq!(count("SELECT count(*) FROM \"ev$files\" WHERE content = 0").await, 2);
    // A file whose remaining rows all go, though some were deleted before.
    assert_eq!(client.execute("DELETE FROM ev WHERE day = DATE '2024-01-01'", &[]).await.unwrap(), 6);
    assert_eq!(count("SELECT count(*) FROM ev").await, 9);
    assert_eq!(count("SELECT count(*) FROM \"ev$files\" WHERE content = 0").await, 1);

    // Time travel still sees the rows; pyiceberg agrees at every snapshot.
    let first =
        simple_rows(&client, "SELECT snapshot_id FROM \"ev$snapshots\" ORDER BY committed_at LIMIT 1 OFFSET 2").await;
    let sql = format!("SELECT count(*) FROM ev FOR VERSION AS OF {}", first[0][0]);
    assert_eq!(simple_rows(&client, &sql).await, vec![vec!["30".to_string()]]);
    let properties = simple_rows(&client, "SHOW TBLPROPERTIES ev ('metadata_location')").await;
    let seen = pyiceberg_reads(&properties[0][1]).await;
    let counts: Vec<(String, i64)> = seen["per_snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s[1].as_str().unwrap().to_string(), s[2].as_i64().unwrap()))
        .collect();
    let want: Vec<(String, i64)> =
        [("append", 10), ("append", 20), ("append", 30), ("delete", 27), ("delete", 25), ("delete", 15), ("delete", 9)]
            .iter()
            .map(|(op, n)| (op.to_string(), *n))
            .collect();
    assert_eq!(counts, want);

    // A condition a subquery decides is refused, and nothing changes.
    let (code, message) = failure(&client, "DELETE FROM ev WHERE id IN (SELECT 201)").await;
    assert_eq!(code, "0A000", "{message}");
    let (code, message) = failure(&client, "DELETE FROM ev WHERE EXISTS (SELECT 1)").await;
    assert_eq!(code, "0A000", "{message}");
    assert_eq!(count("SELECT count(*) FROM ev").await, 9);

    // Deletes and inserts at once: each acknowledged statement counts; a
    // refused one (it lost every race it ran, through all its retries)
    // says so with 40001 and changes nothing.
    let mut sessions = Vec::new();
    for s in 0..3i64 {
        let client = server.connect().await;
        sessions.push(tokio::spawn(async move {
            let (mut net, mut refused) = (0i64, 0);
            for i in 0..4i64 {
                let id = 1000 + s * 10 + i;
                let insert = format!(
                    "INSERT INTO ev VALUES ({id}, DATE '2024-02-01', 'c'), ({}, DATE '2024-02-01', 'c')",
                    id + 500
                );
                let delete = format!("DELETE FROM ev WHERE id = {}", id + 500);
                for (sql, sign) in [(insert, 1), (delete, -1)] {
                    match client.execute(sql.as_str(), &[]).await {
                        Ok(n) => net += sign * n as i64,
                        Err(e) => {
                            let code = e.as_db_error().map(|d| d.code().code().to_string());
                            assert_eq!(code.as_deref(), Some("40001"), "{sql}: {e:?}");
                            refused += 1;
                        }
                    }
                }
            }
            (net, refused)
        }));
    }
    let (mut net, mut refused) = (0, 0);
    for session in sessions {
        let (n, r) = session.await.unwrap();
        (net, refused) = (net + n, refused + r);
    }
    // Most of the 24 statements land even on a loaded machine.
    assert!(refused <= 6, "{refused} of 24 statements refused");
    let total = count("SELECT count(*) FROM ev").await;
    assert_eq!(total, 9 + net);
    assert_eq!(count("SELECT count(*) FROM ev WHERE note = 'c'").await, net);
    // DELETE with no condition empties the table.
    assert_eq!(client.execute("DELETE FROM ev", &[]).await.unwrap() as i64, total);
    assert_eq!(count("SELECT count(*) FROM ev").await, 0);
}

#[tokio::test]
async fn update_rewrites_rows_and_moves_them_between_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let (client, notices) = server.connect_with_notices().await;
    let create = format!(
        "CREATE TABLE up (id bigint, day date, amount int, note string) PARTITIONED BY (day) LOCATION '{}' \
         TBLPROPERTIES ('table_type'='ICEBERG')",
        dir.path().join("up").display()
    );
    client.batch_execute(&create).await.unwrap();
    let sql = "INSERT INTO up SELECT v, CASE WHEN v <= 10 THEN DATE '2024-01-01' ELSE DATE '2024-01-02' END, v AS amount, 'n' \
               FROM generate_series(1, 20) AS g(v)";
    assert_eq!(client.execute(sql, &[]).await.unwrap(), 20);
    let rows = |sql: &'static str| {
        let client = &client;
        async move { simple_rows(client, sql).await }
    };
    let one = |v: &str| vec![vec![v.to_string()]];

    // New values from the old ones, in an `overwrite` snapshot.
    assert_eq!(client.execute("UPDATE up SET amount = amount * 10, note = 'u' WHERE id <= 3", &[]).await.unwrap(), 3);
    assert_eq!(rows("SELECT count(*), sum(amount) FROM up").await, vec![vec!["20".to_string(), "264".to_string()]]);
    assert_eq!(
        rows("SELECT string_agg(CAST(amount AS varchar), ',' ORDER BY id) FROM up WHERE note = 'u'").await,
        one("10,20,30")
    );
    let last = "SELECT operation FROM \"up$snapshots\" ORDER BY committed_at DESC LIMIT 1";
    assert_eq!(rows(last).await, one("overwrite"));
    // What it read is charged to the workgroup, as a query's reads are.
    notices.lock().unwrap().clear();
    assert_eq!(client.execute("UPDATE up SET note = 'v' WHERE id = 20", &[]).await.unwrap(), 1);
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("scanned") && !said.contains("scanned 0 B"), "{said}");
    // The same rows again: each is updated once more, not twice.
    assert_eq!(client.execute("UPDATE up SET amount = amount + 1 WHERE note = 'u'", &[]).await.unwrap(), 3);
    assert_eq!(rows("SELECT sum(amount) FROM up WHERE note = 'u'").await, one("63"));

    // A partition column: the row moves to its new partition's file.
    assert_eq!(client.execute("UPDATE up SET day = DATE '2024-01-05' WHERE id = 4", &[]).await.unwrap(), 1);
    assert_eq!(rows("SELECT id FROM up WHERE day = DATE '2024-01-05'").await, one("4"));
    assert_eq!(rows("SELECT count(*) FROM up WHERE day = DATE '2024-01-01'").await, one("9"));
    let plan = plan_text(&client, "EXPLAIN SELECT * FROM up WHERE day = DATE '2024-01-05'").await;
    assert!(plan.contains("data_files=1 of"), "{plan}");

    // Every row of a partition: its file leaves the table.
    assert_eq!(client.execute("UPDATE up SET note = 'all' WHERE day = DATE '2024-01-02'", &[]).await.unwrap(), 10);
    assert_eq!(rows("SELECT count(*) FROM up WHERE note = 'all'").await, one("10"));
    assert_eq!(rows("SELECT count(*) FROM up").await, one("20"));

    // Bad input changes nothing.
    let before = rows("SELECT count(*) FROM \"up$snapshots\"").await;
    let (code, message) = failure(&client, "UPDATE up SET amount = 1 WHERE id IN (SELECT 1)").await;
    assert_eq!(code, "0A000", "{message}");
    let (code, message) = failure(&client, "UPDATE up SET amount = 'many' WHERE id = 1").await;
    assert!(code == "22P02" || code == "42804", "{code} {message}");
    let (code, message) = failure(&client, "UPDATE up SET nope = 1").await;
    assert_eq!(code, "42703", "{message}");
    assert_eq!(rows("SELECT count(*) FROM \"up$snapshots\"").await, before);
    assert_eq!(client.execute("UPDATE up SET amount = 0 WHERE id > 1000", &[]).await.unwrap(), 0);
    assert_eq!(rows("SELECT count(*) FROM \"up$snapshots\"").await, before);

    // pyiceberg reads the same rows at the end.
    let properties = rows("SHOW TBLPROPERTIES up ('metadata_location')").await;
    let seen = pyiceberg_reads(&properties[0][1]).await;
    assert_eq!(seen["rows"], 20);
    let operations: Vec<&str> =
        seen["per_snapshot"].as_array().unwrap().iter().map(|s| s[1].as_str().unwrap()).collect();
    assert_eq!(operations, ["append", "overwrite", "overwrite", "overwrite", "overwrite", "overwrite"]);
}

#[tokio::test]
async fn create_table_as_writes_an_iceberg_table_in_one_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    let at = |name: &str| dir.path().join(name).display().to_string();
    let sql = format!(
        "CREATE TABLE c WITH (table_type = 'ICEBERG', location = '{}', partitioning = ARRAY['day(ts)', 'bucket(4, id)'], \
         format = 'PARQUET', write_compression = 'ZSTD') AS \
         SELECT v AS id, CAST(to_timestamp_seconds(1709769600 + v * 7200) AS timestamp) AS ts, 'x' || v AS name, v * 1.5 AS score \
         FROM generate_series(1, 30) AS g(v)",
        at("c")
    );
    assert_eq!(client.execute(sql.as_str(), &[]).await.unwrap(), 30);
    let rows = simple_rows(&client, "SELECT count(*), sum(id), count(DISTINCT name) FROM c").await;
    assert_eq!(rows, vec![vec!["30".to_string(), "465".to_string(), "30".to_string()]]);
    // Without deletes or conditions, count(*) comes from the manifests'
    // counts: no data file is read.
    let plan = plan_text(&client, "EXPLAIN SELECT count(*) FROM c").await;
    assert!(!plan.contains("IcebergScan"), "{plan}");
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM c").await, vec![vec!["30".to_string()]]);
    let plan = plan_text(&client, "EXPLAIN SELECT count(*) FROM c WHERE id > 3").await;
    assert!(plan.contains("IcebergScan"), "{plan}");
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM c WHERE id > 3").await, vec![vec!["27".to_string()]]);
    let described: Vec<Vec<String>> =
        simple_rows(&client, "DESCRIBE c").await.into_iter().map(|r| r[..2].to_vec()).collect();
    let want = [["id", "bigint"], ["ts", "timestamp"], ["name", "string"], ["score", "double"]];
    assert_eq!(described, want.map(|r| r.map(str::to_string).to_vec()).to_vec());
    let properties = simple_rows(&client, "SHOW TBLPROPERTIES c ('metadata_location')").await;
    let seen = pyiceberg_reads(&properties[0][1]).await;
    assert_eq!(seen["rows"], 30);
    assert_eq!(seen["snapshots"], 1);
    assert_eq!(seen["properties"]["write.parquet.compression-codec"], "zstd");
    let spec: Vec<String> =
        seen["spec"].as_array().unwrap().iter().map(|f| f[1].as_str().unwrap().to_string()).collect();
    assert_eq!(spec, ["day", "bucket[4]"]);

    // WITH NO DATA: the table, empty; IF NOT EXISTS on it: nothing.
    let sql = format!(
        "CREATE TABLE e WITH (table_type = 'ICEBERG', location = '{}') AS SELECT id, name FROM c WITH NO DATA",
        at("e")
    );
    client.batch_execute(&sql).await.unwrap();
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM e").await, vec![vec!["0".to_string()]]);
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM \"e$snapshots\"").await, vec![vec!["0".to_string()]]);
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS e WITH (table_type = 'ICEBERG', location = '{}') AS SELECT id FROM c",
        at("e2")
    );
    client.batch_execute(&sql).await.unwrap();
    assert_eq!(simple_rows(&client, "SELECT count(*) FROM e").await, vec![vec!["0".to_string()]]);
    // From an old snapshot of another table.
    client.batch_execute("INSERT INTO c (id) VALUES (100)").await.unwrap();
    let first =
        simple_rows(&client, "SELECT min(snapshot_id) FILTER (WHERE parent_id IS NULL) FROM \"c$snapshots\"").await;
    let sql = format!(
        "CREATE TABLE old WITH (table_type = 'ICEBERG', location = '{}') AS SELECT id FROM c FOR VERSION AS OF {}",
        at("old"),
        first[0][0]
    );
    assert_eq!(client.execute(sql.as_str(), &[]).await.unwrap(), 30);

    // Errors leave no table behind.
    let cases = [
        // A Hive table's CTAS, whose rows fail midway.
        (
            format!(
                "CREATE TABLE h WITH (format = 'PARQUET', external_location = '{}') AS SELECT 10 / (v - 5) AS a FROM generate_series(1, 9) AS g(v)",
                at("h")
            ),
            "22012",
        ),
        (format!("CREATE TABLE h WITH (table_type = 'ICEBERG', location = '{}') AS SELECT c.id, e.id FROM c, e", at("h")), "42710"),
        (
            format!(
                "CREATE TABLE h WITH (table_type = 'ICEBERG', location = '{}') AS SELECT 10 / (v - 5) AS a FROM generate_series(1, 9) AS g(v)",
                at("h")
            ),
            "22012",
        ),
        (format!("CREATE TABLE h WITH (table_type = 'ICEBERG', location = '{}') AS SELECT nope FROM c", at("h")), "42703"),
        (format!("CREATE TABLE h (a int) WITH (table_type = 'ICEBERG', location = '{}') AS SELECT 1", at("h")), "42601"),
        (format!("CREATE TABLE h WITH (table_type = 'ICEBERG', partitioning = ARRAY['week(ts)'], location = '{}') AS SELECT ts FROM c", at("h")), "22023"),
    ];
    for (sql, code) in cases {
        let (got, message) = failure(&client, &sql).await;
        assert_eq!(got, code, "{sql}: {message}");
        let (got, _) = failure(&client, "SELECT * FROM h").await;
        assert_eq!(got, "42P01", "{sql} left a table");
        // (A Hive table's files go right under its location.)
        let files: Vec<PathBuf> = std::fs::read_dir(dir.path().join("h"))
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        assert!(files.is_empty(), "{sql} left {files:?}");
    }
    let metadata = dir.path().join("h").join("metadata");
    assert!(!metadata.exists() || walk(&metadata).is_empty(), "{:?}", walk(&metadata));
}

#[tokio::test]
async fn drop_table_purge_deletes_the_files_for_an_admin_or_the_creator_only() {
    use crate::security::{login, server_with};
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(&dir.path().join("lake"), &[]).await;
    let first = login(&server, "tester", None).await.unwrap();
    first
        .batch_execute(
            "CREATE USER ann PASSWORD 'a'; CREATE USER bo PASSWORD 'b'; CREATE USER root PASSWORD 'r' SUPERUSER",
        )
        .await
        .unwrap();
    let ann = login(&server, "ann", Some("a")).await.unwrap();
    let bo = login(&server, "bo", Some("b")).await.unwrap();
    let root = login(&server, "root", Some("r")).await.unwrap();
    let make = |name: &str| {
        format!(
            "CREATE TABLE {name} WITH (table_type = 'ICEBERG', location = '{}') AS SELECT v AS id FROM generate_series(1, 5) AS g(v)",
            dir.path().join(name).display()
        )
    };
    ann.batch_execute(&make("mine")).await.unwrap();
    ann.batch_execute("INSERT INTO mine VALUES (6); DELETE FROM mine WHERE id = 1; DELETE FROM mine WHERE id <= 6")
        .await
        .unwrap();
    ann.batch_execute(&make("other")).await.unwrap();
    let files = |name: &str| walk(&dir.path().join(name));
    assert!(files("mine").len() >= 10, "{:?}", files("mine"));

    // Another user may not purge it (nor may anyone purge a Hive table).
    let e = bo.batch_execute("DROP TABLE mine PURGE").await.unwrap_err();
    let db = e.as_db_error().unwrap();
    assert_eq!(db.code().code(), "42501", "{db:?}");
    assert!(
        db.message().contains("purge table public.mine") && db.message().contains("created by ann"),
        "{}",
        db.message()
    );
    assert_eq!(simple_rows(&bo, "SELECT count(*) FROM mine").await, vec![vec!["0".to_string()]]);
    std::fs::create_dir_all(dir.path().join("hive")).unwrap();
    std::fs::write(dir.path().join("hive/a.csv"), "1\n").unwrap();
    let hive = format!("CREATE EXTERNAL TABLE hive (a int) LOCATION '{}'", dir.path().join("hive").display());
    root.batch_execute(&hive).await.unwrap();
    let e = root.batch_execute("DROP TABLE hive PURGE").await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "0A000", "{e:?}");
    assert!(dir.path().join("hive/a.csv").exists());

    // Its creator may: every file its metadata reaches goes, and only those.
    let stray = dir.path().join("mine").join("not-the-table's.txt");
    std::fs::write(&stray, "keep").unwrap();
    ann.batch_execute("DROP TABLE mine PURGE").await.unwrap();
    assert_eq!(files("mine"), vec![stray]);
    let e = ann.batch_execute("SELECT * FROM mine").await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "42P01");
    // And an admin may purge anyone's; IF EXISTS on a missing one is fine.
    root.batch_execute("DROP TABLE other PURGE; DROP TABLE IF EXISTS other PURGE").await.unwrap();
    assert!(files("other").is_empty(), "{:?}", files("other"));
    // A plain DROP keeps the files, as before.
    ann.batch_execute(&make("kept")).await.unwrap();
    bo.batch_execute("DROP TABLE kept").await.unwrap();
    assert!(!files("kept").is_empty());
}

#[tokio::test]
async fn alter_table_evolves_the_schema_by_field_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    let create = format!(
        "CREATE TABLE al (id bigint, amount int, name string, ts timestamp) PARTITIONED BY (day(ts)) LOCATION '{}' \
         TBLPROPERTIES ('table_type'='ICEBERG')",
        dir.path().join("al").display()
    );
    client.batch_execute(&create).await.unwrap();
    client.batch_execute("INSERT INTO al VALUES (1, 10, 'a', TIMESTAMP '2024-01-01 00:00:00'), (2, 20, 'b', TIMESTAMP '2024-01-02 00:00:00')").await.unwrap();
    let rows = |sql: &'static str| {
        let client = &client;
        async move { simple_rows(client, sql).await }
    };
    let names = |rows: Vec<Vec<String>>| rows.into_iter().map(|r| r[0].clone()).collect::<Vec<_>>();

    // New columns read as NULL in files written before them.
    client
        .batch_execute("ALTER TABLE al ADD COLUMNS (note string COMMENT 'why', tags struct<a:string,b:int>)")
        .await
        .unwrap();
    assert_eq!(
        rows("SELECT count(*), count(note), count(tags) FROM al").await,
        vec![vec!["2".to_string(), "0".to_string(), "0".to_string()]]
    );
    client
        .batch_execute("INSERT INTO al VALUES (3, 30, 'c', TIMESTAMP '2024-01-03 00:00:00', 'new', named_struct('a', 'x', 'b', 1))")
        .await
        .unwrap();
    assert_eq!(
        rows("SELECT note, tags['a'] FROM al WHERE id = 3").await,
        vec![vec!["new".to_string(), "x".to_string()]]
    );
    let (code, message) = failure(&client, "ALTER TABLE al ADD COLUMNS (list array<string>)").await;
    assert_eq!(code, "0A000", "{message}");
    // DELETE and UPDATE by the current schema's names, though the newest
    // snapshot was written with the older schema.
    client.batch_execute("ALTER TABLE al ADD COLUMNS (late int)").await.unwrap();
    assert_eq!(client.execute("UPDATE al SET late = 7 WHERE late IS NULL AND id = 3", &[]).await.unwrap(), 1);
    assert_eq!(rows("SELECT id FROM al WHERE late = 7").await, vec![vec!["3".to_string()]]);
    let described = rows("DESCRIBE al").await;
    assert_eq!(described[4][..2], ["note".to_string(), "string".to_string()]);
    assert_eq!(described[4][3], "why");

    // A rename (and widening) keeps the field: old files read under the new name.
    client.batch_execute("ALTER TABLE al CHANGE COLUMN amount total bigint").await.unwrap();
    assert_eq!(rows("SELECT sum(total) FROM al").await, vec![vec!["60".to_string()]]);
    let (code, message) = failure(&client, "SELECT amount FROM al").await;
    assert_eq!(code, "42703", "{message}");
    let (code, message) = failure(&client, "ALTER TABLE al CHANGE total total string").await;
    assert_eq!(code, "0A000", "{message}");
    let (code, message) = failure(&client, "ALTER TABLE al CHANGE total id bigint").await;
    assert_eq!(code, "42710", "{message}");
    let (code, message) = failure(&client, "ALTER TABLE al ADD COLUMNS (note int)").await;
    assert_eq!(code, "42710", "{message}");

    // A dropped column leaves the current schema, not the old snapshots.
    client.batch_execute("ALTER TABLE al DROP COLUMN name").await.unwrap();
    let columns = names(
        rows("SELECT column_name FROM information_schema.columns WHERE table_name = 'al' ORDER BY ordinal_position")
            .await,
    );
    assert_eq!(columns, ["id", "total", "ts", "note", "tags", "late"]);
    let first = rows("SELECT snapshot_id FROM \"al$snapshots\" ORDER BY committed_at LIMIT 1").await;
    let sql = format!("SELECT name FROM al FOR VERSION AS OF {} ORDER BY id", first[0][0]);
    assert_eq!(simple_rows(&client, &sql).await, vec![vec!["a".to_string()], vec!["b".to_string()]]);
    let (code, message) = failure(&client, "ALTER TABLE al DROP COLUMN ts").await;
    assert!(code == "0A000" && message.contains("partitioning"), "{code} {message}");
    let (code, message) = failure(&client, "ALTER TABLE al DROP COLUMN nope").await;
    assert_eq!(code, "42703", "{message}");

    // Properties go into the metadata (Athena's keys mapped) and the catalog.
    client
        .batch_execute("ALTER TABLE al SET TBLPROPERTIES ('write_compression' = 'snappy', 'team' = 'data')")
        .await
        .unwrap();
    let properties = rows("SHOW TBLPROPERTIES al").await;
    assert!(properties.iter().any(|p| p[0] == "team" && p[1] == "data"), "{properties:?}");
    let location = properties.iter().find(|p| p[0] == "metadata_location").unwrap()[1].clone();
    let seen = pyiceberg_reads(&location).await;
    assert_eq!(seen["properties"]["write.parquet.compression-codec"], "snappy");
    assert_eq!(seen["properties"]["write.format.default"], "parquet");
    let columns: Vec<&str> = seen["columns"].as_array().unwrap().iter().map(|c| c[0].as_str().unwrap()).collect();
    assert_eq!(columns, ["id", "total", "ts", "note", "tags", "late"]);
    assert_eq!(seen["rows"], 3);
    // Hive tables keep their columns as they were made.
    std::fs::create_dir_all(dir.path().join("h")).unwrap();
    let hive = format!("CREATE EXTERNAL TABLE h (a int) LOCATION '{}'", dir.path().join("h").display());
    client.batch_execute(&hive).await.unwrap();
    let (code, message) = failure(&client, "ALTER TABLE h ADD COLUMNS (b int)").await;
    assert_eq!(code, "0A000", "{message}");
}

#[tokio::test]
async fn merge_upserts_deletes_and_inserts_in_one_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    let create = format!(
        "CREATE TABLE acct (id bigint, day date, amount int, note string) PARTITIONED BY (day) LOCATION '{}' \
         TBLPROPERTIES ('table_type'='ICEBERG')",
        dir.path().join("acct").display()
    );
    client.batch_execute(&create).await.unwrap();
    let sql = "INSERT INTO acct SELECT v, CASE WHEN v <= 10 THEN DATE '2024-01-01' ELSE DATE '2024-01-02' END, \
               v AS amount, 'n' FROM generate_series(1, 20) AS g(v)";
    assert_eq!(client.execute(sql, &[]).await.unwrap(), 20);
    // A changes feed as a table of its own (a Hive table would do as well).
    let feed = format!(
        "CREATE TABLE feed (id bigint, amount int, op string) LOCATION '{}' TBLPROPERTIES ('table_type'='ICEBERG')",
        dir.path().join("feed").display()
    );
    client.batch_execute(&feed).await.unwrap();
    let sql = "INSERT INTO feed VALUES (18, 0, 'D'), (19, 190, 'U'), (20, 200, 'U'), (21, 210, 'I'), (22, NULL, 'I'), \
               (5, 50, 'skip')";
    assert_eq!(client.execute(sql, &[]).await.unwrap(), 6);
    let rows = |sql: &'static str| {
        let client = &client;
        async move { simple_rows(client, sql).await }
    };
    let strings = |rows: &[&[&str]]| -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|v| v.to_string()).collect()).collect()
    };

    // Each clause in order, the first that holds wins; one snapshot.
    let merge = "MERGE INTO acct AS t USING feed AS s ON t.id = s.id \
                 WHEN MATCHED AND s.op = 'D' THEN DELETE \
                 WHEN MATCHED AND s.op = 'U' THEN UPDATE SET amount = s.amount, note = 'u' || CAST(t.amount AS varchar) \
                 WHEN NOT MATCHED AND s.op = 'I' THEN INSERT (id, day, amount, note) VALUES (s.id, DATE '2024-01-03', coalesce(s.amount, -1), 'new') \
                 WHEN NOT MATCHED THEN INSERT VALUES (s.id, NULL, 0, 'other')";
    assert_eq!(client.execute(merge, &[]).await.unwrap(), 5);
    assert_eq!(
        rows("SELECT id, CAST(day AS varchar), amount, note FROM acct WHERE id >= 17 ORDER BY id").await,
        strings(&[
            &["17", "2024-01-02", "17", "n"],
            &["19", "2024-01-02", "190", "u19"],
            &["20", "2024-01-02", "200", "u20"],
            &["21", "2024-01-03", "210", "new"],
            &["22", "2024-01-03", "-1", "new"],
        ])
    );
    assert_eq!(rows("SELECT count(*), sum(amount) FROM acct WHERE id = 5").await, strings(&[&["1", "5"]]));
    let last =
        "SELECT operation, summary['added-records'], summary['added-position-deletes'], summary['total-records'] \
                FROM \"acct$snapshots\" ORDER BY committed_at DESC LIMIT 1";
    assert_eq!(rows(last).await, strings(&[&["overwrite", "4", "3", "24"]]));

    // Updating a partition column moves the row; a condition on the
    // target's own columns in ON plans only the files it can match.
    let merge = "MERGE INTO acct USING (SELECT 3 AS id) AS s ON acct.id = s.id AND acct.day = DATE '2024-01-01' \
                 WHEN MATCHED THEN UPDATE SET day = DATE '2024-01-05'";
    assert_eq!(client.execute(merge, &[]).await.unwrap(), 1);
    assert_eq!(rows("SELECT id FROM acct WHERE day = DATE '2024-01-05'").await, strings(&[&["3"]]));
    assert_eq!(rows("SELECT count(*) FROM acct").await, strings(&[&["21"]]));
    // Matching nothing commits nothing.
    let snapshots = "SELECT count(*) FROM \"acct$snapshots\"";
    let before = rows(snapshots).await;
    let merge = "MERGE INTO acct USING (SELECT 999 AS id) AS s ON acct.id = s.id WHEN MATCHED THEN DELETE";
    assert_eq!(client.execute(merge, &[]).await.unwrap(), 0);
    assert_eq!(rows(snapshots).await, before);

    // Bad input: a clear error, and the table as it was.
    let cases = [
        // Two source rows for one target row: the SQL standard's 21000.
        ("MERGE INTO acct t USING (SELECT 1 AS id UNION ALL SELECT 1) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET note = 'x'", "21000"),
        ("MERGE INTO acct t USING feed s ON t.id = s.id WHEN MATCHED THEN UPDATE SET nope = 1", "42703"),
        ("MERGE INTO acct t USING feed s ON t.id = s.nope WHEN MATCHED THEN DELETE", "42703"),
        ("MERGE INTO acct t USING feed s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id)", "42601"),
        ("MERGE INTO acct t USING feed s ON t.id = s.id WHEN MATCHED THEN UPDATE SET amount = 'many'", "22P02"),
        ("MERGE INTO acct t USING feed s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE", "0A000"),
        ("MERGE INTO acct t USING nosuch s ON t.id = s.id WHEN MATCHED THEN DELETE", "42P01"),
    ];
    for (sql, want) in cases {
        let (code, message) = failure(&client, sql).await;
        assert_eq!(code, want, "{sql}: {message}");
    }
    assert_eq!(rows(snapshots).await, before);
    let hive =
        format!("CREATE EXTERNAL TABLE h (id bigint) STORED AS PARQUET LOCATION '{}'", dir.path().join("h").display());
    std::fs::create_dir_all(dir.path().join("h")).unwrap();
    client.batch_execute(&hive).await.unwrap();
    let (code, message) = failure(&client, "MERGE INTO h USING feed s ON h.id = s.id WHEN MATCHED THEN DELETE").await;
    assert_eq!(code, "0A000", "{message}");

    // Sessions upserting at once: each acknowledged MERGE counts once.
    let mut sessions = Vec::new();
    for s in 0..3i64 {
        let client = server.connect().await;
        sessions.push(tokio::spawn(async move {
            let mut done = 0;
            for i in 0..3i64 {
                let id = 1000 + s * 10 + i;
                // Each upsert touches a shared row as well as its own.
                let sql = format!(
                    "MERGE INTO acct t USING (SELECT {id} AS id UNION ALL SELECT 1) s ON t.id = s.id \
                     WHEN MATCHED THEN UPDATE SET amount = t.amount + 1 \
                     WHEN NOT MATCHED THEN INSERT VALUES (s.id, DATE '2024-02-01', 1, 'c')"
                );
                match client.execute(sql.as_str(), &[]).await {
                    Ok(n) => {
                        assert_eq!(n, 2);
                        done += 1;
                    }
                    Err(e) => assert_eq!(e.code().unwrap().code(), "40001", "{e}"),
                }
            }
            done
        }));
    }
    let mut done = 0;
    for session in sessions {
        done += session.await.unwrap();
    }
    assert_eq!(rows("SELECT count(*) FROM acct WHERE note = 'c'").await[0][0], done.to_string());
    assert_eq!(rows("SELECT amount FROM acct WHERE id = 1").await[0][0], (1 + done).to_string());

    // pyiceberg reads the same rows.
    let properties = rows("SHOW TBLPROPERTIES acct ('metadata_location')").await;
    let seen = pyiceberg_reads(&properties[0][1]).await;
    assert_eq!(seen["rows"], 21 + done);
}

#[tokio::test]
async fn optimize_compacts_small_files_and_applies_their_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::security::server_with(&dir.path().join("lake"), &[]).await;
    let (client, notices) = server.connect_with_notices().await;
    let create = format!(
        "CREATE TABLE op (id bigint, day date, note string) PARTITIONED BY (day) LOCATION '{}' \
         TBLPROPERTIES ('table_type'='ICEBERG')",
        dir.path().join("op").display()
    );
    client.batch_execute(&create).await.unwrap();
    // Six small commits into each of two days, then deletes in both.
    for i in 0..6 {
        for day in 1..=2 {
            let sql = format!(
                "INSERT INTO op SELECT v + {}, DATE '2024-01-0{day}', 'n' || v FROM generate_series(1, 5) AS g(v)",
                day * 1000 + i * 10
            );
            client.batch_execute(&sql).await.unwrap();
        }
    }
    client.batch_execute("DELETE FROM op WHERE id IN (1001, 1012, 2023, 2054)").await.unwrap();
    let rows = |sql: String| {
        let client = &client;
        async move { simple_rows(client, &sql).await }
    };
    let answer = "SELECT count(*), sum(id), min(note), max(note) FROM op".to_string();
    let before = rows(answer.clone()).await;
    assert_eq!(before[0][0], "56");
    let files = |content: i32, day: &str| {
        format!("SELECT count(*) FROM \"op$files\" WHERE content = {content} AND file_path LIKE '%day={day}%'")
    };
    assert_eq!(rows(files(0, "2024-01-01")).await[0][0], "6");
    let deletes = "SELECT count(*) FROM \"op$files\" WHERE content = 1".to_string();
    assert_eq!(rows(deletes.clone()).await[0][0], "2");
    let last_snapshot = "SELECT snapshot_id FROM \"op$snapshots\" ORDER BY committed_at DESC LIMIT 1".to_string();
    let deleted_at = rows(last_snapshot.clone()).await[0][0].clone();

    // WHERE chooses partitions: only that day's files are rewritten.
    notices.lock().unwrap().clear();
    client.batch_execute("OPTIMIZE op REWRITE DATA USING BIN_PACK WHERE day = DATE '2024-01-01'").await.unwrap();
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("rewrote 6 data files (and removed 1 delete files) as 1 files"), "{said}");
    assert_eq!(rows(files(0, "2024-01-01")).await[0][0], "1");
    assert_eq!(rows(deletes.clone()).await[0][0], "1");
    assert_eq!(rows(files(0, "2024-01-02")).await[0][0], "6");
    assert_eq!(rows(answer.clone()).await, before);
    let operation = "SELECT operation FROM \"op$snapshots\" ORDER BY committed_at DESC LIMIT 1".to_string();
    assert_eq!(rows(operation.clone()).await, vec![vec!["replace".to_string()]]);

    // Without WHERE, the rest; then nothing is left to do and no
    // snapshot is made.
    client.batch_execute("OPTIMIZE op REWRITE DATA USING BIN_PACK").await.unwrap();
    assert_eq!(
        rows("SELECT content, count(*) FROM \"op$files\" GROUP BY content".to_string()).await,
        vec![vec!["0".to_string(), "2".to_string()]]
    );
    assert_eq!(rows(answer.clone()).await, before);
    let snapshots = "SELECT count(*) FROM \"op$snapshots\"".to_string();
    let made = rows(snapshots.clone()).await;
    notices.lock().unwrap().clear();
    client.batch_execute("OPTIMIZE op REWRITE DATA USING BIN_PACK").await.unwrap();
    assert!(notices.lock().unwrap().join("\n").contains("no files needed rewriting"));
    assert_eq!(rows(snapshots.clone()).await, made);
    // The rows a statement sees are the same at the old snapshot, and
    // pyiceberg reads the compacted table alike.
    let at = format!("SELECT count(*), sum(id), min(note), max(note) FROM op FOR VERSION AS OF {deleted_at}");
    assert_eq!(rows(at).await, before);
    let location = rows("SHOW TBLPROPERTIES op ('metadata_location')".to_string()).await[0][1].clone();
    let seen = pyiceberg_reads(&location).await;
    assert_eq!(seen["rows"], 56);
    let operations: Vec<&str> =
        seen["per_snapshot"].as_array().unwrap().iter().map(|s| s[1].as_str().unwrap()).collect();
    assert_eq!(operations[operations.len() - 2..], ["replace", "replace"]);

    // Refusals: a column that is not a partition's, a subquery, a Hive
    // table, the wrong words; and another user than the creator.
    for (sql, code) in [
        ("OPTIMIZE op REWRITE DATA USING BIN_PACK WHERE note = 'n1'", "0A000"),
        ("OPTIMIZE op REWRITE DATA USING BIN_PACK WHERE day IN (SELECT DATE '2024-01-01')", "0A000"),
        ("OPTIMIZE op REWRITE DATA USING BIN_PACK WHERE upper(CAST(day AS varchar)) = 'X'", "0A000"),
        ("OPTIMIZE op REWRITE DATA USING SORT", "42601"),
        ("OPTIMIZE op", "42601"),
        ("OPTIMIZE missing REWRITE DATA USING BIN_PACK", "42P01"),
    ] {
        let (got, message) = failure(&client, sql).await;
        assert_eq!(got, code, "{sql}: {message}");
    }
    std::fs::create_dir_all(dir.path().join("hive")).unwrap();
    let hive = format!("CREATE EXTERNAL TABLE hive (a int) LOCATION '{}'", dir.path().join("hive").display());
    client.batch_execute(&hive).await.unwrap();
    let (code, message) = failure(&client, "OPTIMIZE hive REWRITE DATA USING BIN_PACK").await;
    assert_eq!(code, "0A000", "{message}");
    client.batch_execute("CREATE USER ann PASSWORD 'a'; CREATE USER root PASSWORD 'r' SUPERUSER").await.unwrap();
    let ann = crate::security::login(&server, "ann", Some("a")).await.unwrap();
    let unload = format!("UNLOAD (SELECT 1 AS x) TO '{}'", dir.path().join("anns").display());
    for sql in ["OPTIMIZE op REWRITE DATA USING BIN_PACK", "VACUUM op", &unload] {
        let (code, message) = failure(&ann, sql).await;
        assert_eq!(code, "42501", "{sql}: {message}");
    }
    assert!(!dir.path().join("anns").exists());
    client.batch_execute("CREATE VIEW opv AS SELECT * FROM op").await.unwrap();
    let (code, message) = failure(&client, "VACUUM opv").await;
    assert_eq!(code, "42809", "{message}");
    assert_eq!(rows(snapshots).await, made);
}

#[tokio::test]
async fn vacuum_expires_old_snapshots_and_deletes_what_nothing_reaches() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let (client, notices) = server.connect_with_notices().await;
    let location = dir.path().join("va");
    let create = format!(
        "CREATE TABLE va (id bigint, note string) LOCATION '{}' TBLPROPERTIES ('table_type'='ICEBERG')",
        location.display()
    );
    client.batch_execute(&create).await.unwrap();
    for i in 0..3 {
        let sql = format!("INSERT INTO va SELECT v + {}, 'n' || v FROM generate_series(1, 5) AS g(v)", i * 10);
        client.batch_execute(&sql).await.unwrap();
    }
    let rows = |sql: String| {
        let client = &client;
        async move { simple_rows(client, &sql).await }
    };
    let data_files = "SELECT file_path FROM \"va$files\" WHERE content = 0 ORDER BY file_path".to_string();
    let inserted = rows(data_files.clone()).await;
    assert_eq!(inserted.len(), 3);
    client.batch_execute("DELETE FROM va WHERE id <= 5").await.unwrap();
    let answer = "SELECT count(*), sum(id) FROM va".to_string();
    let before = rows(answer.clone()).await;
    assert_eq!(before[0][0], "10");
    let snapshots = "SELECT snapshot_id FROM \"va$snapshots\" ORDER BY committed_at".to_string();
    let all = rows(snapshots.clone()).await;
    assert_eq!(all.len(), 4);
    let parquet = || -> Vec<String> {
        let files = walk(&location).into_iter().filter(|p| p.extension().is_some_and(|e| e == "parquet"));
        files.map(|p| p.to_string_lossy().into_owned()).collect()
    };
    let live = rows(data_files.clone()).await;
    let dropped: Vec<String> = inserted.into_iter().filter(|f| !live.contains(f)).map(|f| f[0].clone()).collect();
    assert_eq!(dropped.len(), 1);
    assert!(parquet().iter().any(|p| dropped[0].ends_with(p.as_str())), "{dropped:?}");

    // Files no metadata reaches: one a failed write left long ago, one a
    // write in flight may still commit.
    let stale = location.join("data").join("left over by a failed write.parquet");
    let fresh = location.join("data").join("in-flight.parquet");
    for path in [&stale, &fresh] {
        std::fs::write(path, b"not a table file").unwrap();
    }
    let six_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(6 * 24 * 3600);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(six_days_ago).unwrap();

    // Under Athena's defaults (five days) every snapshot is young: none
    // expires, only the six-day-old orphan goes.
    notices.lock().unwrap().clear();
    client.batch_execute("VACUUM va").await.unwrap();
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("expired 0 snapshots, deleted 0 unreferenced files and 1 orphan files"), "{said}");
    assert!(!stale.exists() && fresh.exists());
    assert_eq!(rows(snapshots.clone()).await, all);

    // With a one-second age and two snapshots kept, the two oldest go
    // (with their manifest lists); the file the DELETE dropped stays, as
    // the third snapshot still reads it.
    client
        .batch_execute(
            "ALTER TABLE va SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='1', 'vacuum_min_snapshots_to_keep'='2')",
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    notices.lock().unwrap().clear();
    client.batch_execute("VACUUM va").await.unwrap();
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("expired 2 snapshots, deleted 2 unreferenced files"), "{said}");
    assert_eq!(rows(snapshots.clone()).await, all[2..].to_vec());
    assert_eq!(rows(answer.clone()).await, before);
    assert!(parquet().iter().any(|p| dropped[0].ends_with(p.as_str())), "{dropped:?}");
    let at = format!("SELECT count(*) FROM va FOR VERSION AS OF {}", all[2][0]);
    assert_eq!(rows(at).await, vec![vec!["15".to_string()]]);
    let (code, message) = failure(&client, &format!("SELECT count(*) FROM va FOR VERSION AS OF {}", all[0][0])).await;
    assert_eq!(code, "22023", "{message}");

    // Keeping one, the third goes too, and the dropped file with it; the
    // live files and every answer stay, and a file younger than a day is
    // never taken for an orphan.
    client.batch_execute("ALTER TABLE va SET TBLPROPERTIES ('vacuum_min_snapshots_to_keep'='1')").await.unwrap();
    notices.lock().unwrap().clear();
    client.batch_execute("VACUUM va").await.unwrap();
    let said = notices.lock().unwrap().join("\n");
    assert!(said.contains("expired 1 snapshots"), "{said}");
    assert_eq!(rows(snapshots.clone()).await, all[3..].to_vec());
    assert_eq!(rows(answer.clone()).await, before);
    assert!(!parquet().iter().any(|p| dropped[0].ends_with(p.as_str())), "{dropped:?}");
    assert!(live.iter().all(|f| parquet().iter().any(|p| f[0].ends_with(p.as_str()))), "{live:?}");
    assert!(fresh.exists());
    // pyiceberg reads the table after it, at each snapshot kept.
    let metadata = rows("SHOW TBLPROPERTIES va ('metadata_location')".to_string()).await[0][1].clone();
    let seen = pyiceberg_reads(&metadata).await;
    assert_eq!(seen["rows"], 10);
    assert_eq!(seen["snapshots"], 1);

    // Refusals: no table named, a table that does not exist.
    let (code, message) = failure(&client, "VACUUM").await;
    assert_eq!(code, "42601", "{message}");
    let (code, message) = failure(&client, "VACUUM missing").await;
    assert_eq!(code, "42P01", "{message}");
}

#[tokio::test]
async fn concurrent_writers_leave_exactly_the_acknowledged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let client = server.connect().await;
    let create = format!(
        "CREATE TABLE conc (id bigint, v int) PARTITIONED BY (bucket(4, id)) LOCATION '{}' \
         TBLPROPERTIES ('table_type'='ICEBERG')",
        dir.path().join("conc").display()
    );
    client.batch_execute(&create).await.unwrap();
    client.batch_execute("INSERT INTO conc SELECT v, 0 FROM generate_series(1, 1000) AS g(v)").await.unwrap();
    // A statement either commits or fails with 40001, leaving nothing.
    let outcome = |result: Result<u64, tokio_postgres::Error>, sql: &str| -> Option<u64> {
        match result {
            Ok(n) => Some(n),
            Err(e) => {
                assert_eq!(e.code().map(|c| c.code()), Some("40001"), "{sql}: {e:?}");
                None
            }
        }
    };
    // Eight sessions each commit 50 INSERTs of 100 rows.
    let mut inserters = Vec::new();
    for s in 0..8i64 {
        let client = server.connect().await;
        inserters.push(tokio::spawn(async move {
            let mut rows = 0u64;
            for i in 0..50i64 {
                let first = 100_000 + s * 10_000 + i * 100;
                let sql = format!("INSERT INTO conc SELECT v, 1 FROM generate_series({first}, {}) AS g(v)", first + 99);
                rows += outcome(client.execute(sql.as_str(), &[]).await, &sql).unwrap_or(0);
            }
            rows
        }));
    }
    // Meanwhile one session deletes and another updates: rows only each
    // touches (1..=20 and 501..=520), and rows both do (601..=620).
    let deleter = {
        let client = server.connect().await;
        tokio::spawn(async move {
            let mut deleted = Vec::new();
            for k in (1..=20).chain(601..=620) {
                let sql = format!("DELETE FROM conc WHERE id = {k}");
                if outcome(client.execute(sql.as_str(), &[]).await, &sql) == Some(1) {
                    deleted.push(k);
                }
            }
            deleted
        })
    };
    let updater = {
        let client = server.connect().await;
        tokio::spawn(async move {
            let mut updated = Vec::new();
            for k in (501..=520).chain(601..=620) {
                let sql = format!("UPDATE conc SET v = v + 10 WHERE id = {k}");
                if outcome(client.execute(sql.as_str(), &[]).await, &sql) == Some(1) {
                    updated.push(k);
                }
            }
            updated
        })
    };
    let mut inserted = 0;
    for session in inserters {
        inserted += session.await.unwrap();
    }
    let (deleted, updated) = (deleter.await.unwrap(), updater.await.unwrap());

    let count = |sql: String| {
        let client = &client;
        async move { simple_rows(client, &sql).await[0][0].parse::<i64>().unwrap() }
    };
    assert!(inserted >= 100, "almost every INSERT should commit: {inserted} rows");
    assert_eq!(count("SELECT count(*) FROM conc WHERE id >= 100000".into()).await, inserted as i64);
    assert_eq!(
        count("SELECT count(DISTINCT id) FROM conc".into()).await,
        count("SELECT count(*) FROM conc".into()).await
    );
    // Each acknowledged DELETE took its row; no other row went.
    let gone: Vec<i64> = (1..=1000).filter(|k| deleted.contains(k)).collect();
    assert_eq!(count("SELECT count(*) FROM conc WHERE id <= 1000".into()).await, 1000 - gone.len() as i64);
    for k in &gone {
        assert_eq!(count(format!("SELECT count(*) FROM conc WHERE id = {k}")).await, 0, "row {k}");
    }
    // Each acknowledged UPDATE of a row nobody deleted changed it once.
    for k in 501..=520 {
        let want = if updated.contains(&k) { 10 } else { 0 };
        assert_eq!(count(format!("SELECT v FROM conc WHERE id = {k}")).await, want, "row {k}");
    }
    for k in 601..=620 {
        if !deleted.contains(&k) {
            let want = if updated.contains(&k) { 10 } else { 0 };
            assert_eq!(count(format!("SELECT v FROM conc WHERE id = {k}")).await, want, "row {k}");
        }
    }
    assert_eq!(count("SELECT count(*) FROM conc WHERE v NOT IN (0, 1, 10)".into()).await, 0);
    // pyiceberg reads the same rows at the last snapshot.
    let location = simple_rows(&client, "SHOW TBLPROPERTIES conc ('metadata_location')").await[0][1].clone();
    let python =
        std::env::var("GLAUX_TEST_PYTHON").unwrap_or_else(|_| "/var/tmp/glaux-pyclients/bin/python".to_string());
    let script = "import sys\nfrom pyiceberg.table import StaticTable\n\
                  t = StaticTable.from_metadata(sys.argv[1]).scan(selected_fields=('id', 'v')).to_arrow()\n\
                  print(t.num_rows, sum(t.column('v').to_pylist()))";
    let mut command = std::process::Command::new(python);
    command.arg("-c").arg(script).arg(&location);
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("python starts");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want = simple_rows(&client, "SELECT count(*), sum(v) FROM conc").await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{} {}", want[0][0], want[0][1]));
}

/// Runs `script` with the test Python (pyarrow), with `args`.
async fn python(script: &str, args: &[&str]) {
    let python =
        std::env::var("GLAUX_TEST_PYTHON").unwrap_or_else(|_| "/var/tmp/glaux-pyclients/bin/python".to_string());
    let mut command = std::process::Command::new(python);
    command.arg("-c").arg(script).args(args);
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("python starts");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn convert_to_iceberg_migrates_hive_tables_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let (client, notices) = server.connect_with_notices().await;
    let rows = |sql: String| {
        let client = &client;
        async move { simple_rows(client, &sql).await }
    };

    // A partitioned Hive table written by glaux (Parquet without field
    // ids), with odd partition values: an escaped one and NULL.
    let location = dir.path().join("hive sales");
    client
        .batch_execute(&format!(
            "CREATE TABLE sales WITH (format = 'PARQUET', external_location = '{}', partitioned_by = ARRAY['region']) AS \
             SELECT v AS id, CAST(v % 7 AS smallint) AS small, 'n' || v AS name, CAST(v AS decimal(10,2)) / 4 AS amount, \
             CAST('2024-01-01 ' || lpad(CAST(v % 24 AS varchar), 2, '0') || ':30:00' AS timestamp) AS ts, \
             CASE WHEN v % 4 = 0 THEN NULL WHEN v % 4 = 1 THEN 'north' WHEN v % 4 = 2 THEN 'a b/%=c' ELSE 'süd' END AS region \
             FROM generate_series(1, 40) AS g(v)",
            location.display()
        ))
        .await
        .unwrap();
    client
        .batch_execute(
            "INSERT INTO sales SELECT 100 + v, 1, 'late', 1.5, NULL, 'north' FROM generate_series(1, 5) AS g(v)",
        )
        .await
        .unwrap();
    let queries = [
        "SELECT count(*), sum(id), sum(small), sum(amount), min(ts), max(ts) FROM sales",
        "SELECT region, count(*), sum(id) FROM sales GROUP BY region ORDER BY region NULLS FIRST",
        "SELECT id, name FROM sales WHERE region = 'a b/%=c' AND id > 20 ORDER BY id",
        "SELECT count(*) FROM sales WHERE region IS NULL",
        "SELECT id, amount FROM sales WHERE id BETWEEN 101 AND 103 ORDER BY id",
    ];
    let mut before = Vec::new();
    for q in queries {
        before.push(rows(q.to_string()).await);
    }
    assert_eq!(before[0][0][0], "45");
    let hive_files: Vec<PathBuf> = walk(&location).into_iter().filter(|p| p.is_file()).collect();
    let hive_bytes: Vec<Vec<u8>> = hive_files.iter().map(|p| std::fs::read(p).unwrap()).collect();

    notices.lock().unwrap().clear();
    client.batch_execute("ALTER TABLE sales CONVERT TO ICEBERG").await.unwrap();
    let said = notices.lock().unwrap().join("\n");
    assert!(
        said.contains(&format!(
            "converted public.sales to Iceberg: {} data files, 45 rows in 4 partitions",
            hive_files.len()
        )),
        "{said}"
    );
    assert!(said.contains("kept as public.sales_backup_hive"), "{said}");
    // The same answers from the Iceberg table and from the kept Hive one.
    for (q, want) in queries.iter().zip(&before) {
        assert_eq!(&rows(q.to_string()).await, want, "{q}");
        assert_eq!(&rows(q.replace("FROM sales", "FROM sales_backup_hive")).await, want, "{q}");
    }
    let properties = rows("SHOW TBLPROPERTIES sales".to_string()).await;
    let property = |key: &str| properties.iter().find(|r| r[0] == key).map(|r| r[1].clone());
    assert_eq!(property("table_type").as_deref(), Some("ICEBERG"));
    let metadata = property("metadata_location").unwrap();
    assert!(metadata.contains("/_iceberg/metadata/"), "{metadata}");
    // No file was copied or moved: each Hive file is where it was, as it was.
    for (path, bytes) in hive_files.iter().zip(&hive_bytes) {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    let listed = rows("SELECT file_path, record_count FROM \"sales$files\" ORDER BY file_path".to_string()).await;
    assert_eq!(listed.len(), hive_files.len());
    for path in &hive_files {
        assert!(
            listed.iter().any(|r| r[0].ends_with(&*path.to_string_lossy())),
            "{} not in {listed:?}",
            path.display()
        );
    }
    let snapshots = rows("SELECT operation FROM \"sales$snapshots\"".to_string()).await;
    assert_eq!(snapshots, vec![vec!["append".to_string()]]);
    // Partition pruning on the identity field, and metrics from the footers.
    let plan = plan_text(&client, "EXPLAIN SELECT count(*) FROM sales WHERE region = 'north'").await;
    assert!(plan.contains("data_files=2 of 5"), "{plan}");
    let bounds = rows(
        "SELECT lower_bounds, upper_bounds FROM \"sales$files\" WHERE partition LIKE '%north%' AND record_count = 5"
            .to_string(),
    )
    .await;
    assert_eq!(bounds.len(), 1, "{bounds:?}");
    // pyiceberg reads the converted table through the name mapping.
    let seen = pyiceberg_reads(&metadata).await;
    assert_eq!(seen["rows"], 45);
    assert_eq!(seen["properties"]["gc.enabled"], "false");

    // Writes go to the Iceberg table only; the kept definition reads the
    // files it read.
    notices.lock().unwrap().clear();
    client.batch_execute("INSERT INTO sales VALUES (500, 2, 'new', 9.5, NULL, 'north')").await.unwrap();
    client.batch_execute("DELETE FROM sales WHERE id <= 10").await.unwrap();
    // What each wrote is in the NOTICE and the ledger: at least its data
    // or delete files, plus manifests and metadata.
    let said = notices.lock().unwrap().join("\n");
    assert_eq!(said.matches(", wrote ").count(), 2, "{said}");
    let new_files: u64 = walk(&location.join("_iceberg").join("data"))
        .iter()
        .filter(|p| p.is_file())
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let written = rows(
        "SELECT sum(bytes_written), min(bytes_written) FROM system.query_history WHERE query LIKE 'INSERT INTO sales VALUES%' OR query LIKE 'DELETE FROM sales%'"
            .to_string(),
    )
    .await;
    let (sum, min): (u64, u64) = (written[0][0].parse().unwrap(), written[0][1].parse().unwrap());
    assert!(min > 0 && sum > new_files, "{written:?} {new_files}");
    assert_eq!(rows("SELECT count(*) FROM sales".to_string()).await, vec![vec!["36".to_string()]]);
    assert_eq!(rows(queries[0].replace("FROM sales", "FROM sales_backup_hive")).await, before[0]);
    assert!(walk(&location.join("_iceberg").join("data")).iter().any(|p| p.is_file()));
    // Rows rewritten from the Hive files keep their partition's values.
    let grouped = rows(queries[1].to_string()).await;
    client.batch_execute("UPDATE sales SET name = 'changed' WHERE id = 11").await.unwrap();
    let updated = rows("SELECT region, name FROM sales WHERE id = 11".to_string()).await;
    assert_eq!(updated, vec![vec!["süd".to_string(), "changed".to_string()]]);
    client.batch_execute("OPTIMIZE sales REWRITE DATA USING BIN_PACK").await.unwrap();
    assert_eq!(rows(queries[1].to_string()).await, grouped);
    assert_eq!(rows(queries[2].to_string()).await, before[2]);
    // Its files are shared: nothing deletes them until gc is enabled again.
    let (code, message) = failure(&client, "VACUUM sales").await;
    assert_eq!(code, "0A000", "{message}");
    assert!(message.contains("gc.enabled"), "{message}");
    let (code, message) = failure(&client, "DROP TABLE sales PURGE").await;
    assert_eq!(code, "0A000", "{message}");

    // The other spelling, on an unpartitioned table whose file another
    // tool wrote, with a narrower integer type than the table's.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    python(
        "import sys, pyarrow as pa, pyarrow.parquet as pq\n\
         pq.write_table(pa.table({'id': pa.array([1, 2, 3], pa.int32()), 'name': ['x', None, 'z']}), sys.argv[1])",
        &[&other.join("part-0.parquet").to_string_lossy()],
    )
    .await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE other (id bigint, name string) STORED AS PARQUET LOCATION '{}'",
            other.display()
        ))
        .await
        .unwrap();
    let other_before = rows("SELECT id, name FROM other ORDER BY id".to_string()).await;
    client.batch_execute("CALL system.migrate(table => 'public.other')").await.unwrap();
    assert_eq!(rows("SELECT id, name FROM other ORDER BY id".to_string()).await, other_before);
    assert_eq!(rows("SELECT count(*) FROM other WHERE id > 2".to_string()).await, vec![vec!["1".to_string()]]);

    // Date and timestamp partition keys: read, updated and compacted with
    // their partition's values.
    let dated = dir.path().join("dated");
    client
        .batch_execute(&format!(
            "CREATE TABLE dated WITH (format = 'PARQUET', external_location = '{}', partitioned_by = ARRAY['day', 'at']) AS \
             SELECT v AS id, CAST('2024-01-0' || CAST(v % 3 + 1 AS varchar) AS date) AS day, \
             CAST('2024-01-01 1' || CAST(v % 2 AS varchar) || ':00:00' AS timestamp) AS at FROM generate_series(1, 12) AS g(v)",
            dated.display()
        ))
        .await
        .unwrap();
    let by_key =
        "SELECT day, at, count(*), sum(id) FROM dated WHERE day >= DATE '2024-01-02' GROUP BY day, at ORDER BY day, at";
    let dated_before = rows(by_key.to_string()).await;
    assert_eq!(dated_before.len(), 4, "{dated_before:?}");
    let two = rows("SELECT day, at FROM dated WHERE id = 2".to_string()).await;
    client.batch_execute("ALTER TABLE dated CONVERT TO ICEBERG").await.unwrap();
    assert_eq!(rows(by_key.to_string()).await, dated_before);
    client.batch_execute("UPDATE dated SET id = id + 100 WHERE id = 2").await.unwrap();
    assert_eq!(rows("SELECT day, at FROM dated WHERE id = 102".to_string()).await, two);
    client.batch_execute("OPTIMIZE dated REWRITE DATA USING BIN_PACK").await.unwrap();
    assert_eq!(rows("SELECT day, at FROM dated WHERE id = 102".to_string()).await, two);
    assert_eq!(
        rows("SELECT count(*), sum(id) FROM dated".to_string()).await,
        vec![vec!["12".to_string(), "178".to_string()]]
    );

    // Refusals, each leaving the Hive table as it was.
    let (code, message) = failure(&client, "CALL system.migrate('sales')").await;
    assert_eq!(code, "0A000", "{message}");
    let (code, message) = failure(&client, "CALL system.rollback_to_snapshot('sales', 1)").await;
    assert_eq!(code, "0A000", "{message}");
    let text = dir.path().join("text");
    client
        .batch_execute(&format!(
            "CREATE TABLE texts WITH (format = 'TEXTFILE', external_location = '{}') AS SELECT 1 AS id",
            text.display()
        ))
        .await
        .unwrap();
    let (code, message) = failure(&client, "ALTER TABLE texts CONVERT TO ICEBERG").await;
    assert_eq!(code, "0A000", "{message}");
    assert!(message.contains("text"), "{message}");
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    python(
        "import sys, pyarrow as pa, pyarrow.parquet as pq\n\
         pq.write_table(pa.table({'id': pa.array([1], pa.int64())}), sys.argv[1] + '/a.parquet')\n\
         pq.write_table(pa.table({'id': pa.array(['one'])}), sys.argv[1] + '/b.parquet')",
        &[&bad.to_string_lossy()],
    )
    .await;
    client
        .batch_execute(&format!("CREATE EXTERNAL TABLE bad (id bigint) STORED AS PARQUET LOCATION '{}'", bad.display()))
        .await
        .unwrap();
    let (code, message) = failure(&client, "ALTER TABLE bad CONVERT TO ICEBERG").await;
    assert_eq!(code, "42804", "{message}");
    assert!(message.contains("b.parquet") && message.contains("id"), "{message}");
    let (code, message) = failure(&client, "SELECT * FROM bad_backup_hive").await;
    assert_eq!(code, "42P01", "{message}");
    assert!(!bad.join("_iceberg").exists() || walk(&bad.join("_iceberg")).iter().all(|p| !p.is_file()));
    let kept = rows("SHOW TBLPROPERTIES bad".to_string()).await;
    assert!(!kept.iter().any(|r| r[0] == "table_type"), "{kept:?}");
    client
        .batch_execute("CREATE EXTERNAL TABLE texts2_backup_hive (id int) STORED AS PARQUET LOCATION '/tmp'")
        .await
        .unwrap();
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE texts2 (id bigint) STORED AS PARQUET LOCATION '{}'",
            other.display()
        ))
        .await
        .unwrap();
    let (code, message) = failure(&client, "ALTER TABLE texts2 CONVERT TO ICEBERG").await;
    assert_eq!(code, "42P07", "{message}");
}

#[tokio::test]
async fn convert_to_iceberg_converts_orc_tables_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("lake")).await).await;
    let (client, notices) = server.connect_with_notices().await;
    let rows = |sql: String| {
        let client = &client;
        async move { simple_rows(client, &sql).await }
    };

    // A partitioned Hive ORC table whose files another tool wrote (glaux
    // writes ORC without dates, timestamps or decimals), with an escaped,
    // a unicode and a NULL partition value, and one file with fewer
    // columns and a narrower integer type.
    let location = dir.path().join("orc sales");
    python(
        "import sys, os, datetime, decimal, pyarrow as pa, pyarrow.orc as orc\n\
         root = sys.argv[1]\n\
         folders = {1: 'north', 2: 'a b%2F%25%3Dc', 3: 'süd', 0: '__HIVE_DEFAULT_PARTITION__'}\n\
         for k, folder in folders.items():\n\
         \x20   vs = [v for v in range(1, 41) if v % 4 == k]\n\
         \x20   os.makedirs(f'{root}/region={folder}')\n\
         \x20   orc.write_table(pa.table({\n\
         \x20       'id': pa.array(vs, pa.int64()),\n\
         \x20       'small': pa.array([v % 7 for v in vs], pa.int16()),\n\
         \x20       'name': [f'n{v}' for v in vs],\n\
         \x20       'amount': pa.array([decimal.Decimal(v) / 4 for v in vs], pa.decimal128(10, 2)),\n\
         \x20       'day': [datetime.date(2024, 1, 1 + v % 3) for v in vs],\n\
         \x20       'ts': pa.array([datetime.datetime(2024, 1, 1, v % 24, 30) for v in vs], pa.timestamp('us')),\n\
         \x20   }), f'{root}/region={folder}/part-0.orc')\n\
         orc.write_table(pa.table({'id': pa.array([201, 202], pa.int32()), 'name': ['x', None]}), f'{root}/region=north/other tool.orc')",
        &[&location.to_string_lossy()],
    )
    .await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE sales (id bigint, small smallint, name string, amount decimal(10,2), day date, ts timestamp) \
             PARTITIONED BY (region string) STORED AS ORC LOCATION '{}'; MSCK REPAIR TABLE sales",
            location.display()
        ))
        .await
        .unwrap();
    let queries = [
        "SELECT count(*), sum(id), sum(small), sum(amount), min(day), max(ts) FROM sales",
        "SELECT region, count(*), sum(id), count(name), count(day) FROM sales GROUP BY region ORDER BY region NULLS FIRST",
        "SELECT id, name, day, ts FROM sales WHERE region = 'a b/%=c' AND id > 20 ORDER BY id",
        "SELECT id, name, small FROM sales WHERE region = 'north' AND id > 30 ORDER BY id",
        "SELECT count(*) FROM sales WHERE region IS NULL",
    ];
    let mut before = Vec::new();
    for q in queries {
        before.push(rows(q.to_string()).await);
    }
    assert_eq!(before[0][0][0], "42");
    assert_eq!(before[3].last().unwrap(), &vec!["202".to_string(), "NULL".to_string(), "NULL".to_string()]);
    let hive_files: Vec<PathBuf> = walk(&location).into_iter().filter(|p| p.is_file()).collect();
    let hive_bytes: Vec<Vec<u8>> = hive_files.iter().map(|p| std::fs::read(p).unwrap()).collect();

    notices.lock().unwrap().clear();
    client.batch_execute("ALTER TABLE sales CONVERT TO ICEBERG").await.unwrap();
    let said = notices.lock().unwrap().join("\n");
    assert!(
        said.contains(&format!(
            "converted public.sales to Iceberg: {} data files, 42 rows in 4 partitions",
            hive_files.len()
        )),
        "{said}"
    );
    for (q, want) in queries.iter().zip(&before) {
        assert_eq!(&rows(q.to_string()).await, want, "{q}");
        assert_eq!(&rows(q.replace("FROM sales", "FROM sales_backup_hive")).await, want, "{q}");
    }
    // The files are listed as ORC, with bounds from their footers: the
    // planner prunes by partition and by the id bounds.
    let listed = rows("SELECT file_format, partition, lower_bounds FROM \"sales$files\"".to_string()).await;
    assert_eq!(listed.len(), hive_files.len());
    assert!(listed.iter().all(|r| r[0] == "ORC" && r[2] != "NULL"), "{listed:?}");
    let north = listed.iter().filter(|r| r[1].contains("north")).count();
    let plan = plan_text(&client, "EXPLAIN SELECT count(*) FROM sales WHERE region = 'north'").await;
    assert!(plan.contains(&format!("data_files={north} of {}", listed.len())), "{plan}");
    let plan = plan_text(&client, "EXPLAIN SELECT * FROM sales WHERE id > 1000").await;
    assert!(plan.contains(&format!("data_files=0 of {}", listed.len())), "{plan}");
    let metadata = rows("SHOW TBLPROPERTIES sales".to_string()).await;
    let metadata = metadata.iter().find(|r| r[0] == "metadata_location").unwrap()[1].clone();
    // pyiceberg plans the same files and rows from the manifests.
    python(
        "import sys\n\
         from pyiceberg.table import StaticTable\n\
         tasks = list(StaticTable.from_metadata(sys.argv[1]).scan().plan_files())\n\
         assert len(tasks) == int(sys.argv[2]) and all(t.file.file_format.value == 'ORC' for t in tasks), tasks\n\
         assert sum(t.file.record_count for t in tasks) == 42",
        &[&metadata, &hive_files.len().to_string()],
    )
    .await;

    // Row-level changes on the ORC files: position deletes read back,
    // rows rewritten keep their partition.
    assert_eq!(client.execute("DELETE FROM sales WHERE id % 5 = 0", &[]).await.unwrap(), 8);
    let hive_left = "SELECT count(*), sum(id), sum(amount) FROM sales_backup_hive WHERE id % 5 <> 0";
    let left = rows(hive_left.to_string()).await;
    assert_eq!(rows(hive_left.replace("sales_backup_hive", "sales")).await, left);
    assert_eq!(client.execute("UPDATE sales SET name = 'changed' WHERE id = 11", &[]).await.unwrap(), 1);
    assert_eq!(
        rows("SELECT region, name, day FROM sales WHERE id = 11".to_string()).await,
        vec![vec!["süd".to_string(), "changed".to_string(), "2024-01-03".to_string()]]
    );
    let merge =
        "MERGE INTO sales t USING (SELECT 13 AS id, 'merged' AS name UNION ALL SELECT 900, 'new') s ON t.id = s.id \
                 WHEN MATCHED THEN UPDATE SET name = s.name \
                 WHEN NOT MATCHED THEN INSERT (id, name, region) VALUES (s.id, s.name, 'north')";
    assert_eq!(client.execute(merge, &[]).await.unwrap(), 2);
    let changed = "SELECT id, name, region FROM sales WHERE id IN (11, 13, 15, 900, 202) ORDER BY id";
    let want = vec![
        vec!["11".to_string(), "changed".to_string(), "süd".to_string()],
        vec!["13".to_string(), "merged".to_string(), "north".to_string()],
        vec!["202".to_string(), "NULL".to_string(), "north".to_string()],
        vec!["900".to_string(), "new".to_string(), "north".to_string()],
    ];
    assert_eq!(rows(changed.to_string()).await, want);
    let grouped = rows(queries[1].to_string()).await;
    assert_eq!(rows("SELECT count(*) FROM sales".to_string()).await, vec![vec!["35".to_string()]]);

    // OPTIMIZE rewrites the ORC files with their deletes as Parquet (each
    // file with a delete file is chosen).
    client
        .batch_execute(
            "ALTER TABLE sales SET TBLPROPERTIES ('optimize_rewrite_delete_file_threshold' = '1'); \
             OPTIMIZE sales REWRITE DATA USING BIN_PACK",
        )
        .await
        .unwrap();
    assert_eq!(rows(queries[1].to_string()).await, grouped);
    assert_eq!(rows(changed.to_string()).await, want);
    let formats = rows("SELECT DISTINCT file_format FROM \"sales$files\"".to_string()).await;
    assert_eq!(formats, vec![vec!["PARQUET".to_string()]]);
    // The Hive files are as they were, and the kept definition reads them.
    for (path, bytes) in hive_files.iter().zip(&hive_bytes) {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    assert_eq!(rows(queries[0].replace("FROM sales", "FROM sales_backup_hive")).await, before[0]);
}
