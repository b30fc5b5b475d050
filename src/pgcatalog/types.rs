//! The types pg_type lists: every type glaux sends or that clients look up
//! by name, with PostgreSQL's OIDs, sizes and categories, their array
//! types, and `format_type`'s SQL spelling of a type and modifier.

/// One row of pg_type (the columns clients read).
#[derive(Debug, Clone, Copy)]
pub struct PgType {
    pub oid: u32,
    pub name: &'static str,
    /// The name of its array type (`_int4`).
    pub array_name: &'static str,
    /// `format_type`'s name: `integer`, `character varying`, ...
    pub sql_name: &'static str,
    pub len: i16,
    pub by_value: bool,
    /// `typtype`: b base, p pseudo.
    pub kind: char,
    pub category: char,
    pub preferred: bool,
    /// The element type of an array type, else 0.
    pub element: u32,
    /// The array type of this type, else 0.
    pub array: u32,
    /// The input function's name; output, receive and send follow from it.
    pub input: &'static str,
    pub align: char,
}

const fn base(
    oid: u32,
    name: &'static str,
    sql_name: &'static str,
    len: i16,
    category: char,
    array: u32,
    input: &'static str,
) -> PgType {
    let by_value = len > 0 && len <= 8 && !matches!(oid, 19 | 1033 | 1186 | 1266 | 2950);
    let align = match len {
        1 => 'c',
        2 => 's',
        4 => 'i',
        8 | 16 | 12 => 'd',
        _ => 'i',
    };
    PgType {
        oid,
        name,
        array_name: "",
        sql_name,
        len,
        by_value,
        kind: 'b',
        category,
        preferred: false,
        element: 0,
        array,
        input,
        align,
    }
}

/// `t` with its array type's name.
const fn named(t: PgType, array_name: &'static str) -> PgType {
    PgType { array_name, ..t }
}

const fn preferred(t: PgType) -> PgType {
    PgType { preferred: true, ..t }
}

const fn pseudo(oid: u32, name: &'static str, len: i16, input: &'static str) -> PgType {
    PgType { kind: 'p', ..base(oid, name, name, len, 'P', 0, input) }
}

/// The scalar types.
const SCALARS: &[PgType] = &[
    preferred(named(base(16, "bool", "boolean", 1, 'B', 1000, "boolin"), "_bool")),
    named(base(17, "bytea", "bytea", -1, 'U', 1001, "byteain"), "_bytea"),
    named(base(18, "char", "\"char\"", 1, 'Z', 1002, "charin"), "_char"),
    named(base(19, "name", "name", 64, 'S', 1003, "namein"), "_name"),
    named(base(20, "int8", "bigint", 8, 'N', 1016, "int8in"), "_int8"),
    named(base(21, "int2", "smallint", 2, 'N', 1005, "int2in"), "_int2"),
    PgType { element: 21, ..named(base(22, "int2vector", "int2vector", -1, 'A', 1006, "int2vectorin"), "_int2vector") },
    named(base(23, "int4", "integer", 4, 'N', 1007, "int4in"), "_int4"),
    named(base(24, "regproc", "regproc", 4, 'N', 1008, "regprocin"), "_regproc"),
    preferred(named(base(25, "text", "text", -1, 'S', 1009, "textin"), "_text")),
    preferred(named(base(26, "oid", "oid", 4, 'N', 1028, "oidin"), "_oid")),
    named(base(28, "xid", "xid", 4, 'U', 1011, "xidin"), "_xid"),
    PgType { element: 26, ..named(base(30, "oidvector", "oidvector", -1, 'A', 1013, "oidvectorin"), "_oidvector") },
    named(base(114, "json", "json", -1, 'U', 199, "json_in"), "_json"),
    base(194, "pg_node_tree", "pg_node_tree", -1, 'Z', 0, "pg_node_tree_in"),
    named(base(700, "float4", "real", 4, 'N', 1021, "float4in"), "_float4"),
    preferred(named(base(701, "float8", "double precision", 8, 'N', 1022, "float8in"), "_float8")),
    PgType { kind: 'p', ..base(705, "unknown", "unknown", -2, 'X', 0, "unknownin") },
    named(base(1033, "aclitem", "aclitem", 12, 'U', 1034, "aclitemin"), "_aclitem"),
    named(base(1042, "bpchar", "character", -1, 'S', 1014, "bpcharin"), "_bpchar"),
    named(base(1043, "varchar", "character varying", -1, 'S', 1015, "varcharin"), "_varchar"),
    named(base(1082, "date", "date", 4, 'D', 1182, "date_in"), "_date"),
    named(base(1083, "time", "time without time zone", 8, 'D', 1183, "time_in"), "_time"),
    named(base(1114, "timestamp", "timestamp without time zone", 8, 'D', 1115, "timestamp_in"), "_timestamp"),
    preferred(named(
        base(1184, "timestamptz", "timestamp with time zone", 8, 'D', 1185, "timestamptz_in"),
        "_timestamptz",
    )),
    preferred(named(base(1186, "interval", "interval", 16, 'T', 1187, "interval_in"), "_interval")),
    named(base(1266, "timetz", "time with time zone", 12, 'D', 1270, "timetz_in"), "_timetz"),
    named(base(1700, "numeric", "numeric", -1, 'N', 1231, "numeric_in"), "_numeric"),
    named(base(2205, "regclass", "regclass", 4, 'N', 2210, "regclassin"), "_regclass"),
    named(base(2206, "regtype", "regtype", 4, 'N', 2211, "regtypein"), "_regtype"),
    named(base(2950, "uuid", "uuid", 16, 'U', 2951, "uuid_in"), "_uuid"),
    named(base(3802, "jsonb", "jsonb", -1, 'U', 3807, "jsonb_in"), "_jsonb"),
    named(base(4089, "regnamespace", "regnamespace", 4, 'N', 4090, "regnamespacein"), "_regnamespace"),
    pseudo(2249, "record", -1, "record_in"),
    pseudo(2275, "cstring", -2, "cstring_in"),
    pseudo(2276, "any", 4, "any_in"),
    pseudo(2277, "anyarray", -1, "anyarray_in"),
    pseudo(2278, "void", 4, "void_in"),
    pseudo(2283, "anyelement", 4, "anyelement_in"),
];

/// Every type: the scalars, then an array type (`_int4`) for each scalar
/// that has one.
/// Built once: catalog queries look types up per row.
pub fn all() -> &'static [PgType] {
    static ALL: std::sync::OnceLock<Vec<PgType>> = std::sync::OnceLock::new();
    ALL.get_or_init(build_all)
}

fn build_all() -> Vec<PgType> {
    let mut types = SCALARS.to_vec();
    for t in SCALARS.iter().filter(|t| t.array != 0) {
        types.push(PgType {
            oid: t.array,
            name: t.array_name,
            array_name: "",
            sql_name: t.sql_name,
            len: -1,
            by_value: false,
            kind: 'b',
            category: 'A',
            preferred: false,
            element: t.oid,
            array: 0,
            input: "array_in",
            align: if t.align == 'd' { 'd' } else { 'i' },
        });
    }
    types
}

/// The type with this OID.
pub fn by_oid(oid: u32) -> Option<PgType> {
    all().iter().find(|t| t.oid == oid).copied()
}

/// The type with this pg_type name or SQL name (`int4`, `integer`,
/// `character varying`, `_int4`, `integer[]`).
pub fn by_name(name: &str) -> Option<PgType> {
    let name = name.trim().trim_start_matches("pg_catalog.").to_ascii_lowercase();
    let alias = match name.as_str() {
        "int" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "real" => "float4",
        "float" | "double precision" => "float8",
        "decimal" => "numeric",
        "boolean" => "bool",
        "character varying" => "varchar",
        "character" | "char" => "bpchar",
        "\"char\"" => "char",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "time without time zone" => "time",
        "time with time zone" => "timetz",
        other => other,
    };
    if let Some(element) = alias.strip_suffix("[]") {
        let element = by_name(element)?;
        return by_oid(element.array);
    }
    all().iter().find(|t| t.name == alias || (t.category != 'A' && t.sql_name == alias)).copied()
}

/// `format_type(oid, typmod)`: the SQL spelling of a type, with its
/// modifier (`numeric(12,2)`, `character varying(20)`), as psql's `\d`
/// and `information_schema` show it. An unknown OID is `???`, as in
/// PostgreSQL.
pub fn format_type(oid: u32, typmod: i32) -> String {
    let Some(t) = by_oid(oid) else { return "???".to_string() };
    if t.category == 'A' && t.element != 0 {
        return match by_oid(t.element) {
            Some(_) => format!("{}[]", format_type(t.element, typmod)),
            None => "???[]".to_string(),
        };
    }
    let modifier = match t.oid {
        1700 if typmod >= 4 => {
            let m = typmod - 4;
            format!("({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        1042 | 1043 if typmod >= 4 => format!("({})", typmod - 4),
        1083 | 1114 | 1184 | 1266 if typmod >= 0 => format!("({typmod})"),
        _ => String::new(),
    };
    match t.oid {
        // The precision goes between "timestamp" and "with/without time zone".
        1083 | 1114 | 1184 | 1266 if !modifier.is_empty() => {
            let (head, tail) = t.sql_name.split_once(' ').unwrap_or((t.sql_name, ""));
            format!("{head}{modifier} {tail}")
        }
        _ => format!("{}{modifier}", t.sql_name),
    }
}

/// The output, receive and send function names of a type whose input
/// function is `input` (`int4in` -> `int4out`, `date_in` -> `date_out`).
pub fn io_functions(input: &str) -> [String; 3] {
    match input.strip_suffix("_in") {
        Some(stem) => [format!("{stem}_out"), format!("{stem}_recv"), format!("{stem}_send")],
        None => {
            let stem = input.strip_suffix("in").unwrap_or(input);
            [format!("{stem}out"), format!("{stem}recv"), format!("{stem}send")]
        }
    }
}
