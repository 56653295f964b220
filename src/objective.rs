//! The objective J(w, b) and its gradient over the whole dataset, in f64: the yardstick every
//! solver's answer is measured with (final objective, exact-solver gaps, gradient checks).
//!
//! J(w, b) = (1/m) Σᵢ ½(xᵢ·w + b − yᵢ)² + l1·‖w‖₁ + l2·‖w‖² + bias_l1·|b| + bias_l2·b²

use crate::config::Penalty;
use crate::data::Dataset;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub data_loss: f64,
    pub reg_loss: f64,
    pub total: f64,
}

const ROWS_PER_TASK: usize = 4096;

/// (1/m) Σ ½ rᵢ², accumulated in f64, in parallel over row blocks.
pub fn data_loss(data: &Dataset, coef: &[f64], intercept: f64) -> f64 {
    let x = data
        .x
        .as_slice()
        .expect("Dataset keeps X in standard layout");
    let d = data.n_features();
    let y = data.y.as_slice().expect("Dataset keeps y contiguous");
    let sum: f64 = x
        .par_chunks(ROWS_PER_TASK * d)
        .zip(y.par_chunks(ROWS_PER_TASK))
        .map(|(xb, yb)| {
            xb.chunks_exact(d)
                .zip(yb)
                .map(|(row, &t)| {
                    let r = dot(row, coef) + intercept - t as f64;
                    0.5 * r * r
                })
                .sum::<f64>()
        })
        .sum();
    sum / data.n_rows() as f64
}

pub fn evaluate(data: &Dataset, penalty: &Penalty, coef: &[f64], intercept: f64) -> Objective {
    let data_loss = data_loss(data, coef, intercept);
    let reg_loss = penalty.value(coef, intercept);
    Objective {
        data_loss,
        reg_loss,
        total: data_loss + reg_loss,
    }
}

/// ∇J: (1/m) Xᵀr + l1·sign(w) + 2·l2·w, and for b: (1/m) Σ r + bias_l1·sign(b) + 2·bias_l2·b.
/// (At w_j = 0 the l1 term uses sign(0) = 0, the subgradient the `sign` update takes.)
pub fn gradient(
    data: &Dataset,
    penalty: &Penalty,
    coef: &[f64],
    intercept: f64,
) -> (Vec<f64>, f64) {
    let d = data.n_features();
    let m = data.n_rows() as f64;
    let mut g = vec![0.0f64; d];
    let mut gb = 0.0;
    for (row, &t) in data.x.rows().into_iter().zip(data.y.iter()) {
        let row = row.as_slice().expect("standard layout");
        let r = dot(row, coef) + intercept - t as f64;
        for (gj, &xj) in g.iter_mut().zip(row) {
            *gj += r * xj as f64;
        }
        gb += r;
    }
    for (gj, &wj) in g.iter_mut().zip(coef) {
        *gj = *gj / m + penalty.l1 * sign(wj) + 2.0 * penalty.l2 * wj;
    }
    gb = gb / m + penalty.bias_l1 * sign(intercept) + 2.0 * penalty.bias_l2 * intercept;
    (g, gb)
}

/// sign with sign(0) = 0 (as WGSL's `sign`).
pub fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[inline]
pub fn dot(row: &[f32], w: &[f64]) -> f64 {
    row.iter().zip(w).map(|(&x, &w)| x as f64 * w).sum()
}
