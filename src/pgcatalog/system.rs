//! pg_catalog tables about the server rather than the user's relations:
//! types, functions, the database, settings, roles, access methods,
//! collations, tablespaces, languages, and the empty ones clients probe
//! (enums, ranges, extensions, foreign servers).

use super::oid;
use super::rows::{bool, char, float4, int2, int4, null, oid as o, oids, opt_text, text, Col, Rows};
use super::settings::SETTINGS;
use super::tables::{Context, SystemTable};
use super::types::{self, io_functions};
use datafusion::common::ScalarValue;
use Col::*;

pub static TABLES: &[SystemTable] = &[
    SystemTable {
        schema: "pg_catalog",
        name: "pg_type",
        columns: &[
            ("oid", Oid),
            ("typname", Text),
            ("typnamespace", Oid),
            ("typowner", Oid),
            ("typlen", Int2),
            ("typbyval", Bool),
            ("typtype", Text),
            ("typcategory", Text),
            ("typispreferred", Bool),
            ("typisdefined", Bool),
            ("typdelim", Text),
            ("typrelid", Oid),
            ("typsubscript", Oid),
            ("typelem", Oid),
            ("typarray", Oid),
            ("typinput", Oid),
            ("typoutput", Oid),
            ("typreceive", Oid),
            ("typsend", Oid),
            ("typmodin", Oid),
            ("typmodout", Oid),
            ("typanalyze", Oid),
            ("typalign", Text),
            ("typstorage", Text),
            ("typnotnull", Bool),
            ("typbasetype", Oid),
            ("typtypmod", Int4),
            ("typndims", Int4),
            ("typcollation", Oid),
            ("typdefaultbin", Text),
            ("typdefault", Text),
            ("typacl", TextArray),
        ],
        fill: Some(pg_type),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_proc",
        columns: &[
            ("oid", Oid),
            ("proname", Text),
            ("pronamespace", Oid),
            ("proowner", Oid),
            ("prolang", Oid),
            ("procost", Float4),
            ("prorows", Float4),
            ("provariadic", Oid),
            ("prosupport", Oid),
            ("prokind", Text),
            ("prosecdef", Bool),
            ("proleakproof", Bool),
            ("proisstrict", Bool),
            ("proretset", Bool),
            ("provolatile", Text),
            ("proparallel", Text),
            ("pronargs", Int2),
            ("pronargdefaults", Int2),
            ("prorettype", Oid),
            ("proargtypes", OidArray),
            ("proallargtypes", OidArray),
            ("proargmodes", TextArray),
            ("proargnames", TextArray),
            ("proargdefaults", Text),
            ("protrftypes", OidArray),
            ("prosrc", Text),
            ("probin", Text),
            ("prosqlbody", Text),
            ("proconfig", TextArray),
            ("proacl", TextArray),
        ],
        fill: Some(pg_proc),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_database",
        columns: &[
            ("oid", Oid),
            ("datname", Text),
            ("datdba", Oid),
            ("encoding", Int4),
            ("datlocprovider", Text),
            ("datistemplate", Bool),
            ("datallowconn", Bool),
            ("datconnlimit", Int4),
            ("datfrozenxid", Oid),
            ("datminmxid", Oid),
            ("dattablespace", Oid),
            ("datcollate", Text),
            ("datctype", Text),
            ("daticulocale", Text),
            ("datcollversion", Text),
            ("datacl", TextArray),
        ],
        fill: Some(pg_database),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_settings",
        columns: &[
            ("name", Text),
            ("setting", Text),
            ("unit", Text),
            ("category", Text),
            ("short_desc", Text),
            ("extra_desc", Text),
            ("context", Text),
            ("vartype", Text),
            ("source", Text),
            ("min_val", Text),
            ("max_val", Text),
            ("enumvals", TextArray),
            ("boot_val", Text),
            ("reset_val", Text),
            ("sourcefile", Text),
            ("sourceline", Int4),
            ("pending_restart", Bool),
        ],
        fill: Some(pg_settings),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_roles",
        columns: &[
            ("rolname", Text),
            ("rolsuper", Bool),
            ("rolinherit", Bool),
            ("rolcreaterole", Bool),
            ("rolcreatedb", Bool),
            ("rolcanlogin", Bool),
            ("rolreplication", Bool),
            ("rolconnlimit", Int4),
            ("rolpassword", Text),
            ("rolvaliduntil", TimestampTz),
            ("rolbypassrls", Bool),
            ("rolconfig", TextArray),
            ("oid", Oid),
        ],
        fill: Some(pg_roles),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_user",
        columns: &[
            ("usename", Text),
            ("usesysid", Oid),
            ("usecreatedb", Bool),
            ("usesuper", Bool),
            ("userepl", Bool),
            ("usebypassrls", Bool),
            ("passwd", Text),
            ("valuntil", TimestampTz),
            ("useconfig", TextArray),
        ],
        fill: Some(pg_user),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_auth_members",
        columns: &[("oid", Oid), ("roleid", Oid), ("member", Oid), ("grantor", Oid), ("admin_option", Bool)],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_am",
        columns: &[("oid", Oid), ("amname", Text), ("amhandler", Oid), ("amtype", Text)],
        fill: Some(pg_am),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_collation",
        columns: &[
            ("oid", Oid),
            ("collname", Text),
            ("collnamespace", Oid),
            ("collowner", Oid),
            ("collprovider", Text),
            ("collisdeterministic", Bool),
            ("collencoding", Int4),
            ("collcollate", Text),
            ("collctype", Text),
            ("colliculocale", Text),
            ("collversion", Text),
        ],
        fill: Some(pg_collation),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_tablespace",
        columns: &[
            ("oid", Oid),
            ("spcname", Text),
            ("spcowner", Oid),
            ("spcacl", TextArray),
            ("spcoptions", TextArray),
        ],
        fill: Some(pg_tablespace),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_language",
        columns: &[
            ("oid", Oid),
            ("lanname", Text),
            ("lanowner", Oid),
            ("lanispl", Bool),
            ("lanpltrusted", Bool),
            ("lanplcallfoid", Oid),
            ("laninline", Oid),
            ("lanvalidator", Oid),
            ("lanacl", TextArray),
        ],
        fill: Some(pg_language),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_enum",
        columns: &[("oid", Oid), ("enumtypid", Oid), ("enumsortorder", Float4), ("enumlabel", Text)],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_range",
        columns: &[
            ("rngtypid", Oid),
            ("rngsubtype", Oid),
            ("rngmultitypid", Oid),
            ("rngcollation", Oid),
            ("rngsubopc", Oid),
            ("rngcanonical", Oid),
            ("rngsubdiff", Oid),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_extension",
        columns: &[
            ("oid", Oid),
            ("extname", Text),
            ("extowner", Oid),
            ("extnamespace", Oid),
            ("extrelocatable", Bool),
            ("extversion", Text),
            ("extconfig", OidArray),
            ("extcondition", TextArray),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_foreign_server",
        columns: &[
            ("oid", Oid),
            ("srvname", Text),
            ("srvowner", Oid),
            ("srvfdw", Oid),
            ("srvtype", Text),
            ("srvversion", Text),
            ("srvacl", TextArray),
            ("srvoptions", TextArray),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_foreign_data_wrapper",
        columns: &[
            ("oid", Oid),
            ("fdwname", Text),
            ("fdwowner", Oid),
            ("fdwhandler", Oid),
            ("fdwvalidator", Oid),
            ("fdwacl", TextArray),
            ("fdwoptions", TextArray),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_shdescription",
        columns: &[("objoid", Oid), ("classoid", Oid), ("description", Text)],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_stat_activity",
        columns: &[
            ("datid", Oid),
            ("datname", Text),
            ("pid", Int4),
            ("usesysid", Oid),
            ("usename", Text),
            ("application_name", Text),
            ("client_addr", Text),
            ("backend_start", TimestampTz),
            ("query_start", TimestampTz),
            ("state", Text),
            ("query", Text),
            ("backend_type", Text),
        ],
        fill: Some(pg_stat_activity),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_cursors",
        columns: &[
            ("name", Text),
            ("statement", Text),
            ("is_holdable", Bool),
            ("is_binary", Bool),
            ("is_scrollable", Bool),
            ("creation_time", TimestampTz),
        ],
        fill: Some(pg_cursors),
    },
];

fn pg_type(_: &Context, rows: &mut Rows) {
    let procs = functions();
    let proc_oid = |name: &str| procs.iter().position(|p| p.name == name).map_or(0, |i| oid::FIRST_FUNCTION + i as u32);
    for t in types::all() {
        let [output, receive, send] = io_functions(t.input);
        let array_subscript = if t.category == 'A' { proc_oid("array_subscript_handler") } else { 0 };
        let collation = if t.category == 'S' { 100 } else { 0 };
        #[rustfmt::skip]
        rows.push(vec![
            o(t.oid), text(t.name), o(oid::PG_CATALOG), o(oid::OWNER), int2(t.len), bool(t.by_value),
            char(t.kind), char(t.category), bool(t.preferred), bool(true), char(','), o(0), o(array_subscript),
            o(t.element), o(t.array), o(proc_oid(t.input)), o(proc_oid(&output)), o(proc_oid(&receive)),
            o(proc_oid(&send)), o(0), o(0), o(0), char(t.align), char(if t.len == -1 { 'x' } else { 'p' }),
            bool(false), o(0), int4(-1), int4(0), o(collation), null(), null(), null(),
        ]);
    }
}

/// A function pg_proc lists: its name, argument types and result type.
pub struct Proc {
    pub name: String,
    pub args: Vec<u32>,
    pub result: u32,
    pub returns_set: bool,
}

/// The functions pg_proc lists: the types' input/output functions and the
/// PostgreSQL functions glaux implements (see `functions`). Built once:
/// regproc lookups run per row.
pub fn functions() -> &'static [Proc] {
    static ALL: std::sync::OnceLock<Vec<Proc>> = std::sync::OnceLock::new();
    ALL.get_or_init(build_functions)
}

fn build_functions() -> Vec<Proc> {
    let mut procs: Vec<Proc> = Vec::new();
    let mut add = |name: &str, args: &[u32], result: u32, returns_set: bool| {
        if !procs.iter().any(|p| p.name == name) {
            procs.push(Proc { name: name.to_string(), args: args.to_vec(), result, returns_set });
        }
    };
    for t in types::all() {
        let [output, receive, send] = io_functions(t.input);
        add(t.input, &[2275], t.oid, false);
        add(&output, &[t.oid], 2275, false);
        add(&receive, &[2281], t.oid, false);
        add(&send, &[t.oid], 17, false);
    }
    add("array_subscript_handler", &[2281], 2281, false);
    for (name, args, result, set) in SQL_FUNCTIONS {
        add(name, args, *result, *set);
    }
    procs
}

/// PostgreSQL functions glaux provides, with argument and result type OIDs.
#[rustfmt::skip]
const SQL_FUNCTIONS: &[(&str, &[u32], u32, bool)] = &[
    ("version", &[], 25, false),
    ("current_database", &[], 19, false),
    ("current_schema", &[], 19, false),
    ("current_schemas", &[16], 1003, false),
    ("current_setting", &[25], 25, false),
    ("set_config", &[25, 25, 16], 25, false),
    ("format_type", &[26, 23], 25, false),
    ("pg_backend_pid", &[], 23, false),
    ("pg_get_userbyid", &[26], 19, false),
    ("pg_table_is_visible", &[26], 16, false),
    ("pg_type_is_visible", &[26], 16, false),
    ("pg_function_is_visible", &[26], 16, false),
    ("pg_get_expr", &[194, 26], 25, false),
    ("pg_get_constraintdef", &[26], 25, false),
    ("pg_get_indexdef", &[26], 25, false),
    ("pg_get_viewdef", &[26], 25, false),
    ("pg_get_function_result", &[26], 25, false),
    ("pg_get_function_arguments", &[26], 25, false),
    ("pg_encoding_to_char", &[23], 19, false),
    ("obj_description", &[26, 19], 25, false),
    ("col_description", &[26, 23], 25, false),
    ("shobj_description", &[26, 19], 25, false),
    ("has_table_privilege", &[25, 25], 16, false),
    ("has_schema_privilege", &[25, 25], 16, false),
    ("has_database_privilege", &[25, 25], 16, false),
    ("has_column_privilege", &[25, 25, 25], 16, false),
    ("has_function_privilege", &[25, 25], 16, false),
    ("pg_has_role", &[25, 25], 16, false),
    ("to_regclass", &[25], 2205, false),
    ("to_regtype", &[25], 2206, false),
    ("parse_ident", &[25, 16], 1009, false),
    ("pg_get_keywords", &[], 2249, true),
    ("array_upper", &[2277, 23], 23, false),
    ("array_lower", &[2277, 23], 23, false),
    ("pg_relation_size", &[2205], 20, false),
    ("pg_total_relation_size", &[2205], 20, false),
    ("pg_table_size", &[2205], 20, false),
    ("pg_indexes_size", &[2205], 20, false),
    ("pg_size_pretty", &[20], 25, false),
    ("pg_postmaster_start_time", &[], 1184, false),
    ("pg_is_in_recovery", &[], 16, false),
    ("txid_current", &[], 20, false),
];

fn pg_proc(_: &Context, rows: &mut Rows) {
    for (i, p) in functions().iter().enumerate() {
        #[rustfmt::skip]
        rows.push(vec![
            o(oid::FIRST_FUNCTION + i as u32), text(&p.name), o(oid::PG_CATALOG), o(oid::OWNER), o(12),
            float4(1.0), float4(if p.returns_set { 1000.0 } else { 0.0 }), o(0), o(0), char('f'), bool(false),
            bool(false), bool(true), bool(p.returns_set), char('s'), char('s'), int2(p.args.len() as i16), int2(0),
            o(p.result), oids(&p.args), null(), null(), null(), null(), null(), text(&p.name), null(), null(),
            null(), null(),
        ]);
    }
}

/// Every catalog the server serves, the connected one first.
fn pg_database(cx: &Context, rows: &mut Rows) {
    let s = cx.session;
    let others = s.catalogs.iter().filter(|c| **c != s.database);
    for name in std::iter::once(&s.database).chain(others) {
        #[rustfmt::skip]
        rows.push(vec![
            o(oid::database(name)), text(name), o(oid::OWNER), int4(6), char('c'), bool(false), bool(true),
            int4(-1), o(0), o(0), o(1663), text("C.UTF-8"), text("C.UTF-8"), null(), null(), null(),
        ]);
    }
}

fn pg_settings(cx: &Context, rows: &mut Rows) {
    for s in SETTINGS {
        let value = cx.session.setting(s.name).unwrap_or(s.default);
        let source = if value == s.default { "default" } else { "session" };
        let context = if s.read_only { "internal" } else { "user" };
        #[rustfmt::skip]
        rows.push(vec![
            text(s.name), text(value), opt_text(s.unit), text(s.category), text(s.description), null(),
            text(context), text(s.vartype), text(source), null(), null(), null(), text(s.default),
            text(s.default), null(), null(), bool(false),
        ]);
    }
}

fn pg_roles(cx: &Context, rows: &mut Rows) {
    #[rustfmt::skip]
    rows.push(vec![
        text(&cx.session.user), bool(true), bool(true), bool(true), bool(true), bool(true), bool(false), int4(-1),
        text("********"), null(), bool(false), null(), o(oid::OWNER),
    ]);
}

fn pg_user(cx: &Context, rows: &mut Rows) {
    #[rustfmt::skip]
    rows.push(vec![
        text(&cx.session.user), o(oid::OWNER), bool(true), bool(true), bool(false), bool(false), text("********"),
        null(), null(),
    ]);
}

fn pg_am(_: &Context, rows: &mut Rows) {
    rows.push(vec![o(2), text("heap"), o(0), char('t')]);
    rows.push(vec![o(403), text("btree"), o(0), char('i')]);
}

fn pg_collation(_: &Context, rows: &mut Rows) {
    for (oid_, name, provider) in [(100, "default", 'd'), (950, "C", 'c'), (951, "POSIX", 'c')] {
        #[rustfmt::skip]
        rows.push(vec![
            o(oid_), text(name), o(oid::PG_CATALOG), o(oid::OWNER), char(provider), bool(true), int4(-1),
            null(), null(), null(), null(),
        ]);
    }
}

fn pg_tablespace(_: &Context, rows: &mut Rows) {
    rows.push(vec![o(1663), text("pg_default"), o(oid::OWNER), null(), null()]);
    rows.push(vec![o(1664), text("pg_global"), o(oid::OWNER), null(), null()]);
}

fn pg_language(_: &Context, rows: &mut Rows) {
    for (oid_, name) in [(12, "internal"), (13, "c"), (14, "sql")] {
        rows.push(vec![o(oid_), text(name), o(oid::OWNER), bool(false), bool(oid_ == 14), o(0), o(0), o(0), null()]);
    }
}

fn pg_stat_activity(cx: &Context, rows: &mut Rows) {
    let s = cx.session;
    #[rustfmt::skip]
    rows.push(vec![
        o(oid::database(&s.database)), text(&s.database), int4(s.backend_pid), o(oid::OWNER), text(&s.user),
        text(s.setting("application_name").unwrap_or("")), null(), null(), null(), text("active"), null(),
        text("client backend"),
    ]);
}

fn pg_cursors(cx: &Context, rows: &mut Rows) {
    for c in &cx.session.cursors {
        #[rustfmt::skip]
        rows.push(vec![
            text(&c.name), text(&c.statement), bool(c.holdable), bool(false), bool(false),
            ScalarValue::TimestampMicrosecond(Some(c.created), Some("UTC".into())),
        ]);
    }
}

/// Keyword list for pg_get_keywords() (word, category code, description).
pub fn keywords() -> Vec<(&'static str, char)> {
    datafusion::sql::sqlparser::keywords::ALL_KEYWORDS
        .iter()
        .map(|k| (*k, if RESERVED.contains(k) { 'R' } else { 'U' }))
        .collect()
}

const RESERVED: &[&str] = &[
    "ALL",
    "ANALYSE",
    "ANALYZE",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "ASYMMETRIC",
    "BOTH",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "CONSTRAINT",
    "CREATE",
    "CURRENT_CATALOG",
    "CURRENT_DATE",
    "CURRENT_ROLE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "DEFAULT",
    "DEFERRABLE",
    "DESC",
    "DISTINCT",
    "DO",
    "ELSE",
    "END",
    "EXCEPT",
    "FALSE",
    "FETCH",
    "FOR",
    "FOREIGN",
    "FROM",
    "GRANT",
    "GROUP",
    "HAVING",
    "IN",
    "INITIALLY",
    "INTERSECT",
    "INTO",
    "LATERAL",
    "LEADING",
    "LIMIT",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "ONLY",
    "OR",
    "ORDER",
    "PLACING",
    "PRIMARY",
    "REFERENCES",
    "RETURNING",
    "SELECT",
    "SESSION_USER",
    "SOME",
    "SYMMETRIC",
    "TABLE",
    "THEN",
    "TO",
    "TRAILING",
    "TRUE",
    "UNION",
    "UNIQUE",
    "USER",
    "USING",
    "VARIADIC",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];
