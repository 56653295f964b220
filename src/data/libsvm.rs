//! LIBSVM / svmlight text input, the format of most public large benchmark sets:
//! `label idx:value idx:value ... [# comment]`, indices 1-based and strictly increasing, missing
//! entries 0. Densified into X (width `--features N`, or the largest index); feature j is named
//! `f{j}` after its LIBSVM index. Blank lines and `#` comment lines are skipped; `qid:` is ignored.

use super::{open_input, Dataset};
use crate::error::{Error, Result};
use ndarray::{Array1, Array2};
use std::io::BufRead;
use std::path::Path;

pub fn read_libsvm(path: &Path, features: Option<usize>) -> Result<Dataset> {
    let reader = open_input(path)?;
    let parse_err = |line: u64, message: String| Error::Parse {
        path: path.into(),
        line,
        message,
    };
    let mut y: Vec<f32> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    // Sparse rows: (column, value) pairs, row i spanning entries[starts[i]..starts[i + 1]].
    let mut entries: Vec<(u32, f32)> = Vec::new();
    let mut starts: Vec<usize> = vec![0];
    let mut width = 0usize;
    let mut text = String::new();
    let mut reader = reader;
    let mut line_no = 0u64;
    loop {
        text.clear();
        let n = reader
            .read_line(&mut text)
            .map_err(|e| parse_err(line_no + 1, e.to_string()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let content = text.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut tokens = content.split_ascii_whitespace();
        let label_text = tokens.next().unwrap_or("");
        let label: f64 = label_text.parse().map_err(|_| {
            parse_err(
                line_no,
                format!("cannot parse the label `{label_text}` as a number"),
            )
        })?;
        if !label.is_finite() || !(label as f32).is_finite() {
            return Err(parse_err(
                line_no,
                format!("label `{label_text}` is not a finite f32 number"),
            ));
        }
        let mut previous = 0usize;
        for token in tokens {
            if token.starts_with("qid:") {
                continue;
            }
            let (idx_text, value_text) = token.split_once(':').ok_or_else(|| {
                parse_err(line_no, format!("`{token}` is not of the form index:value"))
            })?;
            let idx: usize = idx_text.parse().map_err(|_| {
                parse_err(
                    line_no,
                    format!("cannot parse the index `{idx_text}` as a positive integer"),
                )
            })?;
            if idx == 0 {
                return Err(parse_err(
                    line_no,
                    "index 0: LIBSVM indices start at 1".into(),
                ));
            }
            if idx == previous {
                return Err(parse_err(line_no, format!("index {idx} is repeated")));
            }
            if idx < previous {
                return Err(parse_err(
                    line_no,
                    format!("index {idx} after {previous}: indices must increase"),
                ));
            }
            if let Some(limit) = features {
                if idx > limit {
                    return Err(parse_err(
                        line_no,
                        format!("index {idx} exceeds the feature count {limit}"),
                    ));
                }
            }
            if idx > super::MAX_FEATURES {
                return Err(parse_err(
                    line_no,
                    format!(
                        "index {idx} exceeds the limit of {} features",
                        super::MAX_FEATURES
                    ),
                ));
            }
            let value: f64 = value_text.parse().map_err(|_| {
                parse_err(
                    line_no,
                    format!("index {idx}: cannot parse `{value_text}` as a number"),
                )
            })?;
            let v32 = value as f32;
            if !value.is_finite() || !v32.is_finite() {
                return Err(parse_err(
                    line_no,
                    format!("index {idx}: value `{value_text}` is not a finite f32 number"),
                ));
            }
            previous = idx;
            width = width.max(idx);
            entries.push(((idx - 1) as u32, v32));
        }
        y.push(label as f32);
        lines.push(line_no);
        starts.push(entries.len());
    }
    if y.is_empty() {
        return Err(Error::Format {
            path: path.into(),
            message: "no data lines".into(),
        });
    }
    let d = features.unwrap_or(width);
    if d > super::MAX_FEATURES {
        return Err(Error::invalid(
            "features",
            d,
            format!("exceeds the limit of {}", super::MAX_FEATURES),
        ));
    }
    if d == 0 {
        return Err(Error::Format {
            path: path.into(),
            message: "no feature has a value (every row is empty); pass --features N".into(),
        });
    }
    let n = y.len();
    let bytes = n as u128 * d as u128 * 4;
    let available = super::available_memory().unwrap_or(u64::MAX);
    if bytes > isize::MAX as u128 || bytes > available as u128 {
        return Err(Error::Format {
            path: path.into(),
            message: format!(
                "{n} rows × {d} features take {:.1} GB as a dense f32 matrix, more than the \
                 {:.1} GB of memory available (the widest index sets the width)",
                bytes as f64 / 1e9,
                available as f64 / 1e9
            ),
        });
    }
    let mut x = Array2::<f32>::zeros((n, d));
    for (i, mut row) in x.rows_mut().into_iter().enumerate() {
        for &(j, v) in &entries[starts[i]..starts[i + 1]] {
            row[j as usize] = v;
        }
    }
    let mut data = Dataset::new(x, Array1::from(y), &path.display().to_string())?;
    data.feature_names = (1..=d).map(|j| format!("f{j}")).collect();
    data.target_name = "label".into();
    data.row_lines = Some(lines);
    Ok(data)
}
