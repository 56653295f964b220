//! CSV input: a header row, then one numeric row per sample. The target is a named column
//! (default: the last); every other column is a feature. For classifiers the target may be text
//! (`text_target`): it is kept as written and mapped to classes by data::labels.

use super::{open_input, Dataset};
use crate::error::{Error, Result};
use ndarray::{Array1, Array2, ArrayView2};
use std::path::Path;

/// Which column of a CSV file is the target.
#[derive(Clone, Copy, Debug)]
pub enum CsvTarget<'a> {
    /// The last column.
    Last,
    Named(&'a str),
    /// No target: every column is a feature (data to predict on); y is all zeros.
    Absent,
}

pub fn read_csv(path: &Path, target: Option<&str>, text_target: bool) -> Result<Dataset> {
    let target = target.map_or(CsvTarget::Last, CsvTarget::Named);
    read_csv_with(path, target, text_target)
}

/// The header row of a CSV file (to see whether it holds a model's target column).
pub fn csv_headers(path: &Path) -> Result<Vec<String>> {
    let file = open_input(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader.headers().map_err(|e| Error::Parse {
        path: path.into(),
        line: 1,
        message: e.to_string(),
    })?;
    Ok(headers.iter().map(str::to_string).collect())
}

pub fn read_csv_with(path: &Path, target: CsvTarget, text_target: bool) -> Result<Dataset> {
    let file = open_input(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("row has {len} fields but the header has {expected_len}"),
            csv::ErrorKind::Io(io) => io.to_string(),
            _ => e.to_string(),
        };
        Error::Parse {
            path: path.into(),
            line,
            message,
        }
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let min_columns = if matches!(target, CsvTarget::Absent) {
        1
    } else {
        2
    };
    if headers.len() < min_columns {
        return Err(Error::Format {
            path: path.into(),
            message: format!(
                "need at least 2 columns (features and a target), found {}",
                headers.len()
            ),
        });
    }
    // usize::MAX: no column is the target.
    let target_idx = match target {
        CsvTarget::Absent => usize::MAX,
        CsvTarget::Last => headers.len() - 1,
        CsvTarget::Named(name) => {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| Error::UnknownColumn {
                    path: path.into(),
                    name: name.into(),
                    available: headers.join(", "),
                })?
        }
    };
    let n_cols = headers.len();
    let mut x_flat: Vec<f32> = Vec::new();
    let mut y: Vec<f32> = Vec::new();
    let mut y_text: Vec<String> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_err)? {
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        lines.push(line);
        for (col, field) in record.iter().enumerate() {
            if text_target && col == target_idx {
                y_text.push(field.to_string());
                y.push(0.0);
                continue;
            }
            let v: f64 = field.parse().map_err(|_| Error::Parse {
                path: path.into(),
                line,
                message: format!(
                    "column `{}`: cannot parse `{field}` as a number",
                    headers[col]
                ),
            })?;
            let v32 = v as f32;
            if !v.is_finite() || !v32.is_finite() {
                return Err(Error::Parse {
                    path: path.into(),
                    line,
                    message: format!(
                        "column `{}`: value `{field}` is not a finite f32 number",
                        headers[col]
                    ),
                });
            }
            if col == target_idx {
                y.push(v32);
            } else {
                x_flat.push(v32);
            }
        }
    }
    if lines.is_empty() {
        return Err(Error::Format {
            path: path.into(),
            message: "header only: no data rows".into(),
        });
    }
    let n_rows = lines.len();
    let n_features = if target_idx == usize::MAX {
        n_cols
    } else {
        n_cols - 1
    };
    if y.is_empty() {
        y = vec![0.0; n_rows];
    }
    let x = Array2::from_shape_vec((n_rows, n_features), x_flat).map_err(|e| Error::Format {
        path: path.into(),
        message: e.to_string(),
    })?;
    let mut data = Dataset::new(x, Array1::from(y), &path.display().to_string())?;
    data.feature_names = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != target_idx)
        .map(|(_, h)| h.clone())
        .collect();
    data.target_name = headers.get(target_idx).cloned().unwrap_or_default();
    data.row_lines = Some(lines);
    if text_target {
        data.target_text = Some(y_text);
    }
    Ok(data)
}

/// Formats X and y as CSV text with header `x0,...,x{d-1},y` (numbers only, so no quoting).
pub fn format_csv(x: ArrayView2<f32>, y: &Array1<f32>) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(x.len() * 12);
    for j in 0..x.ncols() {
        let _ = write!(out, "x{j},");
    }
    out.push_str("y\n");
    for (row, target) in x.rows().into_iter().zip(y.iter()) {
        for v in row {
            let _ = write!(out, "{v},");
        }
        let _ = writeln!(out, "{target}");
    }
    out
}
