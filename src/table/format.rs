//! File formats: how a table's StorageDescriptor (input format, SerDe and
//! its parameters, TBLPROPERTIES) maps to a DataFusion `FileFormat`, and how
//! `STORED AS` / `ROW FORMAT` clauses map to the StorageDescriptor Athena
//! itself would write.

use super::orc::OrcFormat;
use crate::catalog::{Parameters, SerDeInfo, StorageDescriptor, Table};
use crate::error::{Error, Result, SqlState};
use datafusion::common::config::CsvOptions;
use datafusion::common::parsers::CompressionTypeVariant;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use std::sync::Arc;

pub const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
pub const ORC_SERDE: &str = "org.apache.hadoop.hive.ql.io.orc.OrcSerde";
pub const LAZY_SIMPLE_SERDE: &str = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe";
pub const OPEN_CSV_SERDE: &str = "org.apache.hadoop.hive.serde2.OpenCSVSerde";
pub const JSON_SERDE: &str = "org.openx.data.jsonserde.JsonSerDe";
const TEXT_INPUT: &str = "org.apache.hadoop.mapred.TextInputFormat";
const TEXT_OUTPUT: &str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";

/// The table property naming the compression of text files (Athena's key).
pub const COMPRESSION_KEY: &str = "compressionType";

/// The bytes read from the end of a Parquet file to get its footer in one
/// request. Those bytes are billed, so this is far below DataFusion's
/// default (512 KB, a large share of a small file); a footer larger than
/// this costs one more request.
pub const PARQUET_FOOTER_READ: usize = 64 * 1024;

/// The data format of a table, decided from its StorageDescriptor.
#[derive(Debug, Clone, PartialEq)]
pub enum TableFormat {
    Parquet,
    Orc,
    Csv(Box<CsvOptions>),
    Json(CompressionTypeVariant),
}

impl TableFormat {
    /// Decide the format of a catalog table.
    pub fn of_table(table: &Table) -> Result<TableFormat> {
        let sd = &table.storage_descriptor;
        let serde = sd.serde_info.serialization_library.as_deref().unwrap_or("").to_ascii_lowercase();
        let input = sd.input_format.as_deref().unwrap_or("").to_ascii_lowercase();
        let compression = compression_of(table)?;
        if serde.contains("parquet") || input.contains("parquet") {
            Ok(TableFormat::Parquet)
        } else if serde.contains("orc") || input.contains("orc") {
            Ok(TableFormat::Orc)
        } else if serde.contains("json") {
            Ok(TableFormat::Json(compression))
        } else if serde.contains("opencsv") {
            Ok(TableFormat::Csv(Box::new(open_csv_options(table, compression)?)))
        } else if serde.contains("lazysimpleserde") || input.contains("textinputformat") || serde.is_empty() {
            Ok(TableFormat::Csv(Box::new(lazy_simple_options(table, compression)?)))
        } else {
            Err(Error::new(
                SqlState::FeatureNotSupported,
                format!(
                    "table {}.{} uses SerDe {:?} and input format {:?}, which glaux cannot read; \
                     supported: Parquet, ORC, LazySimpleSerDe, OpenCSVSerde and JsonSerDe text files",
                    table.database_name, table.name, sd.serde_info.serialization_library, sd.input_format
                ),
            ))
        }
    }

    /// The DataFusion file format that reads it.
    pub fn file_format(&self) -> Arc<dyn FileFormat> {
        match self {
            TableFormat::Parquet => {
                Arc::new(ParquetFormat::default().with_metadata_size_hint(Some(PARQUET_FOOTER_READ)))
            }
            TableFormat::Orc => Arc::new(OrcFormat),
            TableFormat::Csv(options) => Arc::new(CsvFormat::default().with_options(options.as_ref().clone())),
            TableFormat::Json(compression) => {
                Arc::new(JsonFormat::default().with_file_compression_type((*compression).into()))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            TableFormat::Parquet => "PARQUET",
            TableFormat::Orc => "ORC",
            TableFormat::Csv(_) => "TEXTFILE",
            TableFormat::Json(_) => "JSON",
        }
    }
}

fn param<'a>(table: &'a Table, serde_key: &str) -> Option<&'a str> {
    table.storage_descriptor.serde_info.parameters.get(serde_key).map(String::as_str)
}

/// One byte for a delimiter/quote/escape written in a SerDe parameter
/// (`,`, `\t`, `\u0001`, `\001` or a decimal code such as `1`).
fn single_byte(what: &str, value: &str) -> Result<u8> {
    let v = match value {
        "\\t" => "\t",
        "\\n" => "\n",
        "\\u0001" | "\\001" => "\u{1}",
        other => other,
    };
    if v.len() == 1 {
        return Ok(v.as_bytes()[0]);
    }
    if let Ok(code) = v.parse::<u8>() {
        return Ok(code);
    }
    Err(Error::new(SqlState::InvalidParameterValue, format!("{what} must be a single character, got {value:?}")))
}

fn header_lines(table: &Table) -> Result<bool> {
    match table.parameters.get("skip.header.line.count").map(|s| s.trim()) {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(Error::new(
            SqlState::FeatureNotSupported,
            format!("skip.header.line.count = {other:?} is not supported; glaux skips 0 or 1 header lines"),
        )),
    }
}

fn compression_of(table: &Table) -> Result<CompressionTypeVariant> {
    let raw =
        table.parameters.get(COMPRESSION_KEY).or_else(|| table.storage_descriptor.parameters.get(COMPRESSION_KEY));
    match raw.map(|s| s.to_ascii_lowercase()) {
        None => Ok(CompressionTypeVariant::UNCOMPRESSED),
        Some(s) => match s.as_str() {
            "" | "none" | "uncompressed" => Ok(CompressionTypeVariant::UNCOMPRESSED),
            "gzip" | "gz" => Ok(CompressionTypeVariant::GZIP),
            "zstd" => Ok(CompressionTypeVariant::ZSTD),
            "bzip2" | "bz2" => Ok(CompressionTypeVariant::BZIP2),
            "xz" | "lzma" => Ok(CompressionTypeVariant::XZ),
            other => Err(Error::new(
                SqlState::InvalidParameterValue,
                format!("{COMPRESSION_KEY} = {other:?} is not supported; use gzip, zstd, bzip2, xz or none"),
            )),
        },
    }
}

/// The compression a file name's extension implies, if any.
pub fn compression_from_extension(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    [(".gz", "gzip"), (".zst", "zstd"), (".bz2", "bzip2"), (".xz", "xz")]
        .into_iter()
        .find(|(ext, _)| lower.ends_with(ext))
        .map(|(_, name)| name)
}

fn base_csv(table: &Table, compression: CompressionTypeVariant) -> Result<CsvOptions> {
    Ok(CsvOptions {
        has_header: Some(header_lines(table)?),
        compression,
        // Rows shorter than the table are an error, not silently padded.
        truncated_rows: Some(false),
        ..Default::default()
    })
}

/// The text LazySimpleSerDe reads as NULL (`serialization.null.format`,
/// default `\N`), for LazySimpleSerDe tables; None for other formats.
pub fn null_marker(table: &Table, format: &TableFormat) -> Option<String> {
    if !matches!(format, TableFormat::Csv(_)) {
        return None;
    }
    let serde = table.storage_descriptor.serde_info.serialization_library.as_deref().unwrap_or("");
    if serde.to_ascii_lowercase().contains("opencsv") {
        return None;
    }
    let marker = param(table, "serialization.null.format").unwrap_or("\\N");
    Some(marker.to_string()).filter(|m| !m.is_empty())
}

/// What separates a LazySimpleSerDe array's items (`COLLECTION ITEMS
/// TERMINATED BY`; Hive's default is \002). Hive itself long wrote the key
/// misspelled, `colelction.delim`, and tables made by it still carry it.
pub fn collection_delimiter(table: &Table) -> String {
    let delim = param(table, "collection.delim").or_else(|| param(table, "colelction.delim"));
    delim.unwrap_or("\u{2}").to_string()
}

/// Hive's LazySimpleSerDe: delimited text, no quoting, `\N` for NULL.
fn lazy_simple_options(table: &Table, compression: CompressionTypeVariant) -> Result<CsvOptions> {
    let mut o = base_csv(table, compression)?;
    let delim = param(table, "field.delim").or_else(|| param(table, "serialization.format"));
    o.delimiter = match delim {
        Some(d) => single_byte("field.delim", d)?,
        None => 1, // Hive's default, \001
    };
    // LazySimpleSerDe has no quote character; NUL never appears in text data.
    o.quote = 0;
    if let Some(e) = param(table, "escape.delim") {
        o.escape = Some(single_byte("escape.delim", e)?);
    }
    let null_format = param(table, "serialization.null.format").unwrap_or("\\N");
    o.null_regex = Some(format!("^({}|)$", regex_escape(null_format)));
    Ok(o)
}

/// OpenCSVSerde: quoted CSV.
fn open_csv_options(table: &Table, compression: CompressionTypeVariant) -> Result<CsvOptions> {
    let mut o = base_csv(table, compression)?;
    o.delimiter = single_byte("separatorChar", param(table, "separatorChar").unwrap_or(","))?;
    o.quote = single_byte("quoteChar", param(table, "quoteChar").unwrap_or("\""))?;
    o.escape = Some(single_byte("escapeChar", param(table, "escapeChar").unwrap_or("\\"))?);
    o.newlines_in_values = Some(true);
    o.null_regex = Some("^$".to_string());
    Ok(o)
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.^$|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What a `STORED AS` clause names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredAs {
    Parquet,
    Orc,
    TextFile,
    Json,
}

impl StoredAs {
    pub fn parse(name: &str) -> Result<StoredAs> {
        match name.to_ascii_uppercase().as_str() {
            "PARQUET" => Ok(StoredAs::Parquet),
            "ORC" => Ok(StoredAs::Orc),
            "TEXTFILE" => Ok(StoredAs::TextFile),
            "JSON" | "JSONFILE" => Ok(StoredAs::Json),
            other => Err(Error::new(
                SqlState::FeatureNotSupported,
                format!("STORED AS {other} is not supported; use PARQUET, ORC, TEXTFILE or JSON"),
            )),
        }
    }
}

/// The StorageDescriptor Athena writes for `STORED AS x` with an optional
/// `ROW FORMAT SERDE` and SerDe parameters.
pub fn storage_for(stored_as: StoredAs, serde: Option<String>, serde_params: Parameters) -> StorageDescriptor {
    let (input, output, default_serde) = match stored_as {
        StoredAs::Parquet => (
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            PARQUET_SERDE,
        ),
        StoredAs::Orc => (
            "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            ORC_SERDE,
        ),
        StoredAs::TextFile => (TEXT_INPUT, TEXT_OUTPUT, LAZY_SIMPLE_SERDE),
        StoredAs::Json => (TEXT_INPUT, TEXT_OUTPUT, JSON_SERDE),
    };
    StorageDescriptor {
        input_format: Some(input.to_string()),
        output_format: Some(output.to_string()),
        serde_info: SerDeInfo {
            serialization_library: Some(serde.unwrap_or_else(|| default_serde.to_string())),
            parameters: serde_params,
        },
        ..Default::default()
    }
}

/// `STORED AS` keyword for SHOW CREATE TABLE, when the descriptor is one of
/// the standard shapes.
pub fn stored_as_name(sd: &StorageDescriptor) -> Option<&'static str> {
    let input = sd.input_format.as_deref()?;
    if input.contains("Parquet") {
        Some("PARQUET")
    } else if input.contains("Orc") {
        Some("ORC")
    } else if input == TEXT_INPUT {
        Some("TEXTFILE")
    } else {
        None
    }
}
