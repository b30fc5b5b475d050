//! The client libraries BI tools and programs use, as real clients:
//! psycopg 3, psycopg2, asyncpg, pg8000, SQLAlchemy, pandas and psqlODBC
//! (`tests/clients/python_clients.py`), and pgJDBC
//! (`tests/clients/JdbcClient.java`). `bash .ci/run` installs them: the
//! Python ones into a virtualenv named by `GLAUX_TEST_PYTHON`, pgJDBC,
//! psqlODBC and a JDK from Debian.

use crate::common::{engine_in, TestServer};
use std::path::Path;
use std::process::Command;

/// A server with `shop.sales`, three rows of every common type.
async fn server_with_sales(dir: &Path) -> TestServer {
    let files = dir.join("sales");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        files.join("data.csv"),
        "1,10,1.5,15.00,north,2024-01-15,true\n\
         2,3000000000,2.25,1234567.89,south,2024-02-29,false\n\
         3,-5,-0.125,-42.50,Zürich – 東京,1999-12-31,true\n",
    )
    .unwrap();
    let server = TestServer::start(engine_in(&dir.join("lake")).await).await;
    server
        .connect()
        .await
        .batch_execute(&format!(
            "CREATE DATABASE shop; CREATE EXTERNAL TABLE shop.sales (id int, qty bigint, price double, \
             amount decimal(12,2), region string, sale_date date, paid boolean) \
             ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION '{}'",
            files.display()
        ))
        .await
        .unwrap();
    server
}

/// Run a client program; panic with its output unless it succeeds.
async fn run(mut command: Command) {
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("the client program starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.lines().last() == Some("0 failed"), "{stdout}\n{stderr}");
}

fn clients_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

#[tokio::test]
async fn python_drivers_sqlalchemy_pandas_and_odbc() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_sales(dir.path()).await;
    // .ci/run's virtualenv, unless GLAUX_TEST_PYTHON names another Python.
    let python =
        std::env::var("GLAUX_TEST_PYTHON").unwrap_or_else(|_| "/var/tmp/glaux-pyclients/bin/python".to_string());
    let mut command = Command::new(python);
    command.arg(clients_dir().join("python_clients.py")).arg(server.addr.port().to_string());
    run(command).await;
}

#[tokio::test]
async fn pgjdbc_metadata_parameters_streaming_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_sales(dir.path()).await;
    let jar = std::env::var("GLAUX_TEST_JDBC_JAR").unwrap_or_else(|_| "/usr/share/java/postgresql.jar".to_string());
    let mut command = Command::new("java");
    command.args(["-cp", &jar]).arg(clients_dir().join("JdbcClient.java")).arg(server.addr.port().to_string());
    run(command).await;
}
