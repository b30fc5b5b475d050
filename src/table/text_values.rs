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
use datafusion::physical_expr::expressions::Column as ColumnExpr;
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

    /// Fail if a value of `batch` will not cast to its column's type;
    /// `sources` names the file column of each of the batch's columns
    /// (None: the batch's own names).
    fn check(&self, batch: &RecordBatch, sources: &Option<Vec<Option<String>>>) -> Result<()> {
        let marker = StringArray::new_scalar(self.marker.as_str());
        let options = CastOptions { safe: false, ..Default::default() };
        for (i, column) in batch.columns().iter().enumerate() {
            let name = match sources {
                Some(names) => names.get(i).cloned().flatten(),
                None => Some(batch.schema().field(i).name().clone()),
            };
            let Some(name) = name else { continue };
            let Some(target) = self.types.get(&name) else { continue };
            if column.data_type() != &DataType::Utf8 || column.null_count() == column.len() {
                continue;
            }
            let values = nullif(column, &eq(column, &marker)?)?;
            cast_with_options(&values, target, &options).map_err(|e| match e {
                ArrowError::CastError(m) => ArrowError::CastError(format!("{m} in column {name}")).into(),
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
    fn wrap(&self, inner: Arc<dyn FileOpener>, config: &FileScanConfig) -> Arc<dyn FileOpener> {
        // With a projection pushed into the scan, a batch's columns are its
        // expressions: only a bare column is a file column, whatever its
        // alias (other expressions raise their own errors in the scan).
        let sources = config.file_source.projection().map(|projection| {
            projection
                .iter()
                .map(|p| p.expr.as_any().downcast_ref::<ColumnExpr>().map(|c| c.name().to_string()))
                .collect()
        });
        Arc::new(CheckedOpener { inner, targets: Arc::clone(&self.0), sources: Arc::new(sources) })
    }
}

struct CheckedOpener {
    inner: Arc<dyn FileOpener>,
    targets: Arc<Targets>,
    /// The file column of each output column, under a pushed projection.
    sources: Arc<Option<Vec<Option<String>>>>,
}

impl FileOpener for CheckedOpener {
    fn open(&self, file: datafusion::datasource::listing::PartitionedFile) -> Result<FileOpenFuture> {
        let opening = self.inner.open(file)?;
        let (targets, sources) = (Arc::clone(&self.targets), Arc::clone(&self.sources));
        Ok(async move {
            let batches = opening.await?;
            let checked = batches.map(move |batch| {
                let batch = batch?;
                targets.check(&batch, &sources)?;
                Ok(batch)
            });
            Ok(Box::pin(checked) as _)
        }
        .boxed())
    }
}
