//! .npy input and output: X as a 2-D array (f32 or f64) in one file, y as a 1-D array (or n×1) in a
//! second file, by default `<stem>.target.npy` beside X.

use super::{open_input as open, Dataset};
use crate::error::{Error, Result};
use ndarray::{Array1, Array2, Ix1, Ix2};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};
use std::path::{Path, PathBuf};

/// `data/x.npy` -> `data/x.target.npy`.
pub fn default_target_path(x_path: &Path) -> PathBuf {
    x_path.with_extension("target.npy")
}

fn npy_err(path: &Path, e: ReadNpyError) -> Error {
    Error::Format {
        path: path.into(),
        message: format!("not a readable f32/f64 .npy array: {e}"),
    }
}

/// Reads an f32 or f64 array of dimension `D`, converting f64 to f32 (values beyond f32 range are
/// reported as non-finite by [`Dataset::new`]).
fn read_array<D: ndarray::Dimension>(path: &Path) -> Result<ndarray::Array<f32, D>> {
    match ndarray::Array::<f32, D>::read_npy(open(path)?) {
        Ok(a) => Ok(a),
        Err(ReadNpyError::WrongDescriptor(_)) => ndarray::Array::<f64, D>::read_npy(open(path)?)
            .map(|a| a.mapv(|v| v as f32))
            .map_err(|e| npy_err(path, e)),
        Err(e) => Err(npy_err(path, e)),
    }
}

pub fn read_npy_pair(x_path: &Path, y_path: &Path) -> Result<Dataset> {
    let x: Array2<f32> = read_array::<Ix2>(x_path)?;
    let y: Array1<f32> = match read_array::<Ix1>(y_path) {
        Ok(y) => y,
        // An n×1 column is accepted as well.
        Err(first) => match read_array::<Ix2>(y_path) {
            Ok(y2) if y2.ncols() == 1 => y2.column(0).to_owned(),
            _ => return Err(first),
        },
    };
    if x.nrows() != y.len() {
        return Err(Error::LengthMismatch {
            path: y_path.into(),
            x_rows: x.nrows(),
            y_rows: y.len(),
        });
    }
    Dataset::new(x, y, &x_path.display().to_string())
}

/// X alone (data to predict on); y is all zeros.
pub fn read_npy_x(x_path: &Path) -> Result<Dataset> {
    let x: Array2<f32> = read_array::<Ix2>(x_path)?;
    let y = Array1::zeros(x.nrows());
    Dataset::new(x, y, &x_path.display().to_string())
}

/// Serializes X and y to .npy bytes (X f32 2-D, y f32 1-D).
pub fn write_npy_pair(x: &Array2<f32>, y: &Array1<f32>) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut xb = Vec::new();
    let mut yb = Vec::new();
    let err = |e: ndarray_npy::WriteNpyError| Error::Format {
        path: PathBuf::from("<npy>"),
        message: e.to_string(),
    };
    x.write_npy(&mut xb).map_err(err)?;
    y.write_npy(&mut yb).map_err(err)?;
    Ok((xb, yb))
}
