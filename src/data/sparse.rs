//! Sparse X in CSR: for each row, its nonzero columns (u32, strictly increasing) and values (f32),
//! row i spanning `indptr[i]..indptr[i + 1]` (u64, so a row of offsets never overflows). A wide
//! text or click-log set (news20: 1.4M features) is kept like this from the reader to the GPU and
//! never densified. [`Row`] lets the CPU paths read a dense or a sparse row alike.

use crate::error::{Error, Result};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Most feature columns of sparse data: column indices are u32 on the device, and 2^31 keeps
/// K·(d + 1) weights addressable in WGSL's i32/u32 arithmetic.
pub const MAX_SPARSE_FEATURES: usize = 1 << 31;

/// Compressed sparse rows: the layout on disk (.npz), in memory and on the GPU.
#[derive(Clone, Debug)]
pub struct Csr {
    rows: usize,
    cols: usize,
    indptr: Vec<u64>,
    indices: Vec<u32>,
    values: Vec<f32>,
    /// The same matrix by columns, built on first use (full-data gradients, coordinate descent).
    csc: OnceLock<Arc<Csc>>,
}

impl PartialEq for Csr {
    fn eq(&self, other: &Self) -> bool {
        (
            self.rows,
            self.cols,
            &self.indptr,
            &self.indices,
            &self.values,
        ) == (
            other.rows,
            other.cols,
            &other.indptr,
            &other.indices,
            &other.values,
        )
    }
}

/// One row of X, dense or sparse.
#[derive(Clone, Copy, Debug)]
pub enum Row<'a> {
    Dense(&'a [f32]),
    Sparse {
        indices: &'a [u32],
        values: &'a [f32],
    },
}

impl Row<'_> {
    /// x·w (w has at least the row's width), in f64.
    #[inline]
    pub fn dot(&self, w: &[f64]) -> f64 {
        match self {
            Row::Dense(x) => crate::objective::dot(x, w),
            Row::Sparse { indices, values } => indices
                .iter()
                .zip(*values)
                .map(|(&j, &v)| w[j as usize] * v as f64)
                .sum(),
        }
    }

    /// acc += r·x.
    #[inline]
    pub fn add_scaled(&self, r: f64, acc: &mut [f64]) {
        match self {
            Row::Dense(x) => {
                for (a, &v) in acc.iter_mut().zip(*x) {
                    *a += r * v as f64;
                }
            }
            Row::Sparse { indices, values } => {
                for (&j, &v) in indices.iter().zip(*values) {
                    acc[j as usize] += r * v as f64;
                }
            }
        }
    }

    /// Calls `f(column, value)` for each stored entry (every column of a dense row).
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(usize, f32)) {
        match self {
            Row::Dense(x) => x.iter().enumerate().for_each(|(j, &v)| f(j, v)),
            Row::Sparse { indices, values } => indices
                .iter()
                .zip(*values)
                .for_each(|(&j, &v)| f(j as usize, v)),
        }
    }
}

impl Csr {
    /// Checks every invariant before the matrix is used: `indptr` has rows + 1 entries from 0,
    /// never decreasing, ending at the number of entries; each row's indices increase strictly
    /// and are below `cols`; every value is finite. Errors name `path` and the row.
    pub fn new(
        rows: usize,
        cols: usize,
        indptr: Vec<u64>,
        indices: Vec<u32>,
        values: Vec<f32>,
        path: &Path,
    ) -> Result<Self> {
        let bad = |message: String| Error::Format {
            path: path.into(),
            message,
        };
        if cols > MAX_SPARSE_FEATURES {
            return Err(bad(format!(
                "{cols} feature columns exceed the limit of {MAX_SPARSE_FEATURES}"
            )));
        }
        if indptr.len() != rows + 1 {
            return Err(bad(format!(
                "the row offsets have {} entries, expected rows + 1 = {}",
                indptr.len(),
                rows + 1
            )));
        }
        if indices.len() != values.len() {
            return Err(bad(format!(
                "{} column indices but {} values",
                indices.len(),
                values.len()
            )));
        }
        if indptr[0] != 0 || indptr[rows] != indices.len() as u64 {
            return Err(bad(format!(
                "the row offsets run from {} to {}, expected 0 to the {} stored values",
                indptr[0],
                indptr[rows],
                indices.len()
            )));
        }
        for i in 0..rows {
            let (a, b) = (indptr[i], indptr[i + 1]);
            if b < a {
                return Err(bad(format!(
                    "row {i}: the row offsets decrease ({a} then {b})"
                )));
            }
            if b > indices.len() as u64 {
                return Err(bad(format!(
                    "row {i}: offset {b} is past the {} stored values",
                    indices.len()
                )));
            }
            let row = &indices[a as usize..b as usize];
            for (k, &j) in row.iter().enumerate() {
                if j as usize >= cols {
                    return Err(bad(format!(
                        "row {i}: column index {j} is past the {cols} columns"
                    )));
                }
                if k > 0 && j <= row[k - 1] {
                    let what = if j == row[k - 1] {
                        format!("column {j} is repeated")
                    } else {
                        format!("column {j} after {}: indices must increase", row[k - 1])
                    };
                    return Err(bad(format!(
                        "row {i}: {what} (in SciPy: X.sum_duplicates(); X.sort_indices())"
                    )));
                }
            }
            let vals = &values[a as usize..b as usize];
            if let Some(k) = vals.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    path: path.into(),
                    what: "X",
                    row: i,
                    column: row[k] as usize,
                    value: vals[k] as f64,
                });
            }
        }
        Ok(Csr {
            rows,
            cols,
            indptr,
            indices,
            values,
            csc: OnceLock::new(),
        })
    }

    /// A CSR from a dense row-major matrix (tests, `--sparse` on dense input).
    pub fn from_dense(x: ndarray::ArrayView2<f32>) -> Self {
        let mut indptr = Vec::with_capacity(x.nrows() + 1);
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        indptr.push(0);
        for row in x.rows() {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    indices.push(j as u32);
                    values.push(v);
                }
            }
            indptr.push(indices.len() as u64);
        }
        Csr {
            rows: x.nrows(),
            cols: x.ncols(),
            indptr,
            indices,
            values,
            csc: OnceLock::new(),
        }
    }

    /// X as a dense rows × cols matrix, or an error when it would not fit in memory.
    pub fn to_dense(&self, path: &Path) -> Result<ndarray::Array2<f32>> {
        let bytes = self.rows as u128 * self.cols as u128 * 4;
        let available = super::available_memory().unwrap_or(u64::MAX);
        if bytes > isize::MAX as u128 || bytes > available as u128 / 2 {
            return Err(Error::Format {
                path: path.into(),
                message: format!(
                    "{} rows × {} features take {:.1} GB dense, more than half the {:.1} GB of \
                     memory available; this needs dense data",
                    self.rows,
                    self.cols,
                    bytes as f64 / 1e9,
                    available as f64 / 1e9
                ),
            });
        }
        let mut x = ndarray::Array2::zeros((self.rows, self.cols));
        for (i, mut out) in x.rows_mut().into_iter().enumerate() {
            let (idx, val) = self.row_parts(i);
            for (&j, &v) in idx.iter().zip(val) {
                out[j as usize] = v;
            }
        }
        Ok(x)
    }

    pub fn nrows(&self) -> usize {
        self.rows
    }
    pub fn ncols(&self) -> usize {
        self.cols
    }
    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }
    pub fn indptr(&self) -> &[u64] {
        &self.indptr
    }
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }
    pub fn values(&self) -> &[f32] {
        &self.values
    }
    pub fn values_mut(&mut self) -> &mut [f32] {
        self.csc = OnceLock::new();
        &mut self.values
    }

    /// Stored entries over rows × cols.
    pub fn density(&self) -> f64 {
        self.nnz() as f64 / (self.rows as f64 * self.cols as f64)
    }

    /// Bytes of the CSR arrays: f32 values, u32 indices, u64 row offsets (what a sparse epoch
    /// reads; the unit of the sparse bench's GB/s).
    pub fn bytes(&self) -> u64 {
        8 * self.nnz() as u64 + 8 * (self.rows as u64 + 1)
    }

    /// Row i's column indices and values.
    #[inline]
    pub fn row_parts(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i] as usize, self.indptr[i + 1] as usize);
        (&self.indices[a..b], &self.values[a..b])
    }

    #[inline]
    pub fn row(&self, i: usize) -> Row<'_> {
        let (indices, values) = self.row_parts(i);
        Row::Sparse { indices, values }
    }

    /// The rows `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Csr {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        indptr.push(0u64);
        let total: usize = rows
            .iter()
            .map(|&i| (self.indptr[i + 1] - self.indptr[i]) as usize)
            .sum();
        let mut indices = Vec::with_capacity(total);
        let mut values = Vec::with_capacity(total);
        for &i in rows {
            let (idx, val) = self.row_parts(i);
            indices.extend_from_slice(idx);
            values.extend_from_slice(val);
            indptr.push(indices.len() as u64);
        }
        Csr {
            rows: rows.len(),
            cols: self.cols,
            indptr,
            indices,
            values,
            csc: OnceLock::new(),
        }
    }

    /// The column copy, built once and kept (X must not change after: `values_mut` drops it).
    pub fn csc(&self) -> &Csc {
        self.csc.get_or_init(|| Arc::new(self.to_csc()))
    }

    /// The same matrix by columns (compressed sparse columns): column j's rows (increasing) and
    /// values at `colptr[j]..colptr[j + 1]`. Coordinate descent and the GPU's atomic-free Xᵀr
    /// read it.
    pub fn to_csc(&self) -> Csc {
        let mut colptr = vec![0u64; self.cols + 1];
        for &j in &self.indices {
            colptr[j as usize + 1] += 1;
        }
        for j in 0..self.cols {
            colptr[j + 1] += colptr[j];
        }
        let mut next: Vec<u64> = colptr[..self.cols].to_vec();
        let mut rows = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for i in 0..self.rows {
            let (idx, val) = self.row_parts(i);
            for (&j, &v) in idx.iter().zip(val) {
                let at = next[j as usize] as usize;
                rows[at] = i as u32;
                values[at] = v;
                next[j as usize] += 1;
            }
        }
        Csc {
            rows: self.rows,
            cols: self.cols,
            colptr,
            row_indices: rows,
            values,
        }
    }

    /// The CSR of a CSC matrix given by its arrays (checked as [`Csr::new`] checks, with rows
    /// and columns swapped).
    pub fn from_csc(
        rows: usize,
        cols: usize,
        colptr: Vec<u64>,
        row_indices: Vec<u32>,
        values: Vec<f32>,
        path: &Path,
    ) -> Result<Self> {
        // Checked as the CSR of Xᵀ, then transposed.
        let t = Csr::new(cols, rows, colptr, row_indices, values, path).map_err(|e| match e {
            Error::Format { path, message } => Error::Format {
                path,
                message: message.replace("row ", "column "),
            },
            other => other,
        })?;
        let c = t.to_csc();
        Ok(Csr {
            rows,
            cols,
            indptr: c.colptr,
            indices: c.row_indices,
            values: c.values,
            csc: OnceLock::new(),
        })
    }
}

/// Compressed sparse columns (see [`Csr::to_csc`]).
#[derive(Clone, Debug)]
pub struct Csc {
    pub rows: usize,
    pub cols: usize,
    pub colptr: Vec<u64>,
    pub row_indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csc {
    /// Column j's rows and values.
    #[inline]
    pub fn column(&self, j: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.colptr[j] as usize, self.colptr[j + 1] as usize);
        (&self.row_indices[a..b], &self.values[a..b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn p() -> &'static Path {
        Path::new("t.npz")
    }

    #[test]
    fn dense_round_trip_and_transpose() {
        let x = array![[0.0f32, 1.5, 0.0], [2.0, 0.0, -1.0], [0.0, 0.0, 0.0]];
        let c = Csr::from_dense(x.view());
        assert_eq!(c.nnz(), 3);
        assert_eq!(c.indptr(), &[0, 1, 3, 3]);
        assert_eq!(c.to_dense(p()).unwrap(), x);
        let t = c.to_csc();
        assert_eq!(t.colptr, vec![0, 1, 2, 3]);
        assert_eq!(t.column(2), (&[1u32][..], &[-1.0f32][..]));
        let back = Csr::from_csc(3, 3, t.colptr, t.row_indices, t.values, p()).unwrap();
        assert_eq!(back, c);
        let sel = c.select(&[1, 0]);
        assert_eq!(sel.row_parts(0), (&[0u32, 2][..], &[2.0f32, -1.0][..]));
    }

    #[test]
    fn row_ops() {
        let c = Csr::from_dense(array![[0.0f32, 2.0, 0.0, 3.0]].view());
        let w = [10.0, 1.0, 10.0, -1.0];
        assert_eq!(c.row(0).dot(&w), -1.0);
        let mut acc = vec![0.0; 4];
        c.row(0).add_scaled(2.0, &mut acc);
        assert_eq!(acc, vec![0.0, 4.0, 0.0, 6.0]);
    }

    #[test]
    fn refuses_broken_arrays() {
        let err = |ip: Vec<u64>, ix: Vec<u32>, v: Vec<f32>| {
            Csr::new(2, 3, ip, ix, v, p()).unwrap_err().to_string()
        };
        assert!(err(vec![0, 1], vec![0], vec![1.0]).contains("expected rows + 1"));
        assert!(err(vec![0, 1, 3], vec![0], vec![1.0]).contains("expected 0 to the 1"));
        assert!(err(vec![0, 2, 1], vec![0], vec![1.0]).contains("past the 1 stored"));
        let e = Csr::new(3, 3, vec![0, 1, 0, 1], vec![0], vec![1.0], p()).unwrap_err();
        assert!(e.to_string().contains("decrease"), "{e}");
        assert!(err(vec![0, 1, 1], vec![3], vec![1.0]).contains("past the 3 columns"));
        assert!(err(vec![0, 2, 2], vec![1, 1], vec![1.0, 1.0]).contains("repeated"));
        assert!(err(vec![0, 2, 2], vec![2, 1], vec![1.0, 1.0]).contains("must increase"));
        assert!(err(vec![0, 1, 1], vec![0], vec![f32::NAN]).contains("non-finite"));
        assert!(err(vec![0, 1, 1], vec![0], vec![1.0, 2.0]).contains("2 values"));
    }
}
