//! LIBSVM / svmlight text input, the format of most public large benchmark sets:
//! `label idx:value idx:value ... [# comment]`, indices 1-based and strictly increasing, missing
//! entries 0. Read into CSR, then kept sparse (`--sparse`, or when fewer than
//! [`super::SPARSE_BELOW_DENSITY`] of the entries are stored) or densified (`--dense`, or denser
//! data); the width is `--features N`, or the largest index. Feature j is named `f{j}` after its
//! LIBSVM index. Blank lines and `#` comment lines are skipped; `qid:` is ignored.

use super::{open_input, Csr, Dataset, Matrix};
use crate::error::{Error, Result};
use ndarray::Array1;
use std::io::BufRead;
use std::path::Path;

/// Reads `path`; `sparse` as [`super::LoadOptions::sparse`].
pub fn read_libsvm(path: &Path, features: Option<usize>, sparse: Option<bool>) -> Result<Dataset> {
    // Dense data is capped at MAX_FEATURES; sparse data at MAX_SPARSE_FEATURES.
    let max_index = if sparse == Some(false) {
        super::MAX_FEATURES
    } else {
        super::MAX_SPARSE_FEATURES
    };
    let reader = open_input(path)?;
    let parse_err = |line: u64, message: String| Error::Parse {
        path: path.into(),
        line,
        message,
    };
    let mut y: Vec<f32> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    // CSR as it is read: row i spans indices/values[indptr[i]..indptr[i + 1]].
    let mut indices: Vec<u32> = Vec::new();
    let mut values: Vec<f32> = Vec::new();
    let mut indptr: Vec<u64> = vec![0];
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
            if idx > max_index {
                return Err(parse_err(
                    line_no,
                    format!("index {idx} exceeds the limit of {max_index} features"),
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
            if v32 != 0.0 {
                indices.push((idx - 1) as u32);
                values.push(v32);
            }
        }
        y.push(label as f32);
        lines.push(line_no);
        indptr.push(indices.len() as u64);
    }
    if y.is_empty() {
        return Err(Error::Format {
            path: path.into(),
            message: "no data lines".into(),
        });
    }
    let d = features.unwrap_or(width);
    if d == 0 {
        return Err(Error::Format {
            path: path.into(),
            message: "no feature has a value (every row is empty); pass --features N".into(),
        });
    }
    let n = y.len();
    let source = path.display().to_string();
    let csr = Csr::new(n, d, indptr, indices, values, path)?;
    let keep_sparse = match sparse {
        Some(s) => s,
        None => csr.density() < super::SPARSE_BELOW_DENSITY || d > super::MAX_FEATURES,
    };
    let mut data = if keep_sparse {
        Dataset::from_matrix(Matrix::sparse(csr), Array1::from(y), &source)?
    } else {
        if d > super::MAX_FEATURES {
            return Err(Error::invalid(
                "features",
                d,
                format!("exceeds the dense limit of {}", super::MAX_FEATURES),
            ));
        }
        let bytes = n as u128 * d as u128 * 4;
        let available = super::available_memory().unwrap_or(u64::MAX);
        if bytes > isize::MAX as u128 || bytes > available as u128 {
            return Err(Error::Format {
                path: path.into(),
                message: format!(
                    "{n} rows × {d} features take {:.1} GB as a dense f32 matrix, more than the \
                     {:.1} GB of memory available (the widest index sets the width; drop --dense \
                     to keep it sparse)",
                    bytes as f64 / 1e9,
                    available as f64 / 1e9
                ),
            });
        }
        Dataset::new(csr.to_dense(path)?, Array1::from(y), &source)?
    };
    if !data.is_sparse() {
        data.feature_names = (1..=d).map(|j| format!("f{j}")).collect();
    }
    data.target_name = "label".into();
    data.row_lines = Some(lines);
    Ok(data)
}

/// Writes `data` as LIBSVM text (`label j:value ...`, 1-based, zeros left out), atomically and
/// streamed (a large set is never formatted in memory whole).
pub fn write_libsvm(data: &Dataset, path: &Path) -> Result<()> {
    let y = data.y_slice();
    crate::report::write_atomic_with(path, |w| {
        let mut line = String::new();
        for (i, &label) in y.iter().enumerate() {
            use std::fmt::Write as _;
            line.clear();
            let _ = write!(line, "{label}");
            data.row(i).for_each(|j, v| {
                if v != 0.0 {
                    let _ = write!(line, " {}:{v}", j + 1);
                }
            });
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    })
}
