//! Where sample weights come from: a CSV column (`--sample-weight NAME`, then not a feature), a
//! file with one weight per row (`--sample-weight-file`: a 1-D .npy, or text with one number a
//! line), and class weights (`--class-weight balanced|LABEL=W,...`, scikit-learn's meaning).
//! They end as [`super::SampleWeights`] on the dataset; weights multiply when several are given.

use super::{labels::Label, Dataset, Matrix};
use crate::error::{Error, Result};
use std::path::Path;

/// Moves the feature column `name` out of X and attaches it as the sample weights.
pub fn take_weight_column(data: &mut Dataset, name: &str) -> Result<()> {
    let source = data.source.clone();
    let Some(col) = data.feature_names.iter().position(|h| h == name) else {
        let why = if data.target_name == name {
            "is the target column".to_string()
        } else {
            format!("not found (columns: {})", data.feature_names.join(", "))
        };
        return Err(Error::Format {
            path: source.into(),
            message: format!("sample-weight column `{name}` {why}"),
        });
    };
    let d = data.n_features();
    if d < 2 {
        return Err(Error::Format {
            path: source.into(),
            message: format!("sample-weight column `{name}` is the only feature column"),
        });
    }
    let x = data.x.view();
    let weights: Vec<f32> = x.column(col).to_vec();
    let kept: Vec<usize> = (0..d).filter(|&j| j != col).collect();
    let rest = x
        .select(ndarray::Axis(1), &kept)
        .as_standard_layout()
        .into_owned();
    data.x = Matrix::from(rest);
    data.feature_names.remove(col);
    data.set_weights(weights, &source)
}

/// Reads one weight per row from `path`: a 1-D f32/f64 .npy, or text with one number a line.
pub fn read_weight_file(path: &Path) -> Result<Vec<f32>> {
    Ok(read_numbers(path, "a sample weight")?
        .into_iter()
        .map(|v| v as f32)
        .collect())
}

/// Numbers from `path`: a 1-D .npy (read as f32), or text with one number a line (f64; blank
/// lines and `#` comments skipped). A bad line is an error naming the line and `what` it should
/// hold; an empty file is an error.
pub fn read_numbers(path: &Path, what: &str) -> Result<Vec<f64>> {
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        return Ok(super::npy::read_vector(path)?
            .into_iter()
            .map(f64::from)
            .collect());
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let v: f64 = t.parse().map_err(|_| Error::Parse {
            path: path.into(),
            line: i as u64 + 1,
            message: format!("cannot parse `{t}` as {what}"),
        })?;
        out.push(v);
    }
    if out.is_empty() {
        return Err(Error::EmptyFile { path: path.into() });
    }
    Ok(out)
}

/// `--class-weight`: `balanced` (n / (K · count_k), scikit-learn's) or explicit `LABEL=W` pairs
/// (labels not listed weigh 1).
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeight {
    Balanced,
    Given(Vec<(String, f64)>),
}

impl std::str::FromStr for ClassWeight {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "balanced" {
            return Ok(ClassWeight::Balanced);
        }
        let mut pairs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (label, w) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not LABEL=WEIGHT (or use `balanced`)"))?;
            let w: f64 = w
                .trim()
                .parse()
                .map_err(|_| format!("`{w}` in `{part}` is not a number"))?;
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!(
                    "weight {w} of `{label}` must be a finite number ≥ 0"
                ));
            }
            pairs.push((label.trim().to_string(), w));
        }
        if pairs.is_empty() {
            return Err("expected `balanced` or LABEL=WEIGHT,...".into());
        }
        Ok(ClassWeight::Given(pairs))
    }
}

/// Multiplies each row's weight by its class weight (`data` must have encoded classes).
pub fn apply_class_weight(data: &mut Dataset, cw: &ClassWeight) -> Result<()> {
    let Some(classes) = data.classes.clone() else {
        return Err(Error::invalid(
            "class-weight",
            "given",
            "is for classifiers (--model logistic or softmax)",
        ));
    };
    let k = classes.len();
    let per_class: Vec<f64> = match cw {
        ClassWeight::Balanced => {
            let mut count = vec![0usize; k];
            for &y in data.y.iter() {
                count[y as usize] += 1;
            }
            let n = data.n_rows() as f64;
            count
                .iter()
                .map(|&c| {
                    if c == 0 {
                        0.0
                    } else {
                        n / (k as f64 * c as f64)
                    }
                })
                .collect()
        }
        ClassWeight::Given(pairs) => {
            let mut w = vec![1.0; k];
            for (label, weight) in pairs {
                let pos = classes.iter().position(|c| match c {
                    Label::Int(v) => label.parse::<i64>().ok() == Some(*v),
                    Label::Text(t) => t == label,
                });
                let Some(pos) = pos else {
                    return Err(Error::invalid(
                        "class-weight",
                        label,
                        format!(
                            "is not a label of the data (labels: {})",
                            super::labels::preview(classes.iter(), 8)
                        ),
                    ));
                };
                w[pos] = *weight;
            }
            w
        }
    };
    let raw: Vec<f32> = data
        .y
        .iter()
        .map(|&y| per_class[y as usize] as f32)
        .collect();
    let source = data.source.clone();
    data.set_weights(raw, &format!("{source} (class weights)"))
}
