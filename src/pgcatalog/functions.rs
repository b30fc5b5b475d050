//! The PostgreSQL functions catalog queries call: session information
//! (`current_database()`, `current_schemas()`, `current_setting()`,
//! `version()` ...), catalog lookups over the statement's snapshot
//! (`format_type`, `pg_table_is_visible`, `obj_description`,
//! `to_regclass`, the `::regclass`/`::regtype` conversions ...) and the
//! privilege checks (every object is readable by every user).
//!
//! Each is a row-at-a-time DataFusion scalar function over the session's
//! [`SharedView`]: catalog queries touch few rows, and a constant call is
//! evaluated once.

use super::snapshot::{read, SessionView, SharedView};
use super::{settings, system, types};
use crate::error::{Error, SqlState};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use std::any::Any;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

pub(super) type Eval = fn(&SessionView, &[ScalarValue]) -> std::result::Result<ScalarValue, Error>;

/// One function: its name, how many arguments (`usize::MAX` at most:
/// variadic), its result type, whether a NULL argument makes a NULL
/// result (strict), and its body.
pub(super) struct Def {
    name: &'static str,
    args: (usize, usize),
    returns: fn() -> DataType,
    strict: bool,
    eval: Eval,
}

/// A strict function.
pub(super) const fn def(name: &'static str, args: (usize, usize), returns: fn() -> DataType, eval: Eval) -> Def {
    Def { name, args, returns, strict: true, eval }
}

/// A function that is given its NULL arguments.
pub(super) const fn lenient(name: &'static str, args: (usize, usize), returns: fn() -> DataType, eval: Eval) -> Def {
    Def { name, args, returns, strict: false, eval }
}

pub(super) fn utf8() -> DataType {
    DataType::Utf8
}
fn boolean() -> DataType {
    DataType::Boolean
}
fn oid() -> DataType {
    DataType::UInt32
}
pub(super) fn int4() -> DataType {
    DataType::Int32
}
fn int8() -> DataType {
    DataType::Int64
}
fn text_array() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

static DEFS: &[Def] = &[
    def("version", (0, 0), utf8, |_, _| Ok(text(version()))),
    def("current_database", (0, 0), utf8, |s, _| Ok(text(&s.database))),
    def("current_catalog", (0, 0), utf8, |s, _| Ok(text(&s.database))),
    def("current_schema", (0, 0), utf8, |s, _| Ok(text(&s.schema))),
    def("current_schemas", (1, 1), text_array, current_schemas),
    def("current_user", (0, 0), utf8, |s, _| Ok(text(&s.user))),
    def("session_user", (0, 0), utf8, |s, _| Ok(text(&s.user))),
    def("current_role", (0, 0), utf8, |s, _| Ok(text(&s.user))),
    def("user", (0, 0), utf8, |s, _| Ok(text(&s.user))),
    def("pg_backend_pid", (0, 0), int4, |s, _| Ok(ScalarValue::Int32(Some(s.backend_pid)))),
    def("current_setting", (1, 2), utf8, current_setting),
    def("pg_postmaster_start_time", (0, 0), timestamptz, |_, _| Ok(started())),
    def("pg_is_in_recovery", (0, 0), boolean, |_, _| Ok(yes())),
    def("format_type", (2, 2), utf8, format_type),
    def("pg_get_userbyid", (1, 1), utf8, |s, _| Ok(text(&s.user))),
    def("pg_encoding_to_char", (1, 1), utf8, encoding_name),
    def("pg_char_to_encoding", (1, 1), int4, |_, a| Ok(ScalarValue::Int32(Some(if is_utf8(&a[0]) { 6 } else { -1 })))),
    def("pg_table_is_visible", (1, 1), boolean, table_is_visible),
    def("pg_type_is_visible", (1, 1), boolean, |_, _| Ok(yes())),
    def("pg_function_is_visible", (1, 1), boolean, |_, _| Ok(yes())),
    def("obj_description", (1, 2), utf8, obj_description),
    def("col_description", (2, 2), utf8, col_description),
    def("shobj_description", (2, 2), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_get_expr", (2, 3), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_get_constraintdef", (1, 2), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_get_indexdef", (1, 3), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_get_triggerdef", (1, 2), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_get_ruledef", (1, 2), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_get_viewdef", (1, 2), utf8, view_definition),
    def("pg_get_serial_sequence", (2, 2), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_get_partkeydef", (1, 1), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_get_statisticsobjdef_columns", (1, 1), utf8, |_, _| Ok(ScalarValue::Utf8(None))),
    def("pg_relation_is_publishable", (1, 1), boolean, |_, _| Ok(ScalarValue::Boolean(Some(false)))),
    def("pg_collation_is_visible", (1, 1), boolean, |_, _| Ok(yes())),
    def("pg_stat_get_numscans", (1, 1), int8, |_, _| Ok(ScalarValue::Int64(Some(0)))),
    def("pg_get_function_result", (1, 1), utf8, function_result),
    def("pg_get_function_arguments", (1, 1), utf8, function_arguments),
    def("pg_get_function_identity_arguments", (1, 1), utf8, function_arguments),
    def("has_table_privilege", (2, 3), boolean, |_, _| Ok(yes())),
    def("has_schema_privilege", (2, 3), boolean, |_, _| Ok(yes())),
    def("has_database_privilege", (2, 3), boolean, |_, _| Ok(yes())),
    def("has_column_privilege", (3, 4), boolean, |_, _| Ok(yes())),
    def("has_any_column_privilege", (2, 3), boolean, |_, _| Ok(yes())),
    def("has_function_privilege", (2, 3), boolean, |_, _| Ok(yes())),
    def("has_sequence_privilege", (2, 3), boolean, |_, _| Ok(yes())),
    def("pg_has_role", (2, 3), boolean, |_, _| Ok(yes())),
    def("to_regclass", (1, 1), oid, |s, a| {
        Ok(lookup_relation(s, &a[0]).map_or(ScalarValue::UInt32(None), |o| ScalarValue::UInt32(Some(o))))
    }),
    def("to_regtype", (1, 1), oid, |_, a| Ok(ScalarValue::UInt32(types::by_name(&as_text(&a[0])).map(|t| t.oid)))),
    def("to_regnamespace", (1, 1), oid, |s, a| Ok(ScalarValue::UInt32(namespace_oid(s, &as_text(&a[0]))))),
    def("regclass", (1, 1), oid, regclass),
    def("regtype", (1, 1), oid, regtype),
    def("regnamespace", (1, 1), oid, regnamespace),
    def("regproc", (1, 1), oid, regproc),
    def("regclass_name", (1, 1), utf8, regclass_name),
    def("regtype_name", (1, 1), utf8, regtype_name),
    def("regnamespace_name", (1, 1), utf8, regnamespace_name),
    def("regproc_name", (1, 1), utf8, regproc_name),
    def("pg_relation_size", (1, 2), int8, |_, _| Ok(ScalarValue::Int64(None))),
    def("pg_total_relation_size", (1, 1), int8, |_, _| Ok(ScalarValue::Int64(None))),
    def("pg_table_size", (1, 1), int8, |_, _| Ok(ScalarValue::Int64(None))),
    def("pg_indexes_size", (1, 1), int8, |_, _| Ok(ScalarValue::Int64(Some(0)))),
    def("pg_size_pretty", (1, 1), utf8, size_pretty),
    def("parse_ident", (1, 2), text_array, parse_ident),
    def("quote_ident", (1, 1), utf8, |_, a| Ok(text(quote_ident(&as_text(&a[0]))))),
];

fn timestamptz() -> DataType {
    DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()))
}

/// `version()`: PostgreSQL's format (clients parse "PostgreSQL 16.0"),
/// naming glaux.
pub fn version() -> String {
    format!(
        "PostgreSQL {} (glaux {}) on {}-unknown-linux-gnu, 64-bit",
        settings::SERVER_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}

/// The session's functions, to register with DataFusion.
pub fn all(view: &SharedView) -> Vec<Arc<ScalarUDF>> {
    DEFS.iter().chain(super::builtins::DEFS).map(|d| Arc::new(ScalarUDF::from(PgFunction::new(d, view)))).collect()
}

/// Names of the functions that read the catalog snapshot.
pub fn reads_snapshot(name: &str) -> bool {
    matches!(
        name,
        "pg_table_is_visible"
            | "obj_description"
            | "col_description"
            | "pg_get_viewdef"
            | "to_regclass"
            | "regclass"
            | "regclass_name"
            | "regnamespace"
            | "regnamespace_name"
            | "to_regnamespace"
    )
}

struct PgFunction {
    def: &'static Def,
    view: SharedView,
    signature: Signature,
}

impl PgFunction {
    fn new(def: &'static Def, view: &SharedView) -> Self {
        let (min, max) = def.args;
        let forms = if max == usize::MAX {
            vec![TypeSignature::Nullary, TypeSignature::VariadicAny]
        } else {
            (min..=max).map(|n| if n == 0 { TypeSignature::Nullary } else { TypeSignature::Any(n) }).collect()
        };
        PgFunction { def, view: Arc::clone(view), signature: Signature::one_of(forms, Volatility::Stable) }
    }
}

impl std::fmt::Debug for PgFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgFunction({})", self.def.name)
    }
}

impl PartialEq for PgFunction {
    fn eq(&self, other: &Self) -> bool {
        self.def.name == other.def.name && Arc::ptr_eq(&self.view, &other.view)
    }
}

impl Eq for PgFunction {}

impl Hash for PgFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.def.name.hash(state);
    }
}

impl ScalarUDFImpl for PgFunction {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.def.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok((self.def.returns)())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let session = read(&self.view).clone();
        let returns = (self.def.returns)();
        let call = |values: &[ScalarValue]| -> Result<ScalarValue> {
            if self.def.strict && values.iter().any(ScalarValue::is_null) {
                return ScalarValue::try_from(&returns);
            }
            let value = (self.def.eval)(&session, values).map_err(Error::into_datafusion)?;
            if value.data_type() != returns && !value.is_null() {
                return value.cast_to(&returns);
            }
            if value.is_null() {
                return ScalarValue::try_from(&returns);
            }
            Ok(value)
        };
        if args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
            let values: Vec<ScalarValue> = args
                .args
                .iter()
                .map(|a| match a {
                    ColumnarValue::Scalar(s) => s.clone(),
                    ColumnarValue::Array(_) => unreachable!("checked above"),
                })
                .collect();
            return Ok(ColumnarValue::Scalar(call(&values)?));
        }
        if args.number_rows == 0 {
            return Ok(ColumnarValue::Array(datafusion::arrow::array::new_empty_array(&returns)));
        }
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut out = Vec::with_capacity(args.number_rows);
        for row in 0..args.number_rows {
            let values = arrays.iter().map(|a| ScalarValue::try_from_array(a, row)).collect::<Result<Vec<_>>>()?;
            out.push(call(&values)?);
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
    }
}

// ---- argument and result helpers ----

pub(super) fn text(s: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(s.into()))
}

fn yes() -> ScalarValue {
    ScalarValue::Boolean(Some(true))
}

/// An argument as text (numbers in their decimal form).
pub(super) fn as_text(v: &ScalarValue) -> String {
    match v {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.clone(),
        other => other.to_string(),
    }
}

/// An argument as an OID or integer, if it is a number (or numeric text).
pub(super) fn as_int(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int8(Some(n)) => Some(i64::from(*n)),
        ScalarValue::Int16(Some(n)) => Some(i64::from(*n)),
        ScalarValue::Int32(Some(n)) => Some(i64::from(*n)),
        ScalarValue::Int64(Some(n)) => Some(*n),
        ScalarValue::UInt8(Some(n)) => Some(i64::from(*n)),
        ScalarValue::UInt16(Some(n)) => Some(i64::from(*n)),
        ScalarValue::UInt32(Some(n)) => Some(i64::from(*n)),
        ScalarValue::UInt64(Some(n)) => i64::try_from(*n).ok(),
        other => as_text(other).trim().parse().ok(),
    }
}

fn as_oid(v: &ScalarValue) -> Option<u32> {
    as_int(v).and_then(|n| u32::try_from(n).ok())
}

fn is_number(v: &ScalarValue) -> bool {
    !matches!(v, ScalarValue::Utf8(_) | ScalarValue::LargeUtf8(_) | ScalarValue::Utf8View(_))
}

fn is_utf8(v: &ScalarValue) -> bool {
    matches!(as_text(v).to_ascii_uppercase().replace('-', "").as_str(), "UTF8" | "UNICODE")
}

/// A dotted, possibly quoted name (`"My Schema".t`) as its parts, unquoted
/// parts lower-cased.
fn name_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = name.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                parts.push(std::mem::take(&mut current));
                was_quoted = false;
            }
            c if quoted || was_quoted => current.push(c),
            c => current.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(current);
    parts
}

// ---- session ----

fn current_schemas(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let implicit = matches!(a[0], ScalarValue::Boolean(Some(true)));
    let mut names: Vec<ScalarValue> = Vec::new();
    if implicit {
        names.push(text("pg_catalog"));
    }
    names.push(text(&s.schema));
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(&names, &DataType::Utf8)))
}

fn current_setting(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let name = as_text(&a[0]);
    if let Some(value) = s.setting(&name) {
        return Ok(text(value));
    }
    if let Some(setting) = settings::find(&name) {
        return Ok(text(setting.default));
    }
    if a.get(1).is_some_and(|m| matches!(m, ScalarValue::Boolean(Some(true)))) {
        return Ok(ScalarValue::Utf8(None));
    }
    Err(unrecognized_setting(&name))
}

pub fn unrecognized_setting(name: &str) -> Error {
    Error::new(SqlState::UndefinedObject, format!("unrecognized configuration parameter \"{name}\""))
}

fn started() -> ScalarValue {
    use std::sync::OnceLock;
    static START: OnceLock<i64> = OnceLock::new();
    let micros = *START.get_or_init(|| chrono::Utc::now().timestamp_micros());
    ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into()))
}

/// Note the server's start (for `pg_postmaster_start_time()`).
pub fn note_start() {
    let _ = started();
}

fn encoding_name(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    Ok(text(match as_int(&a[0]) {
        Some(0) => "SQL_ASCII",
        Some(6) => "UTF8",
        _ => "",
    }))
}

// ---- types ----

fn format_type(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let Some(oid) = as_oid(&a[0]) else { return Ok(ScalarValue::Utf8(None)) };
    let typmod = as_int(&a[1]).unwrap_or(-1) as i32;
    Ok(text(types::format_type(oid, typmod)))
}

fn regtype(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    if is_number(&a[0]) {
        return Ok(ScalarValue::UInt32(as_oid(&a[0])));
    }
    let name = as_text(&a[0]);
    match types::by_name(&name) {
        Some(t) => Ok(ScalarValue::UInt32(Some(t.oid))),
        None => Err(Error::new(SqlState::UndefinedObject, format!("type \"{name}\" does not exist"))),
    }
}

fn regtype_name(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    if !is_number(&a[0]) {
        return Ok(text(as_text(&a[0])));
    }
    Ok(text(match as_oid(&a[0]) {
        Some(oid) if types::by_oid(oid).is_some() => types::format_type(oid, -1),
        Some(oid) => oid.to_string(),
        None => "-".to_string(),
    }))
}

// ---- relations and schemas ----

/// The OID a relation name resolves to: `schema.name`, or `name` in
/// pg_catalog, then the current schema (PostgreSQL's search order).
fn lookup_relation(s: &SessionView, name: &ScalarValue) -> Option<u32> {
    let snapshot = s.snapshot.as_ref()?;
    if is_number(name) {
        return as_oid(name);
    }
    let parts = name_parts(&as_text(name));
    match parts.as_slice() {
        [name] => {
            ["pg_catalog", s.schema.as_str()].iter().find_map(|schema| snapshot.find(schema, name)).map(|r| r.oid)
        }
        [schema, name] => snapshot.find(schema, name).map(|r| r.oid),
        [catalog, schema, name] if *catalog == s.database => snapshot.find(schema, name).map(|r| r.oid),
        _ => None,
    }
}

fn regclass(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    match lookup_relation(s, &a[0]) {
        Some(oid) => Ok(ScalarValue::UInt32(Some(oid))),
        None => Err(Error::new(SqlState::UndefinedTable, format!("relation \"{}\" does not exist", as_text(&a[0])))),
    }
}

fn regclass_name(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    if !is_number(&a[0]) {
        return Ok(text(as_text(&a[0])));
    }
    let oid = as_oid(&a[0]).unwrap_or(0);
    let relation = s.snapshot.as_ref().and_then(|snap| snap.relation(oid));
    Ok(text(match relation {
        Some(r) if r.schema == s.schema || r.schema == "pg_catalog" => quote_ident(&r.name),
        Some(r) => format!("{}.{}", quote_ident(&r.schema), quote_ident(&r.name)),
        None => oid.to_string(),
    }))
}

fn namespace_oid(s: &SessionView, name: &str) -> Option<u32> {
    let snapshot = s.snapshot.as_ref()?;
    let name = name_parts(name).pop()?;
    snapshot.namespaces.iter().find(|n| n.name == name).map(|n| n.oid)
}

fn regnamespace(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    if is_number(&a[0]) {
        return Ok(ScalarValue::UInt32(as_oid(&a[0])));
    }
    let name = as_text(&a[0]);
    match namespace_oid(s, &name) {
        Some(oid) => Ok(ScalarValue::UInt32(Some(oid))),
        None => Err(Error::new(SqlState::UndefinedSchema, format!("schema \"{name}\" does not exist"))),
    }
}

fn regnamespace_name(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    if !is_number(&a[0]) {
        return Ok(text(as_text(&a[0])));
    }
    let oid = as_oid(&a[0]).unwrap_or(0);
    let found = s.snapshot.as_ref().and_then(|snap| snap.namespace(oid)).map(|n| quote_ident(&n.name));
    Ok(text(found.unwrap_or_else(|| oid.to_string())))
}

fn regproc(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    if is_number(&a[0]) {
        return Ok(ScalarValue::UInt32(as_oid(&a[0])));
    }
    let name = name_parts(&as_text(&a[0])).pop().unwrap_or_default();
    match system::functions().iter().position(|p| p.name == name) {
        Some(i) => Ok(ScalarValue::UInt32(Some(super::oid::FIRST_FUNCTION + i as u32))),
        None => Err(Error::new(SqlState::UndefinedFunction, format!("function \"{name}\" does not exist"))),
    }
}

fn function(a: &ScalarValue) -> Option<&'static system::Proc> {
    let index = as_oid(a)?.checked_sub(super::oid::FIRST_FUNCTION)? as usize;
    system::functions().get(index)
}

fn regproc_name(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    if !is_number(&a[0]) {
        return Ok(text(as_text(&a[0])));
    }
    Ok(text(match function(&a[0]) {
        Some(p) => p.name.clone(),
        None if as_oid(&a[0]) == Some(0) => "-".to_string(),
        None => as_text(&a[0]),
    }))
}

fn function_result(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    Ok(match function(&a[0]) {
        Some(p) if p.returns_set => text(format!("SETOF {}", types::format_type(p.result, -1))),
        Some(p) => text(types::format_type(p.result, -1)),
        None => ScalarValue::Utf8(None),
    })
}

fn function_arguments(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    Ok(match function(&a[0]) {
        Some(p) => text(p.args.iter().map(|t| types::format_type(*t, -1)).collect::<Vec<_>>().join(", ")),
        None => ScalarValue::Utf8(None),
    })
}

fn table_is_visible(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let oid = as_oid(&a[0]).unwrap_or(0);
    let relation = s.snapshot.as_ref().and_then(|snap| snap.relation(oid));
    Ok(match relation {
        Some(r) => ScalarValue::Boolean(Some(r.schema == s.schema || r.schema == "pg_catalog")),
        None => ScalarValue::Boolean(None),
    })
}

fn obj_description(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let Some(snapshot) = s.snapshot.as_ref() else { return Ok(ScalarValue::Utf8(None)) };
    let oid = as_oid(&a[0]).unwrap_or(0);
    let catalog = a.get(1).map(as_text);
    let comment = match catalog.as_deref() {
        Some("pg_namespace") => snapshot.namespace(oid).and_then(|n| n.comment.clone()),
        Some("pg_class") | None => snapshot.relation(oid).and_then(|r| r.comment.clone()),
        _ => None,
    };
    Ok(ScalarValue::Utf8(comment))
}

fn col_description(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let Some(snapshot) = s.snapshot.as_ref() else { return Ok(ScalarValue::Utf8(None)) };
    let relation = snapshot.relation(as_oid(&a[0]).unwrap_or(0));
    let column = as_int(&a[1]).and_then(|n| usize::try_from(n - 1).ok());
    let comment = relation.zip(column).and_then(|(r, i)| r.columns.get(i)).and_then(|c| c.comment.clone());
    Ok(ScalarValue::Utf8(comment))
}

fn view_definition(s: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let oid = lookup_relation(s, &a[0]);
    let relation = s.snapshot.as_ref().zip(oid).and_then(|(snap, oid)| snap.relation(oid));
    Ok(ScalarValue::Utf8(relation.and_then(|r| r.definition.clone())))
}

// ---- text ----

/// An identifier, double-quoted when PostgreSQL would quote it.
pub fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn parse_ident(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let parts: Vec<ScalarValue> = name_parts(&as_text(&a[0])).into_iter().map(text).collect();
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(&parts, &DataType::Utf8)))
}

fn size_pretty(_: &SessionView, a: &[ScalarValue]) -> std::result::Result<ScalarValue, Error> {
    let mut size = as_int(&a[0]).unwrap_or(0) as f64;
    for unit in ["bytes", "kB", "MB", "GB", "TB"] {
        if size.abs() < 10240.0 || unit == "TB" {
            return Ok(text(format!("{} {unit}", size.round() as i64)));
        }
        size /= 1024.0;
    }
    unreachable!("the loop returns at TB")
}
