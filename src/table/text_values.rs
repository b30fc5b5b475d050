//! A LazySimpleSerDe table's values, checked in the file they come from.
//!
//! Such a table's files are read as text columns, and each value is cast
//! to its column's type above the scan (`table::with_null_marker`), where
//! no file is known: a value that will not cast (`n/a` in an `int`
//! column) would fail without saying in which of the table's files it is.
//! The table's file format (`named_errors::NamedFormat` with `checks`)
//! wraps each file's opener ([`Checking`]) so that every batch a file
//! yields is cast, once, in that file's scan: a value that will not
//! cast fails there, with arrow's own error and the column's name, and
//! `named_errors` adds the file. The cast above the scan then cannot fail.

use super::named_errors::OpenerWrap;
use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::compute::{cast_with_options, nullif, CastOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::physical_plan::{FileOpenFuture, FileOpener, FileScanConfig};
use futures::{FutureExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;

/// What the values of a text table must cast to.
#[derive(Debug)]
pub struct Targets {
    /// Column name -> its type, for the columns that are not text.
    types: HashMap<String, DataType>,
    /// The text that stands for NULL (`\N`).
    marker: String,
}

impl Targets {
    /// The checks for a table whose columns are `schema`.
    pub fn new(schema: &SchemaRef, marker: &str) -> Arc<Targets> {
        let types = schema
            .fields()
            .iter()
            .filter(|f| f.data_type() != &DataType::Utf8 && !f.data_type().is_nested())
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        Arc::new(Targets { types, marker: marker.to_string() })
    }

    /// Fail if a value of `batch` will not cast to its column's type.
    fn check(&self, batch: &RecordBatch) -> Result<()> {
        let marker = StringArray::new_scalar(self.marker.as_str());
        let options = CastOptions { safe: false, ..Default::default() };
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let Some(target) = self.types.get(field.name()) else { continue };
            if column.data_type() != &DataType::Utf8 || column.null_count() == column.len() {
                continue;
            }
            let values = nullif(column, &eq(column, &marker)?)?;
            cast_with_options(&values, target, &options).map_err(|e| match e {
                ArrowError::CastError(m) => ArrowError::CastError(format!("{m} in column {}", field.name())).into(),
                other => DataFusionError::from(other),
            })?;
        }
        Ok(())
    }
}

/// Wraps a text table's file openers to check their values.
#[derive(Clone)]
pub struct Checking(pub Arc<Targets>);

impl OpenerWrap for Checking {
    fn wrap(&self, inner: Arc<dyn FileOpener>, _config: &FileScanConfig) -> Arc<dyn FileOpener> {
        Arc::new(CheckedOpener { inner, targets: Arc::clone(&self.0) })
    }
}

struct CheckedOpener {
    inner: Arc<dyn FileOpener>,
    targets: Arc<Targets>,
}

impl FileOpener for CheckedOpener {
    fn open(&self, file: datafusion::datasource::listing::PartitionedFile) -> Result<FileOpenFuture> {
        let opening = self.inner.open(file)?;
        let targets = Arc::clone(&self.targets);
        Ok(async move {
            let batches = opening.await?;
            let checked = batches.map(move |batch| {
                let batch = batch?;
                targets.check(&batch)?;
                Ok(batch)
            });
            Ok(Box::pin(checked) as _)
        }
        .boxed())
    }
}
