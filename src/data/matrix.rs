//! The design matrix X: rows × features, f32, row-major. Either owned, or a read-only memory map of
//! an .npy file, so a 10 GB X is uploaded to the GPU (or streamed) straight from the page cache
//! without first being copied into a Vec. An owned X is shared (Arc): cloning a dataset to give it
//! other row weights (a cross-validation fold) does not copy X. Sparse X (CSR, [`Csr`]) is a third
//! store: every path that reads X either goes row by row through [`Matrix::row`] or is for dense
//! data only (its command refuses sparse input first, see `Dataset::require_dense`).

use super::sparse::{Csr, Row};
use ndarray::{Array2, ArrayView2};
use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    store: Store,
}

#[derive(Clone)]
enum Store {
    Owned(Arc<Array2<f32>>),
    /// rows × cols little-endian f32 at byte `offset` of the map.
    Mapped {
        map: Arc<memmap2::Mmap>,
        offset: usize,
    },
    Sparse(Arc<Csr>),
}

impl Matrix {
    /// A view of `rows × cols` f32 values at `offset` of `map`, or `None` when they are not there
    /// or not 4-byte aligned.
    pub fn mapped(
        map: Arc<memmap2::Mmap>,
        offset: usize,
        rows: usize,
        cols: usize,
    ) -> Option<Self> {
        let bytes = rows.checked_mul(cols)?.checked_mul(4)?;
        let data = map.get(offset..offset.checked_add(bytes)?)?;
        bytemuck::try_cast_slice::<u8, f32>(data).ok()?;
        Some(Matrix {
            rows,
            cols,
            store: Store::Mapped { map, offset },
        })
    }

    pub fn nrows(&self) -> usize {
        self.rows
    }

    pub fn ncols(&self) -> usize {
        self.cols
    }

    /// Sparse X, kept as CSR.
    pub fn sparse(csr: Csr) -> Self {
        Matrix {
            rows: csr.nrows(),
            cols: csr.ncols(),
            store: Store::Sparse(Arc::new(csr)),
        }
    }

    pub fn is_sparse(&self) -> bool {
        matches!(self.store, Store::Sparse(_))
    }

    /// The CSR arrays of sparse X.
    pub fn csr(&self) -> Option<&Csr> {
        match &self.store {
            Store::Sparse(c) => Some(c),
            _ => None,
        }
    }

    /// The CSR arrays of sparse X, for writing (copied first when shared).
    pub fn csr_mut(&mut self) -> Option<&mut Csr> {
        match &mut self.store {
            Store::Sparse(c) => Some(Arc::make_mut(c)),
            _ => None,
        }
    }

    /// Row i, dense or sparse.
    #[inline]
    pub fn row(&self, i: usize) -> Row<'_> {
        match &self.store {
            Store::Sparse(c) => c.row(i),
            _ => Row::Dense(&self.as_slice()[i * self.cols..(i + 1) * self.cols]),
        }
    }

    /// All values, row-major. Dense X only: the callers of a sparse dataset go through
    /// [`Matrix::row`] (the commands that need dense X refuse sparse input before they start).
    pub fn as_slice(&self) -> &[f32] {
        match &self.store {
            Store::Sparse(_) => unreachable!("dense-only path reached with sparse X"),
            Store::Owned(a) => a
                .as_slice()
                .expect("Matrix keeps owned X in standard layout"),
            Store::Mapped { map, offset } => {
                bytemuck::cast_slice(&map[*offset..*offset + self.rows * self.cols * 4])
            }
        }
    }

    pub fn view(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.rows, self.cols), self.as_slice())
            .expect("the slice holds rows × cols values")
    }

    /// X for writing: a mapped X is copied into memory first (e.g. by --standardize).
    pub fn to_mut(&mut self) -> &mut Array2<f32> {
        if let Store::Mapped { .. } = self.store {
            self.store = Store::Owned(Arc::new(self.view().to_owned()));
        }
        match &mut self.store {
            Store::Owned(a) => Arc::make_mut(a),
            _ => unreachable!("converted above (sparse X is written through csr_mut)"),
        }
    }

    /// Whether X is read from a memory-mapped file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.store, Store::Mapped { .. })
    }
}

impl From<Array2<f32>> for Matrix {
    fn from(a: Array2<f32>) -> Self {
        let a = if a.is_standard_layout() {
            a
        } else {
            a.as_standard_layout().into_owned()
        };
        Matrix {
            rows: a.nrows(),
            cols: a.ncols(),
            store: Store::Owned(Arc::new(a)),
        }
    }
}

impl fmt::Debug for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Matrix({} × {}, {})",
            self.rows,
            self.cols,
            match self.store {
                Store::Owned(_) => "owned",
                Store::Mapped { .. } => "mapped",
                Store::Sparse(_) => "sparse",
            }
        )
    }
}
