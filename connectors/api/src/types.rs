//! How glaux marks Arrow fields holding PostgreSQL types Arrow has no
//! type of its own for: a field's metadata under [`EXTENSION_KEY`] names
//! the type (Arrow's canonical extension names), so a connector's uuid
//! and json columns reach clients as uuid and json. A text column's
//! declared `varchar(n)` or `char(n)` is kept under
//! [`DECLARED_TYPE_KEY`].

/// The metadata key of an Arrow extension type's name.
pub const EXTENSION_KEY: &str = "ARROW:extension:name";
/// uuid: FixedSizeBinary(16).
pub const UUID_EXTENSION: &str = "arrow.uuid";
/// json: a string type.
pub const JSON_EXTENSION: &str = "arrow.json";
/// The metadata key of a string field's declared `varchar(n)` or
/// `char(n)` (glaux's catalogs keep Hive's declared types under it too).
pub const DECLARED_TYPE_KEY: &str = "glaux.hive_type";
