//! Errors and SQLSTATE codes.
//!
//! Owns [`Error`], the one error type of the glaux library and its
//! connectors, and [`SqlState`],
//! the closed list of codes glaux sends to clients. `Error::sqlstate` is an
//! exhaustive match, so every error has exactly one code, and DataFusion's
//! errors are classified in [`classify_datafusion`]. glaux errors that cross a
//! DataFusion stream travel as `DataFusionError::External` and are recovered
//! with `find_root()` plus a downcast.
//!
//! Depends on nothing in glaux (glaux depends on this crate), and on no
//! store's types: a store's error travels boxed in [`Error::Store`].

use datafusion::error::DataFusionError;
use std::fmt;

/// The SQLSTATE codes glaux emits (see docs/sqlstate.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlState {
    SyntaxError,
    UndefinedTable,
    UndefinedSchema,
    UndefinedColumn,
    UndefinedObject,
    UndefinedDatabase,
    DuplicateTable,
    DuplicateSchema,
    DuplicateObject,
    DependentObjectsStillExist,
    WrongObjectType,
    InvalidName,
    DatatypeMismatch,
    PlanningError,
    FeatureNotSupported,
    InvalidParameterValue,
    NullValueNotAllowed,
    InvalidEscapeSequence,
    InvalidTextRepresentation,
    InvalidBinaryRepresentation,
    NumericValueOutOfRange,
    DivisionByZero,
    InvalidDatetimeFormat,
    BadCopyFileFormat,
    ProtocolViolation,
    ProgramLimitExceeded,
    OutOfMemory,
    ResourceLimit,
    InsufficientPrivilege,
    IoError,
    DataCorrupted,
    QueryCanceled,
    InvalidPassword,
    /// A connector cannot reach its source (HV00N).
    FdwUnableToEstablishConnection,
    /// Any other failure of a connector's source (HV000).
    FdwError,
    /// 55000: the object is not in a state the statement needs.
    ObjectNotInPrerequisiteState,
    ConfigFileError,
    UndefinedFunction,
    InFailedTransaction,
    InvalidTransactionState,
    InvalidCursorName,
    DuplicateCursor,
    InvalidStatementName,
    DuplicatePreparedStatement,
    CantChangeRuntimeParam,
    TooManyConnections,
    InvalidAuthorization,
    CardinalityViolation,
    CharacterNotInRepertoire,
    StatementTooComplex,
    UndefinedParameter,
    InvalidRegularExpression,
    DatetimeFieldOverflow,
    SubstringError,
    InvalidArgumentForNtile,
    IdleSessionTimeout,
    SerializationFailure,
    NotNullViolation,
    InternalError,
}

impl SqlState {
    /// Every code, for looking one up by its text.
    pub const ALL: [SqlState; 59] = [
        SqlState::SyntaxError,
        SqlState::UndefinedTable,
        SqlState::UndefinedSchema,
        SqlState::UndefinedColumn,
        SqlState::UndefinedObject,
        SqlState::UndefinedDatabase,
        SqlState::DuplicateTable,
        SqlState::DuplicateSchema,
        SqlState::DuplicateObject,
        SqlState::DependentObjectsStillExist,
        SqlState::WrongObjectType,
        SqlState::InvalidName,
        SqlState::DatatypeMismatch,
        SqlState::PlanningError,
        SqlState::FeatureNotSupported,
        SqlState::InvalidParameterValue,
        SqlState::NullValueNotAllowed,
        SqlState::InvalidEscapeSequence,
        SqlState::InvalidTextRepresentation,
        SqlState::InvalidBinaryRepresentation,
        SqlState::NumericValueOutOfRange,
        SqlState::DivisionByZero,
        SqlState::InvalidDatetimeFormat,
        SqlState::BadCopyFileFormat,
        SqlState::ProtocolViolation,
        SqlState::ProgramLimitExceeded,
        SqlState::OutOfMemory,
        SqlState::ResourceLimit,
        SqlState::InsufficientPrivilege,
        SqlState::IoError,
        SqlState::DataCorrupted,
        SqlState::QueryCanceled,
        SqlState::InvalidPassword,
        SqlState::FdwUnableToEstablishConnection,
        SqlState::FdwError,
        SqlState::ObjectNotInPrerequisiteState,
        SqlState::ConfigFileError,
        SqlState::UndefinedFunction,
        SqlState::InFailedTransaction,
        SqlState::InvalidTransactionState,
        SqlState::InvalidCursorName,
        SqlState::DuplicateCursor,
        SqlState::InvalidStatementName,
        SqlState::DuplicatePreparedStatement,
        SqlState::CantChangeRuntimeParam,
        SqlState::TooManyConnections,
        SqlState::InvalidAuthorization,
        SqlState::CardinalityViolation,
        SqlState::CharacterNotInRepertoire,
        SqlState::StatementTooComplex,
        SqlState::UndefinedParameter,
        SqlState::InvalidRegularExpression,
        SqlState::DatetimeFieldOverflow,
        SqlState::SubstringError,
        SqlState::InvalidArgumentForNtile,
        SqlState::IdleSessionTimeout,
        SqlState::SerializationFailure,
        SqlState::NotNullViolation,
        SqlState::InternalError,
    ];

    /// The state with this code (codes glaux does not emit map to XX000).
    pub fn from_code(code: &str) -> SqlState {
        SqlState::ALL.into_iter().find(|s| s.code() == code).unwrap_or(SqlState::InternalError)
    }

    /// The five-character code.
    pub fn code(self) -> &'static str {
        match self {
            SqlState::SyntaxError => "42601",
            SqlState::UndefinedTable => "42P01",
            SqlState::UndefinedSchema => "3F000",
            SqlState::UndefinedColumn => "42703",
            SqlState::UndefinedObject => "42704",
            SqlState::UndefinedDatabase => "3D000",
            SqlState::DuplicateTable => "42P07",
            SqlState::DuplicateSchema => "42P06",
            SqlState::DuplicateObject => "42710",
            SqlState::DependentObjectsStillExist => "2BP01",
            SqlState::WrongObjectType => "42809",
            SqlState::InvalidName => "42602",
            SqlState::DatatypeMismatch => "42804",
            SqlState::PlanningError => "42000",
            SqlState::FeatureNotSupported => "0A000",
            SqlState::InvalidParameterValue => "22023",
            SqlState::NullValueNotAllowed => "22004",
            SqlState::InvalidEscapeSequence => "22025",
            SqlState::InvalidTextRepresentation => "22P02",
            SqlState::InvalidBinaryRepresentation => "22P03",
            SqlState::NumericValueOutOfRange => "22003",
            SqlState::DivisionByZero => "22012",
            SqlState::InvalidDatetimeFormat => "22007",
            SqlState::BadCopyFileFormat => "22P04",
            SqlState::ProtocolViolation => "08P01",
            SqlState::ProgramLimitExceeded => "54000",
            SqlState::OutOfMemory => "53200",
            SqlState::ResourceLimit => "53400",
            SqlState::InsufficientPrivilege => "42501",
            SqlState::IoError => "58030",
            SqlState::DataCorrupted => "XX001",
            SqlState::QueryCanceled => "57014",
            SqlState::InvalidPassword => "28P01",
            SqlState::FdwUnableToEstablishConnection => "HV00N",
            SqlState::FdwError => "HV000",
            SqlState::ObjectNotInPrerequisiteState => "55000",
            SqlState::ConfigFileError => "F0000",
            SqlState::UndefinedFunction => "42883",
            SqlState::InFailedTransaction => "25P02",
            SqlState::InvalidTransactionState => "25000",
            SqlState::InvalidCursorName => "34000",
            SqlState::DuplicateCursor => "42P03",
            SqlState::InvalidStatementName => "26000",
            SqlState::DuplicatePreparedStatement => "42P05",
            SqlState::CantChangeRuntimeParam => "55P02",
            SqlState::TooManyConnections => "53300",
            SqlState::InvalidAuthorization => "28000",
            SqlState::CardinalityViolation => "21000",
            SqlState::CharacterNotInRepertoire => "22021",
            SqlState::StatementTooComplex => "54001",
            SqlState::UndefinedParameter => "42P02",
            SqlState::InvalidRegularExpression => "2201B",
            SqlState::DatetimeFieldOverflow => "22008",
            SqlState::SubstringError => "22011",
            SqlState::InvalidArgumentForNtile => "22014",
            SqlState::IdleSessionTimeout => "57P05",
            SqlState::SerializationFailure => "40001",
            SqlState::NotNullViolation => "23502",
            SqlState::InternalError => "XX000",
        }
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error with the SQLSTATE a client should see.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A user-facing error with a known code.
    #[error("{message}")]
    Sql {
        state: SqlState,
        message: String,
        /// 1-based character position in the statement, for syntax errors.
        position: Option<usize>,
        hint: Option<String>,
    },
    /// An error raised inside DataFusion (classified on demand).
    #[error("{}", datafusion_message(.0))]
    DataFusion(#[from] DataFusionError),
    /// The embedded catalog or ledger store failed (its own error inside).
    #[error("catalog store: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(state: SqlState, message: impl Into<String>) -> Self {
        Error::Sql { state, message: message.into(), position: None, hint: None }
    }

    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        match self {
            Error::Sql { state, message, position, .. } => {
                Error::Sql { state, message, position, hint: Some(hint.into()) }
            }
            other => other,
        }
    }

    pub fn not_supported(what: impl fmt::Display) -> Self {
        Error::new(SqlState::FeatureNotSupported, format!("{what} is not supported"))
    }

    pub fn syntax(message: impl Into<String>, position: Option<usize>) -> Self {
        Error::Sql { state: SqlState::SyntaxError, message: message.into(), position, hint: None }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(SqlState::InternalError, message)
    }

    /// The SQLSTATE a client should see.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            Error::Sql { state, .. } => *state,
            Error::DataFusion(e) => classify_datafusion(e),
            Error::Store(_) => SqlState::IoError,
            Error::Io(_) => SqlState::IoError,
        }
    }

    pub fn position(&self) -> Option<usize> {
        match self {
            Error::Sql { position, .. } => *position,
            Error::DataFusion(e) => match unwrap_glaux(e) {
                Some(Error::Sql { position, .. }) => *position,
                _ => None,
            },
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Sql { hint, .. } => hint.as_deref(),
            Error::DataFusion(e) => match unwrap_glaux(e) {
                Some(Error::Sql { hint, .. }) => hint.as_deref(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Wrap for travel through DataFusion (inside a TableProvider or stream).
    pub fn into_datafusion(self) -> DataFusionError {
        match self {
            Error::DataFusion(e) => e,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

/// Whether `e` carries a glaux error (one glaux raised itself, such as a
/// workgroup's cutoff inside an object store), rather than DataFusion's own.
pub fn carries_glaux_error(e: &DataFusionError) -> bool {
    unwrap_glaux(e).is_some()
}

/// A glaux error carried inside a DataFusion error, if there is one.
fn unwrap_glaux(e: &DataFusionError) -> Option<&Error> {
    if let DataFusionError::External(inner) = e.find_root() {
        if let Some(found) = inner.downcast_ref::<Error>() {
            return Some(found);
        }
    }
    // A glaux error raised inside an object store (a workgroup's scan
    // cutoff) arrives wrapped in the store's, Parquet's or Arrow's error.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e.find_root());
    while let Some(c) = cause {
        if let Some(found) = c.downcast_ref::<Error>() {
            return Some(found);
        }
        cause = c.source();
    }
    None
}

/// The message of a DataFusion error, as a client sees it: without
/// DataFusion's internal prefixes ("Error during planning: ", "External
/// error: " and friends), a glaux error it carries as itself.
pub fn datafusion_message(e: &DataFusionError) -> String {
    if let Some(inner) = unwrap_glaux(e) {
        return inner.to_string();
    }
    let root = e.find_root();
    let text = match root {
        DataFusionError::ArrowError(inner, _) => inner.to_string(),
        DataFusionError::ParquetError(inner) => format!("reading Parquet: {inner}"),
        DataFusionError::ObjectStore(inner) => format!("storage: {inner}"),
        DataFusionError::IoError(inner) => format!("storage: {inner}"),
        DataFusionError::SQL(inner, _) => inner.to_string(),
        DataFusionError::Plan(m)
        | DataFusionError::Configuration(m)
        | DataFusionError::NotImplemented(m)
        | DataFusionError::Execution(m)
        | DataFusionError::ResourcesExhausted(m)
        | DataFusionError::Substrait(m) => m.clone(),
        DataFusionError::SchemaError(inner, _) => inner.to_string(),
        other => other.strip_backtrace(),
    };
    tidy_message(&text)
}

/// Remove nested "Foo error: " prefixes arrow and DataFusion stack up.
fn tidy_message(text: &str) -> String {
    const PREFIXES: [&str; 10] = [
        "Csv error: ",
        "Json error: ",
        "Error during planning: ",
        "Execution error: ",
        "Arrow error: ",
        "External error: ",
        "Parser error: ",
        "Invalid argument error: ",
        "This feature is not implemented: ",
        "sql parser error: ",
    ];
    let mut s = text.trim();
    loop {
        let before = s;
        for p in PREFIXES {
            if let Some(rest) = s.strip_prefix(p) {
                s = rest;
            }
        }
        if s == before {
            break;
        }
    }
    s.to_string()
}

/// The SQLSTATE for an error raised by DataFusion, arrow, parquet or storage.
pub fn classify_datafusion(e: &DataFusionError) -> SqlState {
    use datafusion::arrow::error::ArrowError;
    if let Some(inner) = unwrap_glaux(e) {
        return inner.sqlstate();
    }
    let root = e.find_root();
    match root {
        DataFusionError::SQL(_, _) => SqlState::SyntaxError,
        DataFusionError::SchemaError(inner, _) => classify_schema_error(inner),
        DataFusionError::NotImplemented(_) => SqlState::FeatureNotSupported,
        DataFusionError::Plan(m) => classify_plan_message(m),
        DataFusionError::Configuration(_) => SqlState::InvalidParameterValue,
        DataFusionError::ResourcesExhausted(_) => SqlState::OutOfMemory,
        DataFusionError::ParquetError(_) => SqlState::DataCorrupted,
        DataFusionError::ObjectStore(inner) => classify_object_store(inner),
        DataFusionError::IoError(_) => SqlState::IoError,
        DataFusionError::ArrowError(inner, _) => match inner.as_ref() {
            ArrowError::DivideByZero => SqlState::DivisionByZero,
            ArrowError::CastError(_) => SqlState::InvalidTextRepresentation,
            ArrowError::ParseError(_) => SqlState::InvalidTextRepresentation,
            ArrowError::ComputeError(m) if m.contains("Overflow") || m.contains("overflow") => {
                SqlState::NumericValueOutOfRange
            }
            ArrowError::CsvError(_) | ArrowError::JsonError(_) => SqlState::BadCopyFileFormat,
            ArrowError::ParquetError(_) | ArrowError::IpcError(_) => SqlState::DataCorrupted,
            ArrowError::IoError(_, _) => SqlState::IoError,
            ArrowError::InvalidArgumentError(_) => SqlState::InvalidParameterValue,
            ArrowError::ArithmeticOverflow(_) => SqlState::NumericValueOutOfRange,
            ArrowError::MemoryError(_) => SqlState::OutOfMemory,
            ArrowError::ExternalError(inner) => match inner.downcast_ref::<Error>() {
                Some(e) => e.sqlstate(),
                None => SqlState::IoError,
            },
            _ => SqlState::InternalError,
        },
        DataFusionError::Execution(m) => classify_execution_message(m),
        DataFusionError::External(inner) if inner.is::<std::io::Error>() || inner.is::<object_store::Error>() => {
            SqlState::IoError
        }
        // A pattern that does not compile (`x ~ '('`, regexp_* functions).
        DataFusionError::External(inner) if inner.is::<regex::Error>() || inner.is::<regex_syntax::Error>() => {
            SqlState::InvalidRegularExpression
        }
        _ => SqlState::InternalError,
    }
}

fn classify_schema_error(e: &datafusion::common::SchemaError) -> SqlState {
    use datafusion::common::SchemaError;
    match e {
        SchemaError::FieldNotFound { .. } => SqlState::UndefinedColumn,
        SchemaError::AmbiguousReference { .. } => SqlState::PlanningError,
        SchemaError::DuplicateQualifiedField { .. } | SchemaError::DuplicateUnqualifiedField { .. } => {
            SqlState::DuplicateObject
        }
    }
}

fn classify_plan_message(m: &str) -> SqlState {
    let lower = m.to_ascii_lowercase();
    if lower.contains("invalid function") || (lower.contains("table function") && lower.contains("not found")) {
        SqlState::UndefinedFunction
    } else if lower.contains("table") && lower.contains("not found") {
        SqlState::UndefinedTable
    } else if lower.contains("schema") && lower.contains("not found") {
        SqlState::UndefinedSchema
    } else if lower.contains("cannot be cast") || lower.contains("no function matches") {
        SqlState::DatatypeMismatch
    } else if lower.contains("unsupported") || lower.contains("not supported") {
        SqlState::FeatureNotSupported
    } else {
        SqlState::PlanningError
    }
}

fn classify_execution_message(m: &str) -> SqlState {
    let lower = m.to_ascii_lowercase();
    if lower.contains("divide by zero") || lower.contains("division by zero") {
        SqlState::DivisionByZero
    } else if lower.contains("cannot cast") || lower.contains("cast error") {
        SqlState::InvalidTextRepresentation
    } else if lower.contains("cannot access field") {
        // `(x).field` on a value that has no fields.
        SqlState::DatatypeMismatch
    } else if lower.contains("parquet") || lower.contains("orc") || lower.contains("corrupt") {
        SqlState::DataCorrupted
    } else if lower.contains("csv") || lower.contains("json") {
        SqlState::BadCopyFileFormat
    } else {
        SqlState::InternalError
    }
}

fn classify_object_store(e: &object_store::Error) -> SqlState {
    match e {
        object_store::Error::NotFound { .. } => SqlState::IoError,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            SqlState::InsufficientPrivilege
        }
        _ => SqlState::IoError,
    }
}
