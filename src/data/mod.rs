//! Datasets: the design matrix X (rows × features, f32, row-major, as uploaded to the GPU), the
//! target y, and their names. Readers, generators and standardization live beside this file.

mod csv_reader;
pub mod generate;
mod npy;
pub mod standardize;

use crate::error::{Error, Result};
use ndarray::{Array1, Array2};
use std::path::Path;

pub use csv_reader::{format_csv, read_csv};
pub use npy::{default_target_path, read_npy_pair, write_npy_pair};
pub use standardize::Standardizer;

#[derive(Clone, Debug)]
pub struct Dataset {
    /// Rows × features, row-major (standard layout).
    pub x: Array2<f32>,
    pub y: Array1<f32>,
    pub feature_names: Vec<String>,
    pub target_name: String,
    /// Where the data came from (a path or "built-in ..."), for messages and the model JSON.
    pub source: String,
}

/// Opens an input file for reading: a directory or an empty file is an error naming the path.
pub(crate) fn open_input(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
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

    /// Builds a dataset, checking shapes and that every value is finite.
    pub fn new(x: Array2<f32>, y: Array1<f32>, source: &str) -> Result<Self> {
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
        if let Some(((row, column), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                path: path.into(),
                what: "X",
                row,
                column,
                value: *v as f64,
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
        let x = if x.is_standard_layout() {
            x
        } else {
            x.as_standard_layout().into_owned()
        };
        let feature_names = (0..x.ncols()).map(|j| format!("x{j}")).collect();
        Ok(Dataset {
            x,
            y,
            feature_names,
            target_name: "y".into(),
            source: source.into(),
        })
    }

    /// Reads `.csv` (header row; target column `target`, default the last) or `.npy`
    /// (X in `path`, y in `target_file`, default `<stem>.target.npy`).
    pub fn load(path: &Path, target: Option<&str>, target_file: Option<&Path>) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(ext) if ext == "npy" => {
                let default_y = default_target_path(path);
                read_npy_pair(path, target_file.unwrap_or(&default_y))
            }
            Some(ext) if ext == "csv" => read_csv(path, target),
            _ => Err(Error::Format {
                path: path.into(),
                message: "unknown file type: expected .csv or .npy".into(),
            }),
        }
    }
}
