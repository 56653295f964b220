//! SciPy's sparse `.npz` (`scipy.sparse.save_npz`): a zip of .npy arrays `data`, `indices`,
//! `indptr`, `shape` and `format` (b"csr" or b"csc"), stored or deflated. Read natively into CSR
//! (a CSC file is transposed once); y comes from `<stem>.target.npy` as for an .npy X.
//!
//! Nothing is allocated from an unchecked header: each array's declared shape must match the size
//! of its zip entry, the bytes are read as they arrive (a lying header gets a short read, not a
//! large allocation), and the arrays must agree with each other ([`Csr::new`]) before use.

use super::{open_input, Csr, Dataset, Matrix};
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::Path;

/// Largest .npy header accepted inside an .npz (NumPy writes under 200 bytes).
const MAX_HEADER: usize = 1 << 16;

/// One array of the archive: its element type (NumPy descr) and shape, and its raw bytes.
struct Array {
    descr: String,
    shape: Vec<u64>,
    bytes: Vec<u8>,
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.into(),
        message: message.into(),
    }
}

/// The value of `'key':` in a .npy header dict, up to the next top-level comma.
fn header_field<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        return rest.find(')').map(|e| &rest[..=e]);
    }
    Some(rest.split([',', '}']).next()?.trim())
}

fn read_array(
    archive: &mut zip::ZipArchive<std::io::BufReader<std::fs::File>>,
    name: &str,
    path: &Path,
) -> Result<Array> {
    let mut entry = archive.by_name(&format!("{name}.npy")).map_err(|e| {
        bad(
            path,
            format!("no `{name}.npy` in the archive ({e}); expected scipy.sparse.save_npz output"),
        )
    })?;
    let entry_size = entry.size();
    let what = |m: String| bad(path, format!("`{name}.npy`: {m}"));
    // Deflate expands at most ~1032:1: a larger declared size is a damaged (or hostile) entry,
    // refused before its bytes are inflated.
    if entry_size
        > entry
            .compressed_size()
            .saturating_mul(1100)
            .saturating_add(1 << 16)
    {
        return Err(what(format!(
            "declares {entry_size} bytes from {} compressed: not a valid entry",
            entry.compressed_size()
        )));
    }
    let mut head = [0u8; 10];
    entry
        .read_exact(&mut head)
        .map_err(|e| what(format!("cannot read the .npy header: {e}")))?;
    if &head[..6] != b"\x93NUMPY" {
        return Err(what("not an .npy array (no \\x93NUMPY magic)".into()));
    }
    let (header_len, prefix) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as usize, 10usize),
        2 | 3 => {
            let mut more = [0u8; 2];
            entry
                .read_exact(&mut more)
                .map_err(|e| what(format!("cannot read the .npy header: {e}")))?;
            (
                u32::from_le_bytes([head[8], head[9], more[0], more[1]]) as usize,
                12usize,
            )
        }
        v => return Err(what(format!("unknown .npy version {v}"))),
    };
    if header_len > MAX_HEADER {
        return Err(what(format!("header of {header_len} bytes is too long")));
    }
    let mut header = vec![0u8; header_len];
    entry
        .read_exact(&mut header)
        .map_err(|e| what(format!("truncated header: {e}")))?;
    let header = String::from_utf8_lossy(&header).into_owned();
    let descr = header_field(&header, "descr")
        .map(|d| d.trim_matches(['\'', '"']).to_string())
        .ok_or_else(|| what("the header has no descr".into()))?;
    if header_field(&header, "fortran_order") == Some("True") {
        return Err(what("Fortran order is not supported".into()));
    }
    let shape_text =
        header_field(&header, "shape").ok_or_else(|| what("the header has no shape".into()))?;
    let mut shape = Vec::new();
    for dim in shape_text
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        shape.push(
            dim.parse::<u64>()
                .map_err(|_| what(format!("bad shape {shape_text}")))?,
        );
    }
    let itemsize: u64 = descr
        .get(2..)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| what(format!("unsupported element type `{descr}`")))?;
    let count = shape
        .iter()
        .try_fold(1u64, |a, &b| a.checked_mul(b))
        .ok_or_else(|| what(format!("shape {shape_text} overflows")))?;
    let nbytes = count
        .checked_mul(itemsize)
        .ok_or_else(|| what(format!("shape {shape_text} overflows")))?;
    // The zip entry's declared size must hold exactly the header and the data.
    if entry_size != (prefix + header_len) as u64 + nbytes {
        return Err(what(format!(
            "the header declares shape {shape_text} of {itemsize}-byte values ({nbytes} bytes) but \
             the entry holds {} bytes of data",
            entry_size.saturating_sub((prefix + header_len) as u64)
        )));
    }
    let mut bytes = Vec::with_capacity(nbytes.min(64 << 20) as usize);
    entry
        .by_ref()
        .take(nbytes)
        .read_to_end(&mut bytes)
        .map_err(|e| what(format!("cannot read the data: {e}")))?;
    if bytes.len() as u64 != nbytes {
        return Err(what(format!(
            "truncated: {} of the {nbytes} data bytes are there",
            bytes.len()
        )));
    }
    Ok(Array {
        descr,
        shape,
        bytes,
    })
}

impl Array {
    /// The values as i128 (integer arrays: offsets, indices, shape).
    fn integers(&self, path: &Path, name: &str) -> Result<Vec<i128>> {
        let b = &self.bytes;
        let v: Vec<i128> = match self.descr.as_str() {
            "<i8" => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as i128)
                .collect(),
            "<u8" => b
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()) as i128)
                .collect(),
            "<i4" => b
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i128)
                .collect(),
            "<u4" => b
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as i128)
                .collect(),
            other => {
                return Err(bad(
                    path,
                    format!("`{name}.npy` has element type `{other}`, expected an integer type"),
                ))
            }
        };
        Ok(v)
    }

    /// The values as f32 (values beyond f32 range become non-finite, which Csr::new reports).
    fn floats(&self, path: &Path) -> Result<Vec<f32>> {
        let b = &self.bytes;
        let v = match self.descr.as_str() {
            "<f4" => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            "<f8" => b
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
                .collect(),
            "|b1" | "|u1" => b.iter().map(|&v| v as f32).collect(),
            "|i1" => b.iter().map(|&v| v as i8 as f32).collect(),
            "<i4" | "<i8" | "<u4" | "<u8" => self
                .integers(path, "data")?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            other => {
                return Err(bad(
                    path,
                    format!("`data.npy` has element type `{other}`, expected f32/f64/int"),
                ))
            }
        };
        Ok(v)
    }
}

/// Offsets and indices as u64/u32, each checked to lie in 0..=limit.
fn checked<T: TryFrom<i128>>(
    values: Vec<i128>,
    limit: u64,
    path: &Path,
    what: &str,
) -> Result<Vec<T>> {
    values
        .into_iter()
        .enumerate()
        .map(|(k, v)| {
            if v < 0 || v > limit as i128 {
                return Err(bad(
                    path,
                    format!("{what}[{k}] = {v} is outside 0..={limit}"),
                ));
            }
            T::try_from(v).map_err(|_| bad(path, format!("{what}[{k}] = {v} is too large")))
        })
        .collect()
}

/// X from a SciPy sparse .npz (CSR or CSC), checked, as CSR.
pub fn read_npz_x(path: &Path) -> Result<Csr> {
    let file = open_input(path)?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| bad(path, format!("not a readable .npz (zip) archive: {e}")))?;
    let format = read_array(&mut archive, "format", path)?;
    let kind = String::from_utf8_lossy(&format.bytes)
        .replace('\0', "")
        .to_ascii_lowercase();
    if kind != "csr" && kind != "csc" {
        return Err(bad(
            path,
            format!("holds a `{kind}` matrix; gpu-regfit reads CSR or CSC (in SciPy: X.tocsr())"),
        ));
    }
    let shape = read_array(&mut archive, "shape", path)?.integers(path, "shape")?;
    let [rows, cols] = shape[..] else {
        return Err(bad(
            path,
            format!("`shape.npy` has {} entries, expected 2", shape.len()),
        ));
    };
    if rows < 0 || cols < 0 || rows > u32::MAX as i128 || cols > super::MAX_SPARSE_FEATURES as i128
    {
        return Err(bad(
            path,
            format!(
                "shape ({rows}, {cols}) is out of range (at most {} rows and {} columns)",
                u32::MAX,
                super::MAX_SPARSE_FEATURES
            ),
        ));
    }
    let (rows, cols) = (rows as usize, cols as usize);
    let (major, minor) = if kind == "csr" {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let indptr = read_array(&mut archive, "indptr", path)?;
    if indptr.shape != [major as u64 + 1] {
        return Err(bad(
            path,
            format!(
                "`indptr.npy` has shape {:?}, expected ({},) for a {kind} matrix of shape ({rows}, {cols})",
                indptr.shape,
                major + 1
            ),
        ));
    }
    let indices = read_array(&mut archive, "indices", path)?;
    let data = read_array(&mut archive, "data", path)?;
    let nnz = indices.shape.iter().product::<u64>();
    let indptr: Vec<u64> = checked(indptr.integers(path, "indptr")?, nnz, path, "indptr")?;
    let indices: Vec<u32> = checked(
        indices.integers(path, "indices")?,
        minor.saturating_sub(1) as u64,
        path,
        "indices",
    )?;
    let values = data.floats(path)?;
    if kind == "csr" {
        Csr::new(rows, cols, indptr, indices, values, path)
    } else {
        Csr::from_csc(rows, cols, indptr, indices, values, path)
    }
}

/// X from `x_path` (.npz) and y from `y_path` (.npy).
pub fn read_npz(x_path: &Path, y_path: &Path) -> Result<Dataset> {
    let csr = read_npz_x(x_path)?;
    let y = super::npy::read_target(y_path)?;
    if csr.nrows() != y.len() {
        return Err(Error::LengthMismatch {
            path: y_path.into(),
            x_rows: csr.nrows(),
            y_rows: y.len(),
        });
    }
    let data = Dataset::from_matrix(Matrix::sparse(csr), y, &x_path.display().to_string())?;
    Ok(data)
}

/// X alone (data to predict on); y is all zeros.
pub fn read_npz_x_only(x_path: &Path) -> Result<Dataset> {
    let csr = read_npz_x(x_path)?;
    let y = ndarray::Array1::zeros(csr.nrows());
    let data = Dataset::from_matrix(Matrix::sparse(csr), y, &x_path.display().to_string())?;
    Ok(data)
}

/// One .npy array's bytes: header (version 1, padded to 64) then the data.
fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let total = (10 + dict.len() + 1).next_multiple_of(64);
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

/// Writes `x` as SciPy's CSR .npz (stored, not deflated: it reloads at disk speed), atomically.
/// Offsets are int64 and indices int32, as SciPy writes them for large matrices.
pub fn write_npz(x: &Csr, path: &Path) -> Result<()> {
    crate::report::write_atomic_with(path, |w| {
        let zerr = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
        let mut zip = zip::ZipWriter::new_stream(w);
        let options = |bytes: u64| {
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .large_file(bytes >= u32::MAX as u64 / 2)
        };
        let mut array = |name: &str, descr: &str, shape: String, data: &[u8]| {
            zip.start_file(format!("{name}.npy"), options(data.len() as u64 + 128))
                .map_err(zerr)?;
            zip.write_all(&npy_header(descr, &shape))?;
            // In pieces: the stream writer buffers nothing large.
            for piece in data.chunks(8 << 20) {
                zip.write_all(piece)?;
            }
            std::io::Result::Ok(())
        };
        let indices: &[u8] = bytemuck::cast_slice(x.indices());
        let indptr: &[u8] = bytemuck::cast_slice(x.indptr());
        let values: &[u8] = bytemuck::cast_slice(x.values());
        array("indices", "<i4", format!("({},)", x.nnz()), indices)?;
        array("indptr", "<i8", format!("({},)", x.nrows() + 1), indptr)?;
        array("format", "|S3", "()".into(), b"csr")?;
        let shape = [x.nrows() as i64, x.ncols() as i64];
        array("shape", "<i8", "(2,)".into(), bytemuck::cast_slice(&shape))?;
        array("data", "<f4", format!("({},)", x.nnz()), values)?;
        zip.finish().map_err(zerr)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let x = ndarray::array![[0.0f32, 1.5, 0.0], [2.0, 0.0, -1.0], [0.0, 0.0, 0.0]];
        let c = Csr::from_dense(x.view());
        let p = dir.path().join("x.npz");
        write_npz(&c, &p).unwrap();
        assert_eq!(read_npz_x(&p).unwrap(), c);
    }

    #[test]
    fn header_fields() {
        let h = "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 4), }";
        assert_eq!(header_field(h, "descr"), Some("'<i4'"));
        assert_eq!(header_field(h, "shape"), Some("(3, 4)"));
        assert_eq!(header_field(h, "fortran_order"), Some("False"));
    }
}
