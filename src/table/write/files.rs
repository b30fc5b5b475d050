//! The files an INSERT into a Hive table writes: how rows become a
//! file's bytes in each format the table may have ([`Encoding`]), and one
//! file being written to its store ([`FileOut`]), which appears only when
//! it is complete.

use super::super::format::{collection_delimiter, null_marker, TableFormat, COMPRESSION_KEY};
use crate::catalog::Table;
use crate::error::{Error, SqlState};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::parsers::CompressionTypeVariant;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use datafusion::parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use object_store::path::Path;
use object_store::ObjectStore;
use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Timestamps as Hive writes them in text.
pub(super) const HIVE_TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.f";

/// How rows become a file's bytes.
#[derive(Debug, Clone)]
pub(super) enum Encoding {
    Parquet(Compression),
    Orc,
    /// LazySimpleSerDe: field and collection delimiters, NULL marker.
    Text {
        fields: String,
        items: String,
        null: String,
        /// The reader's escape character (`escape.delim`), if any.
        escape: Option<char>,
        /// Whether files start with a header line.
        header: bool,
        compression: CompressionTypeVariant,
    },
    /// OpenCSVSerde.
    Csv {
        separator: u8,
        quote: u8,
        escape: u8,
        header: bool,
        compression: CompressionTypeVariant,
    },
    Json(CompressionTypeVariant),
}

impl Encoding {
    pub(super) fn of(table: &Table) -> crate::error::Result<Encoding> {
        let format = TableFormat::of_table(table)?;
        let serde = table.storage_descriptor.serde_info.serialization_library.as_deref().unwrap_or("");
        Ok(match &format {
            TableFormat::Parquet => Encoding::Parquet(parquet_compression(table)?),
            TableFormat::Orc => Encoding::Orc,
            TableFormat::Json(compression) => Encoding::Json(*compression),
            TableFormat::Csv(options) if serde.to_ascii_lowercase().contains("opencsv") => Encoding::Csv {
                separator: options.delimiter,
                quote: options.quote,
                escape: options.escape.unwrap_or(b'\\'),
                header: options.has_header == Some(true),
                compression: options.compression,
            },
            TableFormat::Csv(options) => Encoding::Text {
                fields: char::from(options.delimiter).to_string(),
                items: collection_delimiter(table),
                null: null_marker(table, &format).unwrap_or_default(),
                escape: options.escape.map(char::from),
                header: options.has_header == Some(true),
                compression: options.compression,
            },
        })
    }

    /// Refuses a column the encoding cannot write, before anything is.
    pub(super) fn check(&self, table: &str, field: &Field) -> crate::error::Result<()> {
        let nested = matches!(field.data_type(), DataType::Struct(_) | DataType::Map(..));
        let list = matches!(field.data_type(), DataType::List(_) | DataType::LargeList(_));
        let writable = match self {
            Encoding::Parquet(_) | Encoding::Json(_) => true,
            Encoding::Orc => matches!(
                field.data_type(),
                DataType::Boolean
                    | DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::Float32
                    | DataType::Float64
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Binary
                    | DataType::LargeBinary
            ),
            Encoding::Text { .. } => !nested && !matches!(field.data_type(), DataType::Binary | DataType::LargeBinary),
            Encoding::Csv { .. } => !nested && !list,
        };
        if writable {
            return Ok(());
        }
        Err(Error::new(
            SqlState::FeatureNotSupported,
            format!(
                "cannot insert into table {table}: glaux cannot yet write column {} of type {} in its {} files",
                field.name(),
                field.data_type(),
                self.name()
            ),
        ))
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Encoding::Parquet(_) => "Parquet",
            Encoding::Orc => "ORC",
            Encoding::Text { .. } => "text (LazySimpleSerDe)",
            Encoding::Csv { .. } => "CSV (OpenCSVSerde)",
            Encoding::Json(_) => "JSON",
        }
    }

    /// The file name's extension.
    pub(super) fn extension(&self) -> String {
        let (base, compression) = match self {
            Encoding::Parquet(_) => return ".parquet".to_string(),
            Encoding::Orc => return ".orc".to_string(),
            Encoding::Text { compression, .. } => ("", *compression),
            Encoding::Csv { compression, .. } => (".csv", *compression),
            Encoding::Json(compression) => (".json", *compression),
        };
        let compressed = match compression {
            CompressionTypeVariant::GZIP => ".gz",
            CompressionTypeVariant::ZSTD => ".zst",
            CompressionTypeVariant::BZIP2 => ".bz2",
            CompressionTypeVariant::XZ => ".xz",
            CompressionTypeVariant::UNCOMPRESSED => "",
        };
        format!("{base}{compressed}")
    }
}

/// The Parquet compression a table asks for.
fn parquet_compression(table: &Table) -> crate::error::Result<Compression> {
    let keys = ["write_compression", "parquet.compression", COMPRESSION_KEY];
    parquet_codec(keys.iter().find_map(|k| table.parameters.get(*k)).map(String::as_str), Compression::SNAPPY)
}

/// A Parquet compression codec by name (SNAPPY, GZIP, ZSTD, LZ4 or LZ4_RAW,
/// BROTLI, NONE or UNCOMPRESSED, in any case: Athena's names and
/// Iceberg's); `default` when there is none.
pub fn parquet_codec(name: Option<&str>, default: Compression) -> crate::error::Result<Compression> {
    Ok(match name.map(str::to_ascii_uppercase).as_deref() {
        None => default,
        Some("SNAPPY") => Compression::SNAPPY,
        Some("NONE" | "UNCOMPRESSED") => Compression::UNCOMPRESSED,
        Some("GZIP") => Compression::GZIP(GzipLevel::default()),
        Some("ZSTD") => Compression::ZSTD(ZstdLevel::default()),
        Some("LZ4" | "LZ4_RAW") => Compression::LZ4_RAW,
        Some("BROTLI") => Compression::BROTLI(BrotliLevel::default()),
        Some(other) => {
            return Err(Error::new(
                SqlState::InvalidParameterValue,
                format!("Parquet compression {other:?} is not supported; use SNAPPY, GZIP, ZSTD, LZ4, BROTLI or NONE"),
            ))
        }
    })
}

/// The properties every Parquet file glaux writes starts from: `compression`
/// and pages of at most [`super::PARQUET_PAGE_BYTES`].
pub fn parquet_properties(compression: Compression) -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(compression)
        .set_data_page_size_limit(super::PARQUET_PAGE_BYTES)
        .set_dictionary_page_size_limit(super::PARQUET_PAGE_BYTES)
}

/// One file being written.
pub(super) struct FileOut {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) path: Path,
    sink: Sink,
}

enum Sink {
    Parquet(Box<AsyncArrowWriter<Box<dyn AsyncWrite + Send + Unpin>>>),
    /// ORC: the batches are kept, and encoded when the file closes
    /// (orc-rust's writer cannot be held across an await).
    Orc(Vec<RecordBatch>, SchemaRef, Box<dyn AsyncWrite + Send + Unpin>),
    Bytes(Box<dyn AsyncWrite + Send + Unpin>),
}

impl FileOut {
    pub(super) async fn open(
        context: &TaskContext,
        location: &str,
        format: &Encoding,
        schema: SchemaRef,
    ) -> crate::error::Result<FileOut> {
        let url = super::super::store::listing_url(location)?;
        let store = context.runtime_env().object_store(url.object_store())?;
        let path = url.prefix().clone();
        let upload = object_store::buffered::BufWriter::new(Arc::clone(&store), path.clone());
        let compression = match format {
            Encoding::Text { compression, .. } | Encoding::Csv { compression, .. } | Encoding::Json(compression) => {
                *compression
            }
            _ => CompressionTypeVariant::UNCOMPRESSED,
        };
        let writer = FileCompressionType::from(compression).convert_async_writer(upload)?;
        let sink = match format {
            Encoding::Parquet(compression) => {
                let properties = parquet_properties(*compression).build();
                let parquet = AsyncArrowWriter::try_new(writer, schema, Some(properties))
                    .map_err(|e| Error::new(SqlState::IoError, format!("cannot start Parquet file {location}: {e}")))?;
                Sink::Parquet(Box::new(parquet))
            }
            Encoding::Orc => Sink::Orc(Vec::new(), schema, writer),
            Encoding::Text { fields: separator, header: true, .. } => {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                Sink::Bytes(with_header(writer, format!("{}\n", names.join(separator)), location).await?)
            }
            Encoding::Csv { separator, quote, header: true, .. } => {
                let quote = char::from(*quote);
                let names: Vec<String> =
                    schema.fields().iter().map(|f| format!("{quote}{}{quote}", f.name())).collect();
                let line = format!("{}\n", names.join(&char::from(*separator).to_string()));
                Sink::Bytes(with_header(writer, line, location).await?)
            }
            _ => Sink::Bytes(writer),
        };
        Ok(FileOut { store, path, sink })
    }

    pub(super) async fn write(&mut self, format: &Encoding, batch: &RecordBatch) -> crate::error::Result<()> {
        let failed = |e: String| Error::new(SqlState::IoError, format!("cannot write {}: {e}", self.path));
        match &mut self.sink {
            Sink::Parquet(writer) => writer.write(batch).await.map_err(|e| failed(e.to_string())),
            Sink::Orc(batches, _, _) => {
                batches.push(batch.clone());
                Ok(())
            }
            Sink::Bytes(out) => {
                let bytes = encode(format, batch)?;
                out.write_all(&bytes).await.map_err(|e| failed(e.to_string()))
            }
        }
    }

    /// Completes the file: only now does it appear in the store.
    pub(super) async fn close(self) -> crate::error::Result<()> {
        let failed = |e: String| Error::new(SqlState::IoError, format!("cannot complete {}: {e}", self.path));
        match self.sink {
            Sink::Parquet(writer) => writer.close().await.map(|_| ()).map_err(|e| failed(e.to_string())),
            Sink::Orc(batches, schema, mut out) => {
                let bytes = orc_file(batches, schema).map_err(|e| failed(e.to_string()))?;
                out.write_all(&bytes).await.map_err(|e| failed(e.to_string()))?;
                out.shutdown().await.map_err(|e| failed(e.to_string()))
            }
            Sink::Bytes(mut out) => out.shutdown().await.map_err(|e| failed(e.to_string())),
        }
    }
}

/// `writer` after a header line (for a table that skips one, so that no
/// row is taken for it).
async fn with_header(
    mut writer: Box<dyn AsyncWrite + Send + Unpin>,
    line: String,
    location: &str,
) -> crate::error::Result<Box<dyn AsyncWrite + Send + Unpin>> {
    writer
        .write_all(line.as_bytes())
        .await
        .map_err(|e| Error::new(SqlState::IoError, format!("cannot write {location}: {e}")))?;
    Ok(writer)
}

/// `batches` as the bytes of one ORC file.
fn orc_file(batches: Vec<RecordBatch>, schema: SchemaRef) -> orc_rust::error::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut writer = orc_rust::arrow_writer::ArrowWriterBuilder::new(&mut bytes, schema).try_build()?;
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(bytes)
}

/// A batch as the bytes of a text, CSV or JSON file.
fn encode(format: &Encoding, batch: &RecordBatch) -> crate::error::Result<Vec<u8>> {
    let failed = |e: datafusion::arrow::error::ArrowError| Error::from(DataFusionError::from(e));
    match format {
        Encoding::Text { fields, items, null, escape, .. } => text(batch, fields, items, null, *escape),
        Encoding::Csv { separator, quote, escape, .. } => {
            // The writer escapes quotes but not the escape character
            // itself, which the reader would take as one.
            let batch = &escaped(batch, char::from(*escape))?;
            let mut out = Vec::new();
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(false)
                .with_delimiter(*separator)
                .with_quote(*quote)
                .with_escape(*escape)
                .with_double_quote(false)
                .with_timestamp_format(HIVE_TIMESTAMP.to_string())
                .build(&mut out);
            writer.write(batch).map_err(failed)?;
            drop(writer);
            Ok(out)
        }
        Encoding::Json(_) => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(Vec::new());
            writer.write(batch).map_err(failed)?;
            writer.finish().map_err(failed)?;
            Ok(writer.into_inner())
        }
        Encoding::Parquet(_) | Encoding::Orc => Err(Error::internal("a binary format encoded as text")),
    }
}

/// `batch` with `escape` doubled in its string columns.
fn escaped(batch: &RecordBatch, escape: char) -> crate::error::Result<RecordBatch> {
    let doubled = format!("{escape}{escape}");
    let mut columns = Vec::with_capacity(batch.num_columns());
    for column in batch.columns() {
        let column = match column.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let text = datafusion::arrow::compute::cast(column, &DataType::Utf8).map_err(DataFusionError::from)?;
                let mapped: datafusion::arrow::array::StringArray =
                    text.as_string::<i32>().iter().map(|v| v.map(|v| v.replace(escape, &doubled))).collect();
                Arc::new(mapped) as ArrayRef
            }
            _ => Arc::clone(column),
        };
        columns.push(column);
    }
    let fields: Vec<Field> = batch
        .schema_ref()
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
        .collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(DataFusionError::from)?)
}

/// LazySimpleSerDe's text: one line per row, fields joined by `fields`,
/// an array's items by `items`, NULL as `null`.
fn text(
    batch: &RecordBatch,
    fields: &str,
    items: &str,
    null: &str,
    escape: Option<char>,
) -> crate::error::Result<Vec<u8>> {
    let options = FormatOptions::default().with_timestamp_format(Some(HIVE_TIMESTAMP));
    let failed = |e: datafusion::arrow::error::ArrowError| Error::from(DataFusionError::from(e));
    // (NUL is the reader's quote character: none.)
    let special: Vec<char> = fields.chars().chain(items.chars()).chain(['\n', '\r', '\0']).chain(escape).collect();
    let clean = |value: String, column: &str| -> crate::error::Result<String> {
        if !value.contains(|c| special.contains(&c)) {
            return Ok(value);
        }
        Err(Error::new(
            SqlState::BadCopyFileFormat,
            format!(
                "a value of column {column} holds the table's field or collection delimiter, its escape \
                 character, a NUL or a line break, which its text files cannot hold (glaux writes no escapes)"
            ),
        ))
    };
    enum Column<'a> {
        Plain(ArrayFormatter<'a>),
        List(&'a dyn Array),
    }
    let columns: Vec<Column> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::List(_) | DataType::LargeList(_) => Ok(Column::List(c.as_ref())),
            _ => Ok(Column::Plain(ArrayFormatter::try_new(c.as_ref(), &options).map_err(failed)?)),
        })
        .collect::<crate::error::Result<_>>()?;
    let names: Vec<&String> = batch.schema_ref().fields().iter().map(|f| f.name()).collect();
    let mut out = String::new();
    for row in 0..batch.num_rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push_str(fields);
            }
            let array = batch.column(i);
            if array.is_null(row) {
                out.push_str(null);
                continue;
            }
            match column {
                Column::Plain(format) => out.push_str(&clean(format.value(row).to_string(), names[i])?),
                Column::List(list) => {
                    let values = match list.data_type() {
                        DataType::List(_) => list.as_list::<i32>().value(row),
                        _ => list.as_list::<i64>().value(row),
                    };
                    let format = ArrayFormatter::try_new(values.as_ref(), &options).map_err(failed)?;
                    for item in 0..values.len() {
                        if item > 0 {
                            out.push_str(items);
                        }
                        if values.is_null(item) {
                            out.push_str(null);
                        } else {
                            out.push_str(&clean(format.value(item).to_string(), names[i])?);
                        }
                    }
                }
            }
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}
