//! The weights of a fitted model: a K × (d + 1) matrix, row k = [w_k0 .. w_k(d−1), b_k], laid out
//! exactly as the GPU's `weights` buffer. Linear and logistic regression have K = 1; softmax has one
//! row per class.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// K, the number of outputs.
    pub outputs: usize,
    /// d, the number of features.
    pub features: usize,
    /// K × (d + 1), row-major.
    pub values: Vec<f64>,
}

impl Weights {
    pub fn zeros(outputs: usize, features: usize) -> Self {
        Weights {
            outputs,
            features,
            values: vec![0.0; outputs * (features + 1)],
        }
    }

    /// Wraps a K × (d + 1) row-major vector (as read back from a device).
    pub fn from_values(outputs: usize, features: usize, values: Vec<f64>) -> Self {
        debug_assert_eq!(values.len(), outputs * (features + 1));
        Weights {
            outputs,
            features,
            values,
        }
    }

    /// Builds the matrix from K coefficient rows and K intercepts.
    pub fn from_parts(coef: &[Vec<f64>], intercept: &[f64]) -> Self {
        let features = coef.first().map_or(0, Vec::len);
        let mut values = Vec::with_capacity(coef.len() * (features + 1));
        for (row, b) in coef.iter().zip(intercept) {
            values.extend_from_slice(row);
            values.push(*b);
        }
        Weights {
            outputs: coef.len(),
            features,
            values,
        }
    }

    pub fn stride(&self) -> usize {
        self.features + 1
    }

    /// Row k: [w_k, b_k].
    pub fn row(&self, k: usize) -> &[f64] {
        &self.values[k * self.stride()..(k + 1) * self.stride()]
    }

    pub fn coef(&self, k: usize) -> &[f64] {
        &self.row(k)[..self.features]
    }

    pub fn intercept(&self, k: usize) -> f64 {
        self.row(k)[self.features]
    }

    /// Every coefficient (no intercepts), row by row.
    pub fn all_coef(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.outputs).flat_map(move |k| self.coef(k).iter().copied())
    }

    pub fn intercepts(&self) -> Vec<f64> {
        (0..self.outputs).map(|k| self.intercept(k)).collect()
    }

    /// Number of nonzero coefficients (intercepts not counted).
    pub fn nnz(&self) -> usize {
        self.all_coef().filter(|w| *w != 0.0).count()
    }

    pub fn is_finite(&self) -> bool {
        self.values.iter().all(|v| v.is_finite())
    }

    /// The largest |a − b| over every weight and intercept.
    pub fn max_abs_diff(&self, other: &Weights) -> f64 {
        self.values
            .iter()
            .zip(&other.values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// The K logits z_k = x·w_k + b_k of one row, accumulated in f64.
    pub fn logits_into(&self, row: &[f32], z: &mut [f64]) {
        for (k, zk) in z.iter_mut().enumerate().take(self.outputs) {
            let r = self.row(k);
            *zk = crate::objective::dot(row, &r[..self.features]) + r[self.features];
        }
    }
}
