//! Functions glaux adds to DataFusion's: the conversions behind the
//! Postgres types DataFusion has no SQL type for. `CAST(x AS uuid)` /
//! `x::uuid` become `uuid_in(x)` and `x::json` becomes `json_in(x)`
//! ([`super::rewrite`]); their results carry the Arrow extension name
//! (`arrow.uuid`, `arrow.json`) that makes them `uuid` and `json` on the wire.

use crate::error::{Error, SqlState};
use crate::pgtypes::{JSON_EXTENSION, UUID_EXTENSION};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, FixedSizeBinaryBuilder, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// DataFusion's scalar functions and glaux's.
pub fn all_with(mut defaults: Vec<Arc<ScalarUDF>>) -> Vec<Arc<ScalarUDF>> {
    defaults.push(Arc::new(ScalarUDF::from(TypeInput::new(PgInput::Uuid))));
    defaults.push(Arc::new(ScalarUDF::from(TypeInput::new(PgInput::Json))));
    defaults
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PgInput {
    Uuid,
    Json,
}

/// A Postgres type's input function: text in, a value of the type out;
/// text that is not a valid value is 22P02.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TypeInput {
    input: PgInput,
    signature: Signature,
}

impl TypeInput {
    fn new(input: PgInput) -> Self {
        TypeInput { input, signature: Signature::any(1, Volatility::Immutable) }
    }

    fn type_name(&self) -> &'static str {
        match self.input {
            PgInput::Uuid => "uuid",
            PgInput::Json => "json",
        }
    }

    fn invalid(&self, text: &str) -> datafusion::error::DataFusionError {
        Error::new(
            SqlState::InvalidTextRepresentation,
            format!("invalid input syntax for type {}: \"{text}\"", self.type_name()),
        )
        .into_datafusion()
    }

    fn convert(&self, input: &ArrayRef) -> Result<ArrayRef> {
        if matches!((self.input, input.data_type()), (PgInput::Uuid, DataType::FixedSizeBinary(16))) {
            return Ok(Arc::clone(input));
        }
        let text = cast(input, &DataType::Utf8)?;
        let text: &StringArray = text.as_string::<i32>();
        match self.input {
            PgInput::Json => {
                for value in text.iter().flatten() {
                    if serde_json::from_str::<serde::de::IgnoredAny>(value).is_err() {
                        return Err(self.invalid(value));
                    }
                }
                Ok(Arc::new(text.clone()))
            }
            PgInput::Uuid => {
                let mut out = FixedSizeBinaryBuilder::with_capacity(text.len(), 16);
                for value in text.iter() {
                    match value {
                        None => out.append_null(),
                        Some(v) => out.append_value(parse_uuid(v).ok_or_else(|| self.invalid(v))?)?,
                    }
                }
                Ok(Arc::new(out.finish()))
            }
        }
    }
}

/// A uuid in any of the forms PostgreSQL accepts: hex digits with optional
/// hyphens after any group of four, optionally in braces.
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let inner = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
    let digits: Vec<u8> = inner.bytes().filter(|b| *b != b'-').collect();
    if digits.len() != 32 || inner.starts_with('-') || inner.ends_with('-') || inner.contains("--") {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

impl ScalarUDFImpl for TypeInput {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        match self.input {
            PgInput::Uuid => "uuid_in",
            PgInput::Json => "json_in",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.input {
            PgInput::Uuid => DataType::FixedSizeBinary(16),
            PgInput::Json => DataType::Utf8,
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let extension = match self.input {
            PgInput::Uuid => UUID_EXTENSION,
            PgInput::Json => JSON_EXTENSION,
        };
        let metadata = HashMap::from([("ARROW:extension:name".to_string(), extension.to_string())]);
        let nullable = args.arg_fields.iter().any(|f| f.is_nullable());
        Ok(Arc::new(Field::new(self.name(), self.return_type(&[])?, nullable).with_metadata(metadata)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return Err(Error::internal(format!("{} takes one argument", self.name())).into_datafusion());
        };
        match arg {
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(self.convert(a)?)),
            ColumnarValue::Scalar(s) => {
                let out = self.convert(&s.to_array()?)?;
                Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&out, 0)?))
            }
        }
    }
}
