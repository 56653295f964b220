//! The objective J and its gradient over the whole dataset, in f64: the yardstick every solver's
//! answer is measured with (final objective, exact-solver gaps, gradient checks), and the per-row
//! loss and residual that the CPU twins of the kernels use.
//!
//! J(W, b) = (1/m) Σᵢ loss(zᵢ, yᵢ) + l1·‖W‖₁ + l2·‖W‖² + bias_l1·‖b‖₁ + bias_l2·‖b‖², zᵢ = W xᵢ + b
//!
//! With sample weights w the data term is (1/Σw) Σᵢ wᵢ·loss = (1/m) Σᵢ ŵᵢ·loss, ŵ = w·m/Σw (the
//! dataset keeps ŵ), so every sum below multiplies row i by ŵᵢ.
//!
//! - linear:   loss = ½(z − y)²                        residual z − y
//! - logistic: loss = log(1 + eᶻ) − y·z (y ∈ {0, 1})   residual σ(z) − y
//! - softmax:  loss = logsumexp(z) − z_y (y ∈ 0..K)     residual softmax(z)_k − [k = y]

use crate::config::{Model, Penalty};
use crate::data::Dataset;
use crate::weights::Weights;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub data_loss: f64,
    pub reg_loss: f64,
    pub total: f64,
}

/// Data loss and, for classifiers, the fraction of rows whose predicted class is the label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub loss: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
}

const ROWS_PER_TASK: usize = 4096;

/// log(1 + eᶻ) without overflow for large |z|.
pub fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// 1 / (1 + e⁻ᶻ) without overflow for large |z|.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The loss of one row with logits `z` (K of them) and target `t` (a class index for classifiers).
pub fn row_loss(model: Model, z: &[f64], t: f32) -> f64 {
    let t = t as f64;
    match model {
        Model::Linear => 0.5 * (z[0] - t) * (z[0] - t),
        Model::Logistic => softplus(z[0]) - t * z[0],
        Model::Softmax => {
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
            m + s.ln() - z[t as usize]
        }
    }
}

/// Turns the logits of one row into residuals dloss/dz in place (CPU twin of `residuals` in
/// shaders/common.wgsl).
pub fn residuals(model: Model, z: &mut [f64], t: f32) {
    let t = t as f64;
    match model {
        Model::Linear => z[0] -= t,
        // σ(z) − 1 = −σ(−z): no cancellation when σ(z) is close to the label.
        Model::Logistic => {
            z[0] = if t == 1.0 {
                -sigmoid(-z[0])
            } else {
                sigmoid(z[0])
            }
        }
        Model::Softmax => {
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for v in z.iter_mut() {
                *v = (*v - m).exp();
                s += *v;
            }
            // The label's p − 1 is written as −Σ_{k≠label} p_k (no cancellation when p ≈ 1).
            let label = t as usize;
            let mut others = 0.0;
            for (k, v) in z.iter_mut().enumerate() {
                *v /= s;
                if k != label {
                    others += *v;
                }
            }
            z[label] = -others;
        }
    }
}

/// Class probabilities from the logits of one row: [1 − σ(z), σ(z)] for logistic, softmax(z) with
/// max-subtraction for softmax (`out` has one entry per class).
pub fn probabilities(model: Model, z: &[f64], out: &mut [f64]) {
    match model {
        Model::Linear => {}
        Model::Logistic => {
            let p = sigmoid(z[0]);
            out[0] = 1.0 - p;
            out[1] = p;
        }
        Model::Softmax => {
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for (o, v) in out.iter_mut().zip(z) {
                *o = (v - m).exp();
                s += *o;
            }
            out.iter_mut().for_each(|o| *o /= s);
        }
    }
}

/// The predicted class of a row (0 or 1 for logistic; the first largest logit for softmax).
pub fn predicted_class(model: Model, z: &[f64]) -> usize {
    match model {
        Model::Linear => 0,
        Model::Logistic => usize::from(z[0] > 0.0),
        Model::Softmax => {
            let mut best = 0;
            for (k, v) in z.iter().enumerate() {
                if *v > z[best] {
                    best = k;
                }
            }
            best
        }
    }
}

/// Loss and accuracy over all rows, accumulated in f64, in parallel over row blocks.
pub fn metrics(model: Model, data: &Dataset, w: &Weights) -> Metrics {
    let d = data.n_features();
    let y = data.y_slice();
    let (loss, correct) = data
        .par_row_blocks(ROWS_PER_TASK, |rows| {
            let mut loss = 0.0;
            let mut correct = 0usize;
            let mut tally = |i: usize, z: &[f64]| {
                // Weighted loss (ŵ = 1 without weights: the product is exact); plain accuracy.
                loss += data.row_weight(i) * row_loss(model, z, y[i]);
                correct += usize::from(predicted_class(model, z) as f32 == y[i]);
            };
            if w.is_network() && !data.is_sparse() {
                // A network's forward pass runs on the whole block.
                let xb = &data.x_slice()[rows.start * d..rows.end * d];
                let view = ndarray::ArrayView2::from_shape((rows.len(), d), xb).expect("block");
                for (k, zi) in w.logits(view).rows().into_iter().enumerate() {
                    tally(rows.start + k, zi.as_slice().expect("standard layout"));
                }
            } else {
                let mut z = vec![0.0; w.outputs];
                for i in rows {
                    w.logits_row(data.row(i), &mut z);
                    tally(i, &z);
                }
            }
            (loss, correct)
        })
        // Collected, then added in block order: the same sum whatever rayon's split (a
        // parallel reduce would pair the blocks differently from run to run).
        .into_iter()
        .fold((0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let m = data.n_rows() as f64;
    Metrics {
        loss: loss / m,
        accuracy: model.is_classifier().then(|| correct as f64 / m),
    }
}

/// (1/m) Σ loss over all rows.
pub fn data_loss(model: Model, data: &Dataset, w: &Weights) -> f64 {
    metrics(model, data, w).loss
}

/// l1·‖W‖₁ + l2·‖W‖² + bias_l1·‖b‖₁ + bias_l2·‖b‖².
pub fn penalty_value(penalty: &Penalty, w: &Weights) -> f64 {
    let (mut l1, mut l2) = (0.0, 0.0);
    for v in w.all_coef() {
        l1 += v.abs();
        l2 += v * v;
    }
    let (mut b1, mut b2) = (0.0, 0.0);
    for b in w.intercepts() {
        b1 += b.abs();
        b2 += b * b;
    }
    penalty.l1 * l1 + penalty.l2 * l2 + penalty.bias_l1 * b1 + penalty.bias_l2 * b2
}

pub fn evaluate(model: Model, data: &Dataset, penalty: &Penalty, w: &Weights) -> Objective {
    let data_loss = data_loss(model, data, w);
    let reg_loss = penalty_value(penalty, w);
    Objective {
        data_loss,
        reg_loss,
        total: data_loss + reg_loss,
    }
}

/// The data loss and its gradient (1/m) Σᵢ rᵢ ⊗ [xᵢ, 1] (in the shape of `w`), in one pass.
pub fn loss_and_data_gradient(model: Model, data: &Dataset, w: &Weights) -> (f64, Weights) {
    let d = data.n_features();
    let m = data.n_rows() as f64;
    if data.is_sparse() {
        // Residuals row by row, then Xᵀr column by column (no dense partial sums per task).
        let (loss, resid) = weighted_residuals(model, data, w, true);
        let sum = xt_times(data, &resid, w.outputs);
        return (
            loss / m,
            Weights::from_values(w.outputs, d, sum.into_iter().map(|v| v / m).collect()),
        );
    }
    let stride = d + 1;
    let x = data.x_slice();
    let y = data.y_slice();
    let width = w.values.len();
    let (loss, sum) = x
        .par_chunks(ROWS_PER_TASK * d)
        .zip(y.par_chunks(ROWS_PER_TASK))
        .enumerate()
        .map(|(block, (xb, yb))| {
            let mut g = vec![0.0; width];
            let mut z = vec![0.0; w.outputs];
            let mut loss = 0.0;
            let first = block * ROWS_PER_TASK;
            for (i, (row, &t)) in xb.chunks_exact(d).zip(yb).enumerate() {
                w.logits_into(row, &mut z);
                let s = data.row_weight(first + i);
                loss += s * row_loss(model, &z, t);
                residuals(model, &mut z, t);
                z.iter_mut().for_each(|r| *r *= s);
                for (k, &r) in z.iter().enumerate() {
                    let gk = &mut g[k * stride..(k + 1) * stride];
                    for (a, &v) in gk[..d].iter_mut().zip(row) {
                        *a += r * v as f64;
                    }
                    gk[d] += r;
                }
            }
            (loss, g)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold((0.0, vec![0.0; width]), |(la, mut a), (lb, b)| {
            a.iter_mut().zip(&b).for_each(|(p, q)| *p += q);
            (la + lb, a)
        });
    (
        loss / m,
        Weights::from_values(w.outputs, d, sum.into_iter().map(|v| v / m).collect()),
    )
}

/// Every row's K residuals times its sample weight (n × K, row-major), and Σ ŵ·loss when
/// `with_loss`: the first half of a sparse gradient (twin of shaders/sparse_residuals.wgsl).
pub fn weighted_residuals(
    model: Model,
    data: &Dataset,
    w: &Weights,
    with_loss: bool,
) -> (f64, Vec<f64>) {
    let y = data.y_slice();
    let k_out = w.outputs;
    let blocks = data.par_row_blocks(ROWS_PER_TASK, |rows| {
        let mut out = Vec::with_capacity(rows.len() * k_out);
        let mut z = vec![0.0; k_out];
        let mut loss = 0.0;
        for i in rows {
            w.logits_row(data.row(i), &mut z);
            let s = data.row_weight(i);
            if with_loss {
                loss += s * row_loss(model, &z, y[i]);
            }
            residuals(model, &mut z, y[i]);
            out.extend(z.iter().map(|r| r * s));
        }
        (loss, out)
    });
    let mut resid = Vec::with_capacity(data.n_rows() * k_out);
    let mut loss = 0.0;
    for (l, r) in blocks {
        loss += l;
        resid.extend(r);
    }
    (loss, resid)
}

/// Σᵢ cᵢₖ·[xᵢ, 1] for K coefficients per row (`c`: n × K, row-major), as K × (d + 1): the second
/// half of a sparse gradient, Xᵀr. Sparse X goes column by column over its CSC copy (columns in
/// parallel, each summed in row order: the same result whatever the split); dense X by rows.
pub fn xt_times(data: &Dataset, c: &[f64], k_out: usize) -> Vec<f64> {
    let d = data.n_features();
    let stride = d + 1;
    let mut out = vec![0.0; k_out * stride];
    match data.x.csr() {
        Some(csr) => {
            let csc = csr.csc();
            for k in 0..k_out {
                let ok = &mut out[k * stride..(k + 1) * stride];
                ok[..d]
                    .par_chunks_mut(4096)
                    .enumerate()
                    .for_each(|(b, chunk)| {
                        for (o, slot) in chunk.iter_mut().enumerate() {
                            let (rows, vals) = csc.column(b * 4096 + o);
                            *slot = rows
                                .iter()
                                .zip(vals)
                                .map(|(&i, &v)| c[i as usize * k_out + k] * v as f64)
                                .sum();
                        }
                    });
                ok[d] = (0..data.n_rows()).map(|i| c[i * k_out + k]).sum();
            }
        }
        None => {
            for i in 0..data.n_rows() {
                let row = data.row(i);
                for k in 0..k_out {
                    let r = c[i * k_out + k];
                    let ok = &mut out[k * stride..(k + 1) * stride];
                    row.add_scaled(r, &mut ok[..d]);
                    ok[d] += r;
                }
            }
        }
    }
    out
}

/// ∇ of the data loss alone.
pub fn data_gradient(model: Model, data: &Dataset, w: &Weights) -> Weights {
    loss_and_data_gradient(model, data, w).1
}

/// ∇J: the data gradient plus l1·sign(w) + 2·l2·w (bias_l1·sign(b) + 2·bias_l2·b for intercepts).
/// (At w = 0 the l1 term uses sign(0) = 0, the subgradient the `sign` update takes.)
pub fn gradient(model: Model, data: &Dataset, penalty: &Penalty, w: &Weights) -> Weights {
    let mut g = data_gradient(model, data, w);
    let d = w.features;
    for (k, (gv, wv)) in g.values.iter_mut().zip(&w.values).enumerate() {
        let (l1, l2) = if k % (d + 1) == d {
            (penalty.bias_l1, penalty.bias_l2)
        } else {
            (penalty.l1, penalty.l2)
        };
        *gv += l1 * sign(*wv) + 2.0 * l2 * wv;
    }
    g
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

/// x·w in f64. Eight independent partial sums let the compiler use SIMD (a single running sum
/// must be added in order); the reference's gradient speed depends on this loop.
#[inline]
pub fn dot(row: &[f32], w: &[f64]) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let xc = row.chunks_exact(LANES);
    let wc = w[..row.len()].chunks_exact(LANES);
    let (xt, wt) = (xc.remainder(), wc.remainder());
    for (x, w) in xc.zip(wc) {
        for l in 0..LANES {
            acc[l] += x[l] as f64 * w[l];
        }
    }
    let tail: f64 = xt.iter().zip(wt).map(|(&x, &w)| x as f64 * w).sum();
    acc.iter().sum::<f64>() + tail
}
