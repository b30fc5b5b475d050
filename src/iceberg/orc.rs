//! ORC data files in Iceberg tables (a converted Hive ORC table's files,
//! or another engine's): iceberg-rust's Arrow reader reads only Parquet,
//! so [`read`] sends each ORC file to orc-rust instead and gives its rows
//! as that reader gives a Parquet file's:
//!
//! - the columns asked for (`project_field_ids`), in that order and in
//!   the table's Arrow types (the file's types are cast, as Iceberg's
//!   type promotion allows);
//! - a column is found in the file by name, in any case: the names the
//!   table's name mapping gives its field id (`schema.name-mapping.default`,
//!   as a converted table has), else the field's own name. orc-rust does
//!   not expose the `iceberg.id` attributes Iceberg's ORC writers add, so
//!   a column renamed after such a file was written reads as NULL there;
//! - an identity-partitioned column is the file's partition value when
//!   the task carries its spec and the value is not NULL (a Hive file
//!   holds no partition column), as iceberg-rust's reader takes it; a
//!   column otherwise missing from the file is NULL;
//! - the rows its position-delete files delete are left out (an empty
//!   `deletes` list, as `row_level::read_whole` passes, reads every row in
//!   file order). Equality deletes on an ORC file are refused (0A000).
//!
//! The task's predicate is not applied here: scans tell DataFusion their
//! filters are inexact, so it filters the rows again.

use super::row_level::DeletedPositions;
use bytes::Bytes;
use datafusion::arrow::array::{new_null_array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use iceberg::arrow::ArrowReader;
use iceberg::io::{FileIO, FileRead};
use iceberg::scan::{ArrowRecordBatchStream, FileScanTask};
use iceberg::spec::{DataContentType, DataFileFormat, PrimitiveLiteral, PrimitiveType, Transform, Type};
use iceberg::{Error, ErrorKind};
use orc_rust::projection::ProjectionMask;
use orc_rust::reader::AsyncChunkReader;
use std::sync::Arc;

/// Rows per ORC batch where no session chooses (DataFusion's default).
pub(super) const BATCH_ROWS: usize = 8192;

/// The rows of `tasks`: Parquet files through `reader`, ORC files here.
pub(super) fn read(
    reader: ArrowReader,
    file_io: &FileIO,
    tasks: Vec<FileScanTask>,
    batch_size: usize,
) -> iceberg::Result<ArrowRecordBatchStream> {
    let (orc, parquet): (Vec<FileScanTask>, Vec<FileScanTask>) =
        tasks.into_iter().partition(|t| t.data_file_format == DataFileFormat::Orc);
    if let Some(other) = parquet.iter().find(|t| t.data_file_format != DataFileFormat::Parquet) {
        return Err(Error::new(
            ErrorKind::FeatureUnsupported,
            format!(
                "data file {} is {:?}: glaux reads Iceberg data files in Parquet and ORC",
                other.data_file_path, other.data_file_format
            ),
        ));
    }
    let parquet = if parquet.is_empty() {
        futures::stream::empty().boxed()
    } else {
        reader.read(futures::stream::iter(parquet.into_iter().map(Ok)).boxed())?.stream()
    };
    if orc.is_empty() {
        return Ok(parquet);
    }
    let file_io = file_io.clone();
    let deleted = Arc::new(tokio::sync::Mutex::new(DeletedPositions::default()));
    let orc = futures::stream::iter(orc)
        .then(move |task| open(file_io.clone(), task, batch_size, Arc::clone(&deleted)))
        .try_flatten();
    Ok(parquet.chain(orc).boxed())
}

/// Where a column read comes from.
enum Source {
    /// The file's column of this name.
    File(String),
    /// The file's partition value.
    Constant(ScalarValue),
    Null,
}

/// The rows of one ORC file, its position deletes applied.
async fn open(
    file_io: FileIO,
    task: FileScanTask,
    batch_size: usize,
    deleted: Arc<tokio::sync::Mutex<DeletedPositions>>,
) -> iceberg::Result<ArrowRecordBatchStream> {
    let path = task.data_file_path.clone();
    if task.deletes.iter().any(|d| d.file_type == DataContentType::EqualityDeletes) {
        return Err(Error::new(
            ErrorKind::FeatureUnsupported,
            format!("ORC data file {path} has equality deletes, which glaux applies to Parquet data files only"),
        ));
    }
    let gone = deleted.lock().await.of(&file_io, &task).await?;
    let unreadable = move |path: &str, e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::DataInvalid, format!("ORC data file {path} is unreadable: {e}"))
    };
    let input = file_io.new_input(&path)?;
    let file = FileReader { read: input.reader().await?, len: task.file_size_in_bytes };
    let builder = orc_rust::ArrowReaderBuilder::try_new_async(file).await.map_err(|e| unreadable(&path, &e))?;
    let file_columns: Vec<String> =
        builder.file_metadata().root_data_type().children().iter().map(|c| c.name().to_string()).collect();

    let mut fields = Vec::new();
    let mut sources = Vec::new();
    for id in &task.project_field_ids {
        let field = task
            .schema
            .field_by_id(*id)
            .ok_or_else(|| Error::new(ErrorKind::DataInvalid, format!("field {id} is not in the schema of {path}")))?;
        let data_type = iceberg::arrow::type_to_arrow_type(&field.field_type)?;
        fields.push(Field::new(field.name.clone(), data_type.clone(), true));
        let names = names_of(&task, *id, &field.name);
        let column = file_columns.iter().find(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)));
        sources.push(match (partition_value(&task, *id, &field.field_type), column) {
            (Some(value), _) => Source::Constant(value),
            (None, Some(c)) => Source::File(c.clone()),
            (None, None) => Source::Null,
        });
    }
    let target: SchemaRef = Arc::new(Schema::new(fields));
    let read: Vec<&str> = sources
        .iter()
        .filter_map(|s| match s {
            Source::File(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mask = ProjectionMask::named_roots(builder.file_metadata().root_data_type(), &read);
    let batches = builder.with_projection(mask).with_batch_size(batch_size).build_async();
    let mut at = 0i64;
    Ok(batches
        .map(move |batch| {
            let batch = batch.map_err(|e| unreadable(&path, &e))?;
            let n = batch.num_rows();
            let columns = sources
                .iter()
                .zip(target.fields())
                .map(|(source, field)| {
                    let column: ArrayRef = match source {
                        Source::File(name) => {
                            let column = batch
                                .column_by_name(name)
                                .ok_or_else(|| unreadable(&path, &"a column went missing"))?;
                            if column.data_type() == field.data_type() {
                                Arc::clone(column)
                            } else {
                                cast(column, field.data_type()).map_err(|e| {
                                    Error::new(
                                        ErrorKind::DataInvalid,
                                        format!(
                                            "ORC data file {path}: column {name} cannot be read as {}: {e}",
                                            field.data_type()
                                        ),
                                    )
                                })?
                            }
                        }
                        Source::Constant(value) => constant(value, field.data_type(), n)?,
                        Source::Null => new_null_array(field.data_type(), n),
                    };
                    Ok(column)
                })
                .collect::<iceberg::Result<Vec<ArrayRef>>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(n));
            let out = RecordBatch::try_new_with_options(Arc::clone(&target), columns, &options)
                .map_err(|e| unreadable(&path, &e))?;
            let start = at;
            at += n as i64;
            if gone.range(start..at).next().is_none() {
                return Ok(out);
            }
            let keep: BooleanArray = (start..at).map(|p| Some(!gone.contains(&p))).collect();
            filter_record_batch(&out, &keep).map_err(|e| unreadable(&path, &e))
        })
        .boxed())
}

/// The names a file may give field `id`: the name mapping's, else the
/// field's own.
fn names_of(task: &FileScanTask, id: i32, name: &str) -> Vec<String> {
    let mapping = task.name_mapping.as_ref();
    let mapped = mapping.and_then(|m| m.fields().iter().find(|f| f.field_id() == Some(id)));
    let mut names = mapped.map(|f| f.names().to_vec()).unwrap_or_default();
    names.push(name.to_string());
    names
}

/// The identity partition value of field `id` in `task`'s partition,
/// unless NULL (then the file's column or NULL, as iceberg-rust reads it).
fn partition_value(task: &FileScanTask, id: i32, field_type: &Type) -> Option<ScalarValue> {
    let spec = task.partition_spec.as_ref()?;
    let partition = task.partition.as_ref()?;
    let index = spec.fields().iter().position(|f| f.source_id == id && f.transform == Transform::Identity)?;
    let Type::Primitive(primitive) = field_type else { return None };
    match partition.fields().get(index)? {
        Some(iceberg::spec::Literal::Primitive(value)) => scalar(primitive, value),
        _ => None,
    }
}

/// An Iceberg value as DataFusion's (the types identity partitions have).
fn scalar(t: &PrimitiveType, value: &PrimitiveLiteral) -> Option<ScalarValue> {
    Some(match (t, value) {
        (PrimitiveType::Boolean, PrimitiveLiteral::Boolean(v)) => ScalarValue::Boolean(Some(*v)),
        (PrimitiveType::Int, PrimitiveLiteral::Int(v)) => ScalarValue::Int32(Some(*v)),
        (PrimitiveType::Long, PrimitiveLiteral::Long(v)) => ScalarValue::Int64(Some(*v)),
        (PrimitiveType::Float, PrimitiveLiteral::Float(v)) => ScalarValue::Float32(Some(v.0)),
        (PrimitiveType::Double, PrimitiveLiteral::Double(v)) => ScalarValue::Float64(Some(v.0)),
        (PrimitiveType::Date, PrimitiveLiteral::Int(v)) => ScalarValue::Date32(Some(*v)),
        (PrimitiveType::Timestamp, PrimitiveLiteral::Long(v)) => ScalarValue::TimestampMicrosecond(Some(*v), None),
        (PrimitiveType::Timestamptz, PrimitiveLiteral::Long(v)) => {
            ScalarValue::TimestampMicrosecond(Some(*v), Some("+00:00".into()))
        }
        (PrimitiveType::String, PrimitiveLiteral::String(v)) => ScalarValue::Utf8(Some(v.clone())),
        (PrimitiveType::Binary, PrimitiveLiteral::Binary(v)) => ScalarValue::Binary(Some(v.clone())),
        (PrimitiveType::Decimal { precision, scale }, PrimitiveLiteral::Int128(v)) => {
            ScalarValue::Decimal128(Some(*v), *precision as u8, *scale as i8)
        }
        _ => return None,
    })
}

/// `value` repeated `n` times, as `data_type`.
fn constant(value: &ScalarValue, data_type: &DataType, n: usize) -> iceberg::Result<ArrayRef> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::Unexpected, format!("filling a column from its partition value: {e}"))
    };
    let array = value.to_array_of_size(n).map_err(|e| fail(&e))?;
    if array.data_type() == data_type {
        Ok(array)
    } else {
        cast(&array, data_type).map_err(|e| fail(&e))
    }
}

/// orc-rust's chunk reader over an Iceberg file (through the table's
/// FileIO, so reads are metered as a Parquet file's are).
struct FileReader {
    read: Box<dyn FileRead>,
    len: u64,
}

impl AsyncChunkReader for FileReader {
    fn len(&mut self) -> BoxFuture<'_, std::io::Result<u64>> {
        let n = self.len;
        async move { Ok(n) }.boxed()
    }

    fn get_bytes(&mut self, offset: u64, length: u64) -> BoxFuture<'_, std::io::Result<Bytes>> {
        async move { self.read.read(offset..offset + length).await.map_err(std::io::Error::other) }.boxed()
    }
}
