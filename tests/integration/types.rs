//! Every wire type: its OID and typmod in RowDescription, and its value in
//! binary format byte for byte as PostgreSQL's send functions write it
//! (and in text format as its output functions do).

use crate::common::{engine_in, fixtures, TestServer};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::SimpleQueryMessage;

/// A value's bytes exactly as they came off the wire.
#[derive(Debug, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn be(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// An array of int8 `[1, NULL, 3]`: ndim, has-nulls, element OID, length,
/// lower bound, then elements.
fn int8_array() -> Vec<u8> {
    be(&[
        &1i32.to_be_bytes(),
        &1i32.to_be_bytes(),
        &20u32.to_be_bytes(),
        &3i32.to_be_bytes(),
        &1i32.to_be_bytes(),
        &8i32.to_be_bytes(),
        &1i64.to_be_bytes(),
        &(-1i32).to_be_bytes(),
        &8i32.to_be_bytes(),
        &3i64.to_be_bytes(),
    ])
}

fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: i16, digits: &[i16]) -> Vec<u8> {
    let mut out = be(&[&ndigits.to_be_bytes(), &weight.to_be_bytes(), &sign.to_be_bytes(), &dscale.to_be_bytes()]);
    for d in digits {
        out.extend(d.to_be_bytes());
    }
    out
}

#[tokio::test]
async fn every_type_has_its_oid_typmod_binary_and_text_form() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let client = server.connect().await;
    let uuid = [0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11];
    // (expression, type, typmod, binary value, text value)
    let cases: Vec<(&str, Type, i32, Vec<u8>, &str)> = vec![
        ("true", Type::BOOL, -1, vec![1], "t"),
        ("CAST(-2 AS SMALLINT)", Type::INT2, -1, (-2i16).to_be_bytes().to_vec(), "-2"),
        ("CAST(7 AS INT)", Type::INT4, -1, 7i32.to_be_bytes().to_vec(), "7"),
        ("CAST(9 AS BIGINT)", Type::INT8, -1, 9i64.to_be_bytes().to_vec(), "9"),
        ("CAST(1.5 AS REAL)", Type::FLOAT4, -1, 1.5f32.to_be_bytes().to_vec(), "1.5"),
        ("CAST(-2.25 AS DOUBLE)", Type::FLOAT8, -1, (-2.25f64).to_be_bytes().to_vec(), "-2.25"),
        (
            "CAST(-12.5 AS DECIMAL(10,3))",
            Type::NUMERIC,
            (10 << 16 | 3) + 4,
            numeric(2, 0, 0x4000, 3, &[12, 5000]),
            "-12.500",
        ),
        (
            "CAST(0.00012 AS DECIMAL(10,6))",
            Type::NUMERIC,
            (10 << 16 | 6) + 4,
            numeric(2, -1, 0, 6, &[1, 2000]),
            "0.000120",
        ),
        (
            "CAST(123456789 AS DECIMAL(12,0))",
            Type::NUMERIC,
            (12 << 16) + 4,
            numeric(3, 2, 0, 0, &[1, 2345, 6789]),
            "123456789",
        ),
        ("CAST(0 AS DECIMAL(5,2))", Type::NUMERIC, (5 << 16 | 2) + 4, numeric(0, 0, 0, 2, &[]), "0.00"),
        ("'héllo'", Type::TEXT, -1, "héllo".as_bytes().to_vec(), "héllo"),
        ("X'00ff'", Type::BYTEA, -1, vec![0, 255], "\\x00ff"),
        ("DATE '2000-01-02'", Type::DATE, -1, 1i32.to_be_bytes().to_vec(), "2000-01-02"),
        ("DATE '1999-12-31'", Type::DATE, -1, (-1i32).to_be_bytes().to_vec(), "1999-12-31"),
        ("TIME '01:02:03.5'", Type::TIME, -1, 3_723_500_000i64.to_be_bytes().to_vec(), "01:02:03.5"),
        (
            "TIMESTAMP '2000-01-01 00:00:01'",
            Type::TIMESTAMP,
            -1,
            1_000_000i64.to_be_bytes().to_vec(),
            "2000-01-01 00:00:01",
        ),
        (
            "TIMESTAMP '2000-01-01 00:00:01' AT TIME ZONE 'UTC'",
            Type::TIMESTAMPTZ,
            -1,
            1_000_000i64.to_be_bytes().to_vec(),
            "2000-01-01 00:00:01+00",
        ),
        (
            "INTERVAL '1 month 2 days 3 seconds'",
            Type::INTERVAL,
            -1,
            be(&[&3_000_000i64.to_be_bytes(), &2i32.to_be_bytes(), &1i32.to_be_bytes()]),
            "1 mon 2 days 00:00:03",
        ),
        (
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
            Type::UUID,
            -1,
            uuid.to_vec(),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ),
        ("'{\"k\": 1}'::json", Type::JSON, -1, b"{\"k\": 1}".to_vec(), "{\"k\": 1}"),
        ("[1, NULL, 3]", Type::INT8_ARRAY, -1, int8_array(), "{1,NULL,3}"),
        (
            "CAST([] AS INT[])",
            Type::INT4_ARRAY,
            -1,
            be(&[&0i32.to_be_bytes(), &0i32.to_be_bytes(), &23u32.to_be_bytes()]),
            "{}",
        ),
        (
            "['a b']",
            Type::TEXT_ARRAY,
            -1,
            be(&[
                &1i32.to_be_bytes(),
                &0i32.to_be_bytes(),
                &25u32.to_be_bytes(),
                &1i32.to_be_bytes(),
                &1i32.to_be_bytes(),
                &3i32.to_be_bytes(),
                b"a b",
            ]),
            "{\"a b\"}",
        ),
    ];
    for (expr, pg_type, typmod, binary, text) in cases {
        let stmt = client.prepare(&format!("SELECT {expr}")).await.unwrap_or_else(|e| panic!("{expr}: {e}"));
        let column = &stmt.columns()[0];
        assert_eq!(column.type_(), &pg_type, "{expr}");
        assert_eq!(column.type_modifier(), typmod, "{expr}");
        // tokio-postgres asks for every result column in binary.
        let row = client.query_one(&stmt, &[]).await.unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(row.get::<_, Raw>(0), Raw(binary), "{expr}");
        let messages = client.simple_query(&format!("SELECT {expr}")).await.unwrap();
        let Some(SimpleQueryMessage::Row(row)) = messages.iter().find(|m| matches!(m, SimpleQueryMessage::Row(_)))
        else {
            panic!("{expr}: no row");
        };
        assert_eq!(row.get(0), Some(text), "{expr}");
    }
}

#[tokio::test]
async fn nulls_of_every_type_are_null_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let client = server.connect().await;
    let types = [
        "BOOLEAN",
        "INT",
        "BIGINT",
        "DOUBLE",
        "DECIMAL(5,2)",
        "TEXT",
        "BYTEA",
        "DATE",
        "TIMESTAMP",
        "INTERVAL",
        "INT[]",
    ];
    for t in types {
        let sql = format!("SELECT CAST(NULL AS {t})");
        let row = client.query_one(&sql, &[]).await.unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(row.get::<_, Option<Raw>>(0), None, "{t}");
        let messages = client.simple_query(&sql).await.unwrap();
        assert!(messages.iter().any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0).is_none())), "{t}");
    }
}

#[tokio::test]
async fn declared_varchar_and_char_lengths_reach_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixtures::generate(&dir.path().join("data")).await;
    let server = TestServer::start(engine_in(&dir.path().join("glaux")).await).await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "CREATE EXTERNAL TABLE customers (name varchar(12), country char(2))
             ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION '{}/customers_csv'
             TBLPROPERTIES ('skip.header.line.count'='1')",
            data.display()
        ))
        .await
        .unwrap();
    let stmt = client.prepare("SELECT name, country FROM customers ORDER BY name").await.unwrap();
    assert_eq!(stmt.columns()[0].type_(), &Type::VARCHAR);
    assert_eq!(stmt.columns()[0].type_modifier(), 16);
    assert_eq!(stmt.columns()[1].type_(), &Type::BPCHAR);
    assert_eq!(stmt.columns()[1].type_modifier(), 6);
    let rows = client.query(&stmt, &[]).await.unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "alice");
}
