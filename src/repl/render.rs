//! Printing results: psql-style aligned tables, CSV and JSON lines.

/// A finished result: column names, text values (None for NULL) and the
/// command tag.
#[derive(Debug, Default)]
pub struct ResultSet {
    pub columns: Vec<String>,
    /// Right-align these columns (numbers).
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<Option<String>>>,
    /// For statements without rows: "CREATE TABLE" and the like.
    pub tag: Option<String>,
    /// COPY ... TO STDOUT: the data, printed as it is.
    pub copy_data: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns, as psql prints them.
    Table,
    /// Comma-separated values with a header line (NULL is empty).
    Csv,
    /// One JSON object per row (values as text, NULL as null).
    Json,
}

pub fn render(result: &ResultSet, format: OutputFormat) -> String {
    if let Some(data) = &result.copy_data {
        return String::from_utf8_lossy(data).into_owned();
    }
    if result.columns.is_empty() {
        return match &result.tag {
            Some(tag) if format == OutputFormat::Table => format!("{tag}\n"),
            _ => String::new(),
        };
    }
    match format {
        OutputFormat::Table => table(result),
        OutputFormat::Csv => csv(result),
        OutputFormat::Json => json(result),
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn table(r: &ResultSet) -> String {
    let cell = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut widths: Vec<usize> = r.columns.iter().map(|c| width(c)).collect();
    for row in &r.rows {
        for (i, v) in row.iter().enumerate() {
            let w = cell(v).lines().map(width).max().unwrap_or(0);
            widths[i] = widths[i].max(w);
        }
    }
    let mut out = String::new();
    let header: Vec<String> = r
        .columns
        .iter()
        .zip(&widths)
        .map(|(c, w)| {
            let pad = w - width(c);
            format!("{}{}{}", " ".repeat(pad / 2), c, " ".repeat(pad - pad / 2))
        })
        .collect();
    out.push_str(&format!(" {} \n", header.join(" | ")));
    out.push_str(&widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+"));
    out.push('\n');
    for row in &r.rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let s = cell(v).replace('\n', "\\n");
                let pad = widths[i].saturating_sub(width(&s));
                if r.numeric.get(i).copied().unwrap_or(false) {
                    format!("{}{}", " ".repeat(pad), s)
                } else {
                    format!("{}{}", s, " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(format!(" {} \n", cells.join(" | ")).replace(" \n", "\n").trim_end_matches(' '));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    let n = r.rows.len();
    out.push_str(&format!("({n} row{})\n", if n == 1 { "" } else { "s" }));
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(r: &ResultSet) -> String {
    let mut out = r.columns.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in &r.rows {
        out.push_str(
            &row.iter().map(|v| v.as_deref().map(csv_field).unwrap_or_default()).collect::<Vec<_>>().join(","),
        );
        out.push('\n');
    }
    out
}

fn json(r: &ResultSet) -> String {
    let mut out = String::new();
    for row in &r.rows {
        let object: serde_json::Map<String, serde_json::Value> = r
            .columns
            .iter()
            .zip(row)
            .map(|(c, v)| (c.clone(), v.clone().map(serde_json::Value::String).unwrap_or(serde_json::Value::Null)))
            .collect();
        out.push_str(&serde_json::Value::Object(object).to_string());
        out.push('\n');
    }
    out
}
