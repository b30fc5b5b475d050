//! Unit tests of glaux's pure logic, tested through SQL elsewhere too:
//! SCRAM, Hive type strings, partition key matching, projection's date
//! formats and billing arithmetic. (The library has no test binary of
//! its own; these live in the one integration binary.)

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use glaux::catalog::types::{arrow_to_hive, hive_to_arrow, normalize_hive_type};
use glaux::catalog::{KeyCondition, KeyTest};
use glaux::scram::{self, Failure, Verifier};
use glaux::table::dateformat::DateFormat;
use glaux::workgroup::{billed_bytes, cost, human_bytes, parse_bytes, parse_millis};
use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

const MB: u64 = 1 << 20;

// ---- SCRAM-SHA-256 (RFC 5802 / 7677) ----

/// RFC 7677's example: password `pencil`, this salt, 4096 iterations.
const SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";

/// The verifier PostgreSQL stores for it, computed independently (Python's
/// hashlib: PBKDF2, then HMAC "Client Key" hashed and HMAC "Server Key").
const PENCIL: &str = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

/// The client's half of an exchange: its final message for `password`,
/// and the server signature it expects back.
fn client_final(server_first: &str, client_first_bare: &str, password: &str) -> (String, String) {
    let field = |k: &str| server_first.split(',').find_map(|a| a.strip_prefix(k)).unwrap().to_string();
    let (nonce, salt, iterations) = (field("r="), B64.decode(field("s=")).unwrap(), field("i=").parse().unwrap());
    let mut salted = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(iterations).unwrap(),
        &salt,
        password.as_bytes(),
        &mut salted,
    );
    let client_key = hmac256(&salted, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, &client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac256(stored_key.as_ref(), auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(signature).map(|(k, s)| k ^ s).collect();
    let server_signature = hmac256(&hmac256(&salted, b"Server Key"), auth.as_bytes());
    (format!("{without_proof},p={}", B64.encode(proof)), format!("v={}", B64.encode(server_signature)))
}

#[test]
fn scram_verifiers_are_postgresql_s() {
    let verifier = Verifier::with_salt("pencil", &B64.decode(SALT).unwrap(), 4096);
    assert_eq!(verifier.encode(), PENCIL);
    assert_eq!(Verifier::parse(PENCIL).map(|v| v.encode()).as_deref(), Some(PENCIL));
    assert!(Verifier::parse("md5abcdef").is_none());
    assert!(Verifier::parse("SCRAM-SHA-256$4096:bad$x:y").is_none());
}

#[test]
fn scram_exchange_accepts_the_password_and_nothing_else() {
    let bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
    let first = format!("n,,{bare}");
    let verifier = || Verifier::parse(PENCIL);

    // The right password: the server's final message proves it knows the key.
    let (server_first, exchange) = scram::server_first(first.as_bytes(), verifier(), b"decoy").unwrap();
    assert!(server_first.starts_with("r=rOprNGfwEbeRWgbNEkqO") && server_first.ends_with(",i=4096"));
    let (last, expected) = client_final(&server_first, bare, "pencil");
    assert_eq!(scram::server_final(&exchange, last.as_bytes()).ok(), Some(expected));

    // A wrong password, and a user that does not exist, fail alike.
    let (server_first, exchange) = scram::server_first(first.as_bytes(), verifier(), b"decoy").unwrap();
    let (last, _) = client_final(&server_first, bare, "pencils");
    assert!(matches!(scram::server_final(&exchange, last.as_bytes()), Err(Failure::Rejected)));
    let decoy = scram::decoy_salt(b"secret", "nobody");
    let (server_first, exchange) = scram::server_first(first.as_bytes(), None, &decoy).unwrap();
    assert!(server_first.contains(&format!(",s={},", B64.encode(&decoy))));
    let (last, _) = client_final(&server_first, bare, "pencil");
    assert!(matches!(scram::server_final(&exchange, last.as_bytes()), Err(Failure::Rejected)));

    // A replayed or altered nonce, and channel binding, are protocol errors.
    let (server_first, exchange) = scram::server_first(first.as_bytes(), verifier(), b"decoy").unwrap();
    let (last, _) = client_final(&server_first, bare, "pencil");
    let altered = last.replacen("r=rOpr", "r=xOpr", 1);
    assert!(matches!(scram::server_final(&exchange, altered.as_bytes()), Err(Failure::Protocol(_))));
    let bound = format!("p=tls-server-end-point,,{bare}");
    assert!(matches!(scram::server_first(bound.as_bytes(), verifier(), b"d"), Err(Failure::Protocol(_))));
    assert!(matches!(scram::server_first(b"n,,n=user", verifier(), b"d"), Err(Failure::Protocol(_))));
    assert!(matches!(scram::server_first(b"\xff\xfe", verifier(), b"d"), Err(Failure::Protocol(_))));
}

#[test]
fn scram_initial_response_is_bounds_checked() {
    let mut body = b"SCRAM-SHA-256\0".to_vec();
    body.extend(5i32.to_be_bytes());
    body.extend(b"n,,ab");
    assert_eq!(scram::parse_initial(&body), Some(("SCRAM-SHA-256", &b"n,,ab"[..])));
    // A declared length that is not the data's, a negative one, no NUL.
    let mut long = b"SCRAM-SHA-256\0".to_vec();
    long.extend(500i32.to_be_bytes());
    long.extend(b"n,,ab");
    assert_eq!(scram::parse_initial(&long), None);
    let mut negative = b"SCRAM-SHA-256\0".to_vec();
    negative.extend((-1i32).to_be_bytes());
    assert_eq!(scram::parse_initial(&negative), None);
    assert_eq!(scram::parse_initial(b"SCRAM-SHA-256"), None);
    assert_eq!(scram::parse_initial(b"SCRAM-SHA-256\0\0\0"), None);
}

// ---- Hive type strings ----

#[test]
fn hive_type_strings_map_to_arrow_and_back() {
    use datafusion::arrow::datatypes::DataType;
    for (hive, arrow) in [
        ("int", DataType::Int32),
        ("bigint", DataType::Int64),
        ("smallint", DataType::Int16),
        ("tinyint", DataType::Int8),
        ("string", DataType::Utf8),
        ("double", DataType::Float64),
        ("float", DataType::Float32),
        ("boolean", DataType::Boolean),
        ("date", DataType::Date32),
        ("decimal(10,2)", DataType::Decimal128(10, 2)),
    ] {
        assert_eq!(hive_to_arrow(hive).unwrap(), arrow, "{hive}");
        assert_eq!(arrow_to_hive(&arrow).unwrap(), hive, "{hive}");
    }
    // Nested types keep their shape through a round trip.
    for hive in ["array<int>", "map<string,bigint>", "struct<a:int,b:array<string>>"] {
        let arrow = hive_to_arrow(hive).unwrap();
        assert_eq!(arrow_to_hive(&arrow).unwrap(), hive, "{hive}");
    }
    // Written as people write them: any case, spaces, varchar/char lengths.
    assert_eq!(
        normalize_hive_type("ARRAY< STRUCT< a : INT , b : STRING > >").unwrap(),
        "array<struct<a:int,b:string>>"
    );
    assert_eq!(hive_to_arrow("varchar(10)").unwrap(), DataType::Utf8);
    assert_eq!(hive_to_arrow("char(3)").unwrap(), DataType::Utf8);
    // Not types: a clear error, never a panic.
    for bad in ["", "integer<", "array<>", "map<string>", "struct<a int>", "decimal(40,2)", "uuid", "array<int"] {
        assert!(hive_to_arrow(bad).is_err(), "{bad:?} was accepted");
    }
}

// ---- Partition key matching ----

#[test]
fn partition_keys_match_as_text_or_as_integers() {
    let values = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let is_in = |index, integer, among: &[&str]| KeyCondition { index, integer, test: KeyTest::In(values(among)) };
    let range = |integer, low: Option<&str>, high: Option<&str>| KeyCondition {
        index: 0,
        integer,
        test: KeyTest::Range { low: low.map(str::to_string), high: high.map(str::to_string) },
    };
    // Text compares as text; integer keys compare as numbers (`007` is 7).
    assert!(is_in(1, false, &["b"]).matches(&values(&["a", "b"])));
    assert!(!is_in(0, false, &["07"]).matches(&values(&["7"])));
    assert!(is_in(0, true, &["7"]).matches(&values(&["007"])));
    assert!(!is_in(0, true, &["8"]).matches(&values(&["007"])));
    // Ranges are inclusive; an open end is unbounded.
    assert!(range(true, Some("9"), Some("10")).matches(&values(&["10"])));
    assert!(!range(false, Some("9"), Some("10")).matches(&values(&["10"])), "'10' < '9' as text");
    assert!(range(true, None, Some("3")).matches(&values(&["-5"])));
    assert!(!range(true, Some("4"), None).matches(&values(&["3"])));
    // A value that is not a number never matches an integer key; a
    // missing key matches nothing.
    assert!(!range(true, Some("1"), None).matches(&values(&["x"])));
    assert!(!is_in(0, true, &["1"]).matches(&values(&["one"])));
    assert!(!is_in(3, false, &["a"]).matches(&values(&["a"])));
}

// ---- Partition projection's date formats ----

#[test]
fn projection_date_formats_format_and_parse_strictly() {
    use chrono::NaiveDate;
    let at = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap().and_hms_opt(4, 5, 6).unwrap();
    for (pattern, text) in [
        ("yyyy-MM-dd", "2026-03-07"),
        ("yyyy/MM/dd/HH", "2026/03/07/04"),
        ("yyyyMMddHHmmss", "20260307040506"),
        ("yy-M-d", "26-3-7"),
        ("'dt='yyyy-MM-dd", "dt=2026-03-07"),
    ] {
        let format = DateFormat::new(pattern).unwrap();
        assert_eq!(format.format(at), text, "{pattern}");
        let parsed = format.parse(text).unwrap_or_else(|| panic!("{pattern} did not parse {text}"));
        assert_eq!(format.format(parsed), text, "{pattern}");
    }
    let day = DateFormat::new("yyyy-MM-dd").unwrap();
    for bad in ["2026-02-30", "2026-3-07", "2026-03-07x", "26-03-07", "", "2026-13-01"] {
        assert!(day.parse(bad).is_none(), "{bad:?} parsed");
    }
    for bad in ["yyyy-MM-dd'", "yyy", "QQ", "yyyy-MMMM"] {
        assert!(DateFormat::new(bad).is_err(), "{bad:?} was accepted");
    }
}

// ---- Billing arithmetic ----

#[test]
fn billing_rounds_up_to_the_megabyte_above_the_minimum() {
    assert_eq!(billed_bytes(0, 10 * MB), 10 * MB);
    assert_eq!(billed_bytes(1, 0), MB);
    assert_eq!(billed_bytes(MB, 0), MB);
    assert_eq!(billed_bytes(MB + 1, 0), 2 * MB);
    assert_eq!(billed_bytes(11 * MB + 1, 10 * MB), 12 * MB);
    assert_eq!(billed_bytes(0, 0), 0);
    // Athena's price is per TB (2^40 bytes here): 10 MB at $5 is $0.0000477.
    assert!((cost(1 << 40, 5.0) - 5.0).abs() < 1e-12);
    assert_eq!(format!("{:.7}", cost(10 * MB, 5.0)), "0.0000477");
    assert_eq!(cost(0, 5.0), 0.0);
}

#[test]
fn sizes_and_durations_read_and_print_as_people_write_them() {
    assert_eq!(human_bytes(512), "512 B");
    assert_eq!(human_bytes(1536), "1.50 KB");
    assert_eq!(human_bytes(10 * MB), "10.00 MB");
    assert_eq!(human_bytes(u64::MAX), "16777216.00 TB");
    assert_eq!(parse_bytes("1048576"), Some(MB));
    assert_eq!(parse_bytes("10MB"), Some(10 * MB));
    assert_eq!(parse_bytes(" 1.5 gb "), Some(3 << 29));
    assert_eq!(parse_bytes("2TiB"), Some(2 << 40));
    for bad in ["", "MB", "10 PB", "-1MB", "1.2.3"] {
        assert_eq!(parse_bytes(bad), None, "{bad:?}");
    }
    assert_eq!(parse_millis("250"), Some(250));
    assert_eq!(parse_millis("30s"), Some(30_000));
    assert_eq!(parse_millis("5 min"), Some(300_000));
    assert_eq!(parse_millis("2h"), Some(7_200_000));
    for bad in ["", "1.5s", "10 days", "-1s", "99999999999999999999"] {
        assert_eq!(parse_millis(bad), None, "{bad:?}");
    }
    assert_eq!(parse_millis(&format!("{}h", u64::MAX / 1000)), None, "overflow is refused");
}

// ---- Which statements read the system catalogs ----

#[test]
fn statements_read_the_catalogs_by_what_they_name_not_their_text() {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    let reads = |sql: &str| {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        glaux::pgcatalog::reads_catalog(&statement)
    };
    for sql in [
        "SELECT relname FROM pg_class",
        "SELECT * FROM pg_catalog.pg_namespace n JOIN t ON true",
        "SELECT table_name FROM information_schema.tables",
        "SELECT * FROM INFORMATION_SCHEMA.COLUMNS",
        "SELECT 't'::regclass",
        "SELECT CAST(x AS regnamespace) FROM t",
        "SELECT obj_description(1, 'pg_class')",
        "SELECT pg_get_expr(a, b) FROM t",
        "SELECT to_regclass('t')",
        "SELECT * FROM t WHERE x IN (SELECT oid FROM pg_type)",
        "SELECT * FROM pg_get_keywords()",
        "EXPLAIN SELECT * FROM pg_class",
    ] {
        assert!(reads(sql), "{sql}");
    }
    for sql in [
        "SELECT 1",
        "SELECT 'pg_class', 'information_schema' FROM t",
        "SELECT pg_total FROM t",
        "SELECT * FROM t WHERE name LIKE 'pg_%'",
        "SELECT 'int4'::regtype",
        "SELECT x::text FROM t",
    ] {
        assert!(!reads(sql), "{sql}");
    }
}

// ---- Text output of floats, dates and timestamps ----

/// PostgreSQL's float text from Rust's own shortest formatting (an
/// independent oracle for the server's digit writer): plain for decimal
/// exponents in [-4, max_exp), else `d.ddde+XX`.
fn float_oracle(v: f64, sci: String, plain: String, max_exp: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let (mantissa, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    if (-4..max_exp).contains(&exp) {
        plain
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

#[test]
fn float_text_is_shortest_round_trip_in_postgresql_s_notation() {
    use glaux::pgtypes::pg_float;
    let mut rng = crate::fuzz::Rng(0x9E37_79B9_7F4A_7C15);
    let mut doubles =
        vec![0.0, -0.0, 1.0, -1.5, 0.1, 1e15, 1e16, 123456789012345.0, 1e-4, 1e-5, 0.00012, 1e300, 5e-324];
    doubles.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN_POSITIVE, 100.0, 2.5e-7]);
    for _ in 0..200_000 {
        let bits = rng.next();
        // Half arbitrary bit patterns, half ordinary magnitudes.
        doubles.push(if bits & 1 == 0 { f64::from_bits(bits) } else { (bits >> 11) as f64 / 1e6 });
    }
    // Rust breaks an exact tie between two shortest forms upwards, ryu
    // and PostgreSQL to the even digit: then only the last digit differs.
    let same = |ours: &str, oracle: &str, round_trips: bool| {
        let mantissa = |s: &str| s.split('e').next().unwrap().to_string();
        let (a, b) = (mantissa(ours), mantissa(oracle));
        ours == oracle
            || (round_trips && ours.len() == oracle.len() && a.len() == b.len() && a[..a.len() - 1] == b[..b.len() - 1])
    };
    for v in doubles {
        let ours = pg_float(v, 15);
        let back = ours.parse::<f64>().is_ok_and(|b| b == v);
        assert!(same(&ours, &float_oracle(v, format!("{v:e}"), format!("{v}"), 15), back), "{v:e}: {ours}");
        let f = v as f32;
        let ours = pg_float(f, 6);
        let back = ours.parse::<f32>().is_ok_and(|b| b == f);
        assert!(same(&ours, &float_oracle(f.into(), format!("{f:e}"), format!("{f}"), 6), back), "{f:e}: {ours}");
    }
    // As PostgreSQL 15 prints them (SELECT '...'::real / ::float8).
    assert_eq!(pg_float(-29183.5625f64 as f32, 6), "-29183.562");
    assert_eq!(pg_float(1.15e-5f32, 6), "1.15e-05");
    assert_eq!(pg_float(9007199254740993f64, 15), "9.007199254740992e+15");
    assert_eq!(pg_float(5e-324, 15), "5e-324");
}

#[test]
fn date_and_timestamp_text_match_the_calendar() {
    use chrono::{Datelike, Timelike};
    use datafusion::arrow::array::{ArrayRef, Date32Array, RecordBatch, TimestampMicrosecondArray};
    let era = |year: i32| if year <= 0 { (1 - year, " BC") } else { (year, "") };
    let mut rng = crate::fuzz::Rng(42);
    let mut days: Vec<i32> = (-800_000..3_000_000).step_by(97).collect();
    days.extend([i32::MIN, i32::MAX, -719_528, -719_163, -719_162, 0, -1, 10_957, 2_932_896, 2_932_897]);
    let texts = |column: ArrayRef| {
        let batch = RecordBatch::try_from_iter([("v", column)]).unwrap();
        glaux::pgtypes::text_rows(&batch).unwrap().into_iter().map(|r| r[0].clone().unwrap()).collect::<Vec<_>>()
    };
    let date_texts = texts(std::sync::Arc::new(Date32Array::from(days.clone())));
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    for (d, text) in days.iter().zip(&date_texts) {
        let Some(date) = epoch.checked_add_signed(chrono::Duration::days((*d).into())) else { continue };
        let (year, bc) = era(date.year());
        assert_eq!(text, &format!("{year:04}-{:02}-{:02}{bc}", date.month(), date.day()), "day {d}");
    }
    let mut micros: Vec<i64> = (0..100_000).map(|_| (rng.next() % (1 << 58)) as i64 - (1 << 57)).collect();
    micros.extend([0, -1, 1, 999_999, -86_400_000_000, 946_684_800_000_001, -62_135_596_800_000_000]);
    let timestamp_texts = texts(std::sync::Arc::new(TimestampMicrosecondArray::from(micros.clone())));
    for (m, text) in micros.iter().zip(&timestamp_texts) {
        let Some(t) = chrono::DateTime::from_timestamp_micros(*m) else { continue };
        let t = t.naive_utc();
        let (year, bc) = era(t.year());
        let fraction = match t.nanosecond() / 1000 {
            0 => String::new(),
            us => format!(".{us:06}").trim_end_matches('0').to_string(),
        };
        let expected = format!(
            "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}{fraction}{bc}",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        assert_eq!(text, &expected, "micros {m}");
    }
}
