//! Datasets: the design matrix X (rows × features, f32, row-major, as uploaded to the GPU), the
//! target y, and their names. Readers, generators and standardization live beside this file.

mod csv_reader;
pub mod generate;
pub mod labels;
mod libsvm;
mod matrix;
mod npy;
mod npz;
pub mod sparse;
pub mod split;
pub mod standardize;
pub mod weights;

use crate::error::{Error, Result};
use ndarray::{Array1, Array2};
use std::path::Path;

pub use csv_reader::{csv_headers, format_csv, read_csv, read_csv_with, CsvTarget};
pub use labels::Label;
pub use libsvm::{read_libsvm, write_libsvm};
pub use matrix::Matrix;
pub use npy::{default_target_path, read_npy_pair, read_npy_x, write_npy_files, write_npy_files_y};
pub use npz::{read_npz, read_npz_x, read_npz_x_only, write_npz};
pub use sparse::{Csc, Csr, Row, MAX_SPARSE_FEATURES};
pub use standardize::Standardizer;

#[derive(Clone, Debug)]
pub struct Dataset {
    /// Rows × features: dense row-major (owned or memory-mapped), or sparse CSR.
    pub x: Matrix,
    pub y: Array1<f32>,
    pub feature_names: Vec<String>,
    pub target_name: String,
    /// Where the data came from (a path or "built-in ..."), for messages and the model JSON.
    pub source: String,
    /// For classifiers: the original labels, sorted; y holds indices into this list.
    pub classes: Option<Vec<Label>>,
    /// The target column as text, kept by the CSV reader for classifiers until labels::encode.
    pub target_text: Option<Vec<String>>,
    /// The line of the input file each row came from (text formats), for error messages.
    pub row_lines: Option<Vec<u64>>,
    /// Per-row sample weights (`--sample-weight`, `--class-weight`); `None`: every row weighs 1.
    pub weights: Option<SampleWeights>,
}

/// Sample weights as given, and scaled to mean 1: the objective (1/Σw) Σ wᵢ·loss equals
/// (1/m) Σ ŵᵢ·loss with ŵ = w·m/Σw, so every kernel keeps its 1/m and multiplies each row's
/// residual and loss by ŵᵢ (one more f32 per row).
#[derive(Clone, Debug, PartialEq)]
pub struct SampleWeights {
    /// The weights as given (after class weights), ≥ 0, not all 0.
    pub raw: Vec<f32>,
    /// w·m/Σw: mean 1, in f32 as the GPU kernels read them.
    pub scaled: Vec<f32>,
    /// m/Σw: the CPU computes ŵᵢ = wᵢ·scale in f64, so that integer weights act exactly as
    /// repeated rows (f32 rounding of ŵ would perturb the problem by ~6e-8 relative).
    pub scale: f64,
    /// Σw of the raw weights.
    pub sum: f64,
}

impl SampleWeights {
    /// Checks `raw` (finite, ≥ 0, not all 0) and scales it; errors name `source` and the row.
    pub fn new(raw: Vec<f32>, source: &str, locate: impl Fn(usize) -> String) -> Result<Self> {
        for (i, &w) in raw.iter().enumerate() {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::Format {
                    path: source.into(),
                    message: format!(
                        "{}: sample weight {w} must be a finite number ≥ 0",
                        locate(i)
                    ),
                });
            }
        }
        let sum: f64 = raw.iter().map(|&w| w as f64).sum();
        if sum <= 0.0 {
            return Err(Error::Format {
                path: source.into(),
                message: "every sample weight is 0: no row is left to fit".into(),
            });
        }
        let scale = raw.len() as f64 / sum;
        let scaled = raw.iter().map(|&w| (w as f64 * scale) as f32).collect();
        Ok(SampleWeights {
            raw,
            scaled,
            sum,
            scale,
        })
    }
}

/// The file formats the readers understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Npy,
    Libsvm,
    /// SciPy's `save_npz` (CSR or CSC), y in `<stem>.target.npy`.
    Npz,
}

impl Format {
    /// From the extension: .csv, .npy, .libsvm / .svm / .svmlight.
    pub fn from_path(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("npy") => Ok(Format::Npy),
            Some("libsvm" | "svm" | "svmlight") => Ok(Format::Libsvm),
            Some("npz") => Ok(Format::Npz),
            _ => Err(Error::Format {
                path: path.into(),
                message: "unknown file type: expected .csv, .npy, .npz or .libsvm/.svm (or pass \
                          --format)"
                    .into(),
            }),
        }
    }
}

/// How to read a data file: format (None: from the extension), target, and the classifier's needs.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions<'a> {
    pub format: Option<Format>,
    /// Target column of a CSV file (default: the last).
    pub target: Option<&'a str>,
    /// y of an .npy X (default: `<stem>.target.npy`).
    pub target_file: Option<&'a Path>,
    /// Keep the CSV target column as text (class labels may be words).
    pub text_target: bool,
    /// Width of LIBSVM data (default: the largest index).
    pub features: Option<usize>,
    /// LIBSVM: Some(true) keeps X sparse (`--sparse`), Some(false) densifies it (`--dense`),
    /// None decides by density ([`SPARSE_BELOW_DENSITY`]). .npz is always sparse.
    pub sparse: Option<bool>,
}

/// LIBSVM data with fewer stored entries than this fraction of rows × features stays sparse.
pub const SPARSE_BELOW_DENSITY: f64 = 0.1;

/// Most feature columns dense data may have (a dense model wider than this is out of scope, and
/// a stray LIBSVM index must not ask for terabytes). Sparse data goes to [`MAX_SPARSE_FEATURES`].
pub const MAX_FEATURES: usize = 1 << 20;

/// Bytes of memory the system can still give (Linux: MemAvailable), to refuse a dense matrix that
/// cannot fit before allocating it. `None` where it is not known.
pub(crate) fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Opens an input file for reading: a directory or an empty file is an error naming the path.
pub fn open_input(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::Format {
            path: path.into(),
            message: "is a directory, expected a file".into(),
        });
    }
    if meta.len() == 0 {
        return Err(Error::EmptyFile { path: path.into() });
    }
    Ok(std::io::BufReader::new(file))
}

impl Dataset {
    pub fn n_rows(&self) -> usize {
        self.x.nrows()
    }
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// X as one row-major slice (rows × features). Dense X only (see [`Dataset::require_dense`]).
    pub fn x_slice(&self) -> &[f32] {
        self.x.as_slice()
    }

    /// The feature names: as read, or for sparse data without stored names f1..fd (the LIBSVM
    /// indices).
    pub fn names(&self) -> std::borrow::Cow<'_, [String]> {
        if self.feature_names.is_empty() {
            std::borrow::Cow::Owned((1..=self.n_features()).map(|j| format!("f{j}")).collect())
        } else {
            std::borrow::Cow::Borrowed(&self.feature_names)
        }
    }

    /// Row i of X, dense or sparse.
    #[inline]
    pub fn row(&self, i: usize) -> Row<'_> {
        self.x.row(i)
    }

    pub fn is_sparse(&self) -> bool {
        self.x.is_sparse()
    }

    /// An error naming the data when X is sparse and `what` needs it dense.
    pub fn require_dense(&self, what: &str) -> Result<()> {
        match self.x.csr() {
            Some(c) => Err(Error::Format {
                path: self.source.clone().into(),
                message: format!(
                    "X is sparse ({} × {}, {} stored values); {what} needs dense data (for a \
                     narrow LIBSVM file pass --dense)",
                    c.nrows(),
                    c.ncols(),
                    c.nnz()
                ),
            }),
            None => Ok(()),
        }
    }

    /// Bytes of X as stored: rows × features × 4 dense, or the CSR arrays.
    pub fn x_bytes(&self) -> u64 {
        match self.x.csr() {
            Some(c) => c.bytes(),
            None => 4 * self.n_rows() as u64 * self.n_features() as u64,
        }
    }

    /// Stored entries of X (rows × features when dense).
    pub fn x_nnz(&self) -> u64 {
        match self.x.csr() {
            Some(c) => c.nnz() as u64,
            None => self.n_rows() as u64 * self.n_features() as u64,
        }
    }

    /// Calls `f` on consecutive ranges of `rows_per_task` rows in parallel, the results in order
    /// (so sums over them are the same whatever rayon's split).
    pub fn par_row_blocks<T: Send>(
        &self,
        rows_per_task: usize,
        f: impl Fn(std::ops::Range<usize>) -> T + Sync + Send,
    ) -> Vec<T> {
        use rayon::prelude::*;
        let n = self.n_rows();
        (0..n.div_ceil(rows_per_task))
            .into_par_iter()
            .map(|b| f(b * rows_per_task..((b + 1) * rows_per_task).min(n)))
            .collect()
    }

    pub fn y_slice(&self) -> &[f32] {
        self.y.as_slice().expect("Dataset keeps y contiguous")
    }

    /// Builds a dataset, checking shapes and that every value is finite.
    pub fn new(x: Array2<f32>, y: Array1<f32>, source: &str) -> Result<Self> {
        Self::from_matrix(Matrix::from(x), y, source)
    }

    /// As [`Dataset::new`], for an owned or memory-mapped X.
    pub fn from_matrix(x: Matrix, y: Array1<f32>, source: &str) -> Result<Self> {
        use rayon::prelude::*;
        let path = Path::new(source);
        if x.nrows() != y.len() {
            return Err(Error::LengthMismatch {
                path: path.into(),
                x_rows: x.nrows(),
                y_rows: y.len(),
            });
        }
        if x.nrows() == 0 {
            return Err(Error::Format {
                path: path.into(),
                message: "no data rows".into(),
            });
        }
        if x.ncols() == 0 {
            return Err(Error::Format {
                path: path.into(),
                message: "no feature columns".into(),
            });
        }
        if !x.is_sparse() && x.ncols() > MAX_FEATURES {
            return Err(Error::Format {
                path: path.into(),
                message: format!(
                    "{} feature columns exceed the limit of {MAX_FEATURES}",
                    x.ncols()
                ),
            });
        }
        // One parallel pass (a mapped X is read, not copied; a CSR was checked when built).
        if let Some(i) = (!x.is_sparse())
            .then(|| x.as_slice().par_iter().position_first(|v| !v.is_finite()))
            .flatten()
        {
            return Err(Error::NonFinite {
                path: path.into(),
                what: "X",
                row: i / x.ncols(),
                column: i % x.ncols(),
                value: x.as_slice()[i] as f64,
            });
        }
        if let Some((row, v)) = y.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                path: path.into(),
                what: "y",
                row,
                column: 0,
                value: *v as f64,
            });
        }
        // Sparse data may be millions of columns wide: its names (f1, f2, ...) are made when
        // asked for (see `names`), not stored as d strings.
        let feature_names = if x.is_sparse() {
            Vec::new()
        } else {
            (0..x.ncols()).map(|j| format!("x{j}")).collect()
        };
        Ok(Dataset {
            x,
            y,
            feature_names,
            target_name: "y".into(),
            source: source.into(),
            classes: None,
            target_text: None,
            row_lines: None,
            weights: None,
        })
    }

    /// K for a classifier (1 for regression data).
    pub fn n_classes(&self) -> usize {
        self.classes.as_ref().map_or(1, Vec::len)
    }

    /// "line 17" when the row's line is known, else "row 15" (counted from 0).
    pub fn locate(&self, row: usize) -> String {
        match self.row_lines.as_ref().and_then(|l| l.get(row)) {
            Some(line) => format!("line {line}"),
            None => format!("row {row}"),
        }
    }

    /// The rows `rows` of this dataset (same names and classes), for validation splits.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        let x = match self.x.csr() {
            Some(c) => Matrix::sparse(c.select(rows)),
            None => Matrix::from(
                self.x
                    .view()
                    .select(ndarray::Axis(0), rows)
                    .as_standard_layout()
                    .into_owned(),
            ),
        };
        Dataset {
            x,
            y: self.y.select(ndarray::Axis(0), rows),
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
            source: self.source.clone(),
            classes: self.classes.clone(),
            target_text: self
                .target_text
                .as_ref()
                .map(|t| rows.iter().map(|&r| t[r].clone()).collect()),
            row_lines: self
                .row_lines
                .as_ref()
                .map(|l| rows.iter().map(|&r| l[r]).collect()),
            // Rescaled over the rows kept; a part whose weights are all 0 becomes unweighted
            // (the validation split checks that the training part has weight).
            weights: self.weights.as_ref().and_then(|w| {
                let raw = rows.iter().map(|&r| w.raw[r]).collect();
                SampleWeights::new(raw, &self.source, |i| format!("row {i}")).ok()
            }),
        }
    }

    /// Attaches per-row sample weights (`raw`, one per row, as given); they multiply any already
    /// attached (class weights after sample weights).
    pub fn set_weights(&mut self, raw: Vec<f32>, source: &str) -> Result<()> {
        if raw.len() != self.n_rows() {
            return Err(Error::Format {
                path: source.into(),
                message: format!(
                    "has {} sample weights but the data has {} rows",
                    raw.len(),
                    self.n_rows()
                ),
            });
        }
        let raw = match &self.weights {
            Some(old) => old.raw.iter().zip(&raw).map(|(a, b)| a * b).collect(),
            None => raw,
        };
        self.weights = Some(SampleWeights::new(raw, source, |i| self.locate(i))?);
        Ok(())
    }

    /// The row weights scaled to mean 1, when the data is weighted.
    pub fn row_weights(&self) -> Option<&[f32]> {
        self.weights.as_ref().map(|w| w.scaled.as_slice())
    }

    /// ŵᵢ (1 without weights).
    #[inline]
    pub fn row_weight(&self, i: usize) -> f64 {
        self.weights
            .as_ref()
            .map_or(1.0, |w| w.raw[i] as f64 * w.scale)
    }

    /// Σw: the sum of the weights as given, or the number of rows. scikit-learn's
    /// LogisticRegression(C) converts with this in place of n.
    pub fn weight_sum(&self) -> f64 {
        self.weights
            .as_ref()
            .map_or(self.n_rows() as f64, |w| w.sum)
    }

    /// A validation set must have the training data's width and classes.
    pub fn check_compatible(&self, other: &Dataset) -> Result<()> {
        if other.n_features() != self.n_features() {
            return Err(Error::Format {
                path: other.source.clone().into(),
                message: format!(
                    "has {} features but the training data has {}",
                    other.n_features(),
                    self.n_features()
                ),
            });
        }
        if other.classes != self.classes {
            return Err(Error::Format {
                path: other.source.clone().into(),
                message: "its class labels were not encoded with the training classes".into(),
            });
        }
        Ok(())
    }

    /// Reads `.csv` (header row; target column `target`, default the last), `.npy` (X in `path`,
    /// y in `target_file`, default `<stem>.target.npy`), LIBSVM text (`label idx:value ...`,
    /// sparse or dense) or SciPy's sparse `.npz` (y as for .npy).
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Self> {
        let format = match options.format {
            Some(f) => f,
            None => Format::from_path(path)?,
        };
        match format {
            Format::Npy => {
                let default_y = default_target_path(path);
                read_npy_pair(path, options.target_file.unwrap_or(&default_y))
            }
            Format::Csv => read_csv(path, options.target, options.text_target),
            Format::Libsvm => read_libsvm(path, options.features, options.sparse),
            Format::Npz => {
                let default_y = default_target_path(path);
                read_npz(path, options.target_file.unwrap_or(&default_y))
            }
        }
    }
}
