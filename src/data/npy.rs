//! .npy input and output: X as a 2-D array (f32 or f64) in one file, y as a 1-D array (or n×1) in a
//! second file, by default `<stem>.target.npy` beside X. A little-endian f32 X in C order is
//! memory-mapped, not read into memory; other X files are read and converted to f32.

use super::{open_input as open, Dataset, Matrix};
use crate::error::{Error, Result};
use ndarray::{Array1, ArrayView2, Ix1, Ix2};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ViewNpyExt, WriteNpyExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Refuses a .npy file whose header declares more data than the file holds, before anything is
/// allocated for it (a damaged 100-byte header must not ask for gigabytes). Headers this simple
/// parser does not follow are left to the .npy reader, which reports them.
fn check_declared_size(path: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = open(path)?;
    let file_len = file
        .get_ref()
        .metadata()
        .map_err(|e| Error::io(path, e))?
        .len();
    let mut head = vec![0u8; 12];
    if file.read_exact(&mut head).is_err() || &head[..6] != b"\x93NUMPY" {
        return Ok(());
    }
    let (header_len, start) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as u64, 10u64),
        2 | 3 => (
            u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as u64,
            12u64,
        ),
        _ => return Ok(()),
    };
    if start + header_len > file_len {
        return Err(Error::Format {
            path: path.into(),
            message: format!(
                "truncated .npy: the header declares {header_len} bytes but the file has {file_len}"
            ),
        });
    }
    let mut header = vec![0u8; header_len as usize];
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_exact(&mut header).is_err() {
        return Ok(());
    }
    let header = String::from_utf8_lossy(&header);
    let field = |name: &str| -> Option<String> {
        let at = header.find(&format!("'{name}'"))? + name.len() + 2;
        let after = header[at..].trim_start().strip_prefix(':')?.trim_start();
        Some(after.to_string())
    };
    let Some(descr) = field("descr") else {
        return Ok(());
    };
    let itemsize: u64 = match descr
        .trim_start_matches(['\'', '"'])
        .get(2..)
        .map(|t| {
            t.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|d| d.parse().ok())
    {
        Some(size) => size,
        None => return Ok(()),
    };
    let Some(shape) = field("shape") else {
        return Ok(());
    };
    let Some(inner) = shape.strip_prefix('(').and_then(|t| t.split(')').next()) else {
        return Ok(());
    };
    let mut elements: u64 = 1;
    for dim in inner.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let Ok(n) = dim.parse::<u64>() else {
            return Ok(());
        };
        elements = elements.saturating_mul(n);
    }
    let needed = elements.saturating_mul(itemsize);
    let holds = file_len - start - header_len;
    if needed > holds {
        return Err(Error::Format {
            path: path.into(),
            message: format!(
                "truncated .npy: the header declares shape ({inner}) of {itemsize}-byte values \
                 ({needed} bytes) but the file holds {holds} bytes of data"
            ),
        });
    }
    Ok(())
}

/// Reads an f32 or f64 array of dimension `D`, converting f64 to f32 (values beyond f32 range are
/// reported as non-finite by [`Dataset::new`]).
/// The caller has run [`check_declared_size`] on `path`.
fn read_array<D: ndarray::Dimension>(path: &Path) -> Result<ndarray::Array<f32, D>> {
    match ndarray::Array::<f32, D>::read_npy(open(path)?) {
        Ok(a) => Ok(a),
        Err(ReadNpyError::WrongDescriptor(_)) => ndarray::Array::<f64, D>::read_npy(open(path)?)
            .map(|a| a.mapv(|v| v as f32))
            .map_err(|e| npy_err(path, e)),
        Err(e) => Err(npy_err(path, e)),
    }
}

/// A 1-D f32/f64 array (sample weights), its declared size checked against the file first.
pub(crate) fn read_vector(path: &Path) -> Result<Vec<f32>> {
    check_declared_size(path)?;
    Ok(read_array::<ndarray::Ix1>(path)?.to_vec())
}

/// X memory-mapped when the file holds little-endian f32 in C order; `None` for any other .npy
/// (read by [`read_array`] instead).
fn map_x(path: &Path) -> Result<Option<Matrix>> {
    let file = open(path)?.into_inner();
    // SAFETY: the map is read-only and private to this process. If another process truncates the
    // file while it is mapped, reads of the lost pages fault; gpu-regfit never writes to its input.
    let map = match unsafe { memmap2::Mmap::map(&file) } {
        Ok(map) => Arc::new(map),
        Err(_) => return Ok(None),
    };
    let (rows, cols, offset) = match ArrayView2::<f32>::view_npy(&map) {
        Ok(view) if view.is_standard_layout() => (
            view.nrows(),
            view.ncols(),
            view.as_ptr() as usize - map.as_ptr() as usize,
        ),
        _ => return Ok(None),
    };
    Ok(Matrix::mapped(map, offset, rows, cols))
}

fn read_x(path: &Path) -> Result<Matrix> {
    check_declared_size(path)?;
    match map_x(path)? {
        Some(x) => Ok(x),
        None => read_array::<Ix2>(path).map(Matrix::from),
    }
}

/// y: a 1-D f32/f64 array, or an n×1 column.
pub(crate) fn read_target(y_path: &Path) -> Result<Array1<f32>> {
    check_declared_size(y_path)?;
    match read_array::<Ix1>(y_path) {
        Ok(y) => Ok(y),
        Err(first) => match read_array::<Ix2>(y_path) {
            Ok(y2) if y2.ncols() == 1 => Ok(y2.column(0).to_owned()),
            _ => Err(first),
        },
    }
}

pub fn read_npy_pair(x_path: &Path, y_path: &Path) -> Result<Dataset> {
    let x = read_x(x_path)?;
    let y = read_target(y_path)?;
    if x.nrows() != y.len() {
        return Err(Error::LengthMismatch {
            path: y_path.into(),
            x_rows: x.nrows(),
            y_rows: y.len(),
        });
    }
    Dataset::from_matrix(x, y, &x_path.display().to_string())
}

/// X alone (data to predict on); y is all zeros.
pub fn read_npy_x(x_path: &Path) -> Result<Dataset> {
    let x = read_x(x_path)?;
    let y = Array1::zeros(x.nrows());
    Dataset::from_matrix(x, y, &x_path.display().to_string())
}

/// Writes X (f32, 2-D) to `x_path` and y (f32, 1-D) to `y_path` as .npy, each atomically and
/// without building the file in memory.
pub fn write_npy_files(
    x: ArrayView2<f32>,
    y: &Array1<f32>,
    x_path: &Path,
    y_path: &Path,
) -> Result<()> {
    let npy = |e: ndarray_npy::WriteNpyError| std::io::Error::other(e.to_string());
    crate::report::write_atomic_with(x_path, |w| x.write_npy(w).map_err(npy))?;
    crate::report::write_atomic_with(y_path, |w| y.write_npy(w).map_err(npy))?;
    Ok(())
}

/// Writes y (f32, 1-D) to `y_path` as .npy, atomically.
pub fn write_npy_files_y(y: &Array1<f32>, y_path: &Path) -> Result<()> {
    let npy = |e: ndarray_npy::WriteNpyError| std::io::Error::other(e.to_string());
    crate::report::write_atomic_with(y_path, |w| y.write_npy(w).map_err(npy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    #[test]
    fn f32_x_is_mapped_and_f64_x_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let x = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f32 * 0.5);
        let y = Array1::from_iter((0..5).map(|v| v as f32));
        let (xp, yp) = (dir.path().join("x.npy"), dir.path().join("x.target.npy"));
        write_npy_files(x.view(), &y, &xp, &yp).unwrap();
        let mapped = read_npy_pair(&xp, &yp).unwrap();
        assert!(mapped.x.is_mapped());
        assert_eq!(mapped.x.view(), x.view());
        assert_eq!(mapped.y, y);

        let x64 = x.mapv(|v| v as f64);
        let f64_path = dir.path().join("x64.npy");
        x64.write_npy(std::fs::File::create(&f64_path).unwrap())
            .unwrap();
        let read = read_npy_pair(&f64_path, &yp).unwrap();
        assert!(!read.x.is_mapped());
        assert_eq!(read.x.view(), x.view());
    }
}
