//! The duality gap: a certificate G(w) ≥ J(w) − J* for every model and penalty, from one pass over
//! X (the loss and the gradient Xᵀr at w) plus, for classifiers, one pass over the rows' logits.
//!
//! Write J(w) = F(Aw) + Σⱼ gⱼ(wⱼ) with A = [X, 1], F(z) = E[ℓ(zᵢ, yᵢ)] (E the weighted mean
//! (1/m) Σ ŵᵢ·) and gⱼ(v) = l1ⱼ|v| + l2ⱼv² (the intercept's are bias_l1, bias_l2). Fenchel duality
//! gives, for any per-row dual vector ρᵢ in the domain of ℓ*,
//!
//! ```text
//! D(ρ) = −E[ℓ*(ρᵢ)] − Σⱼ gⱼ*(hⱼ),   hⱼ = E[ρᵢ·xᵢⱼ] (h_b = E[ρᵢ]),   J(w) − J* ≤ J(w) − D(ρ) = G
//! ```
//!
//! with gⱼ*(v) = (|v| − l1)₊² / (4·l2) when l2 > 0, and 0 for |v| ≤ l1 (∞ beyond) when l2 = 0.
//! At the optimum ρ = r, the residuals dℓ/dz, so the dual point is built from r:
//!
//! - linear: ℓ*(u) = ½u² + u·y. An unpenalized intercept needs h_b = 0, so ρ = r − r̄ (r̄ = E[r]);
//!   then ρ is scaled by c = min(1, l1 / ‖h‖∞) when l2 = 0 (scikit-learn's lasso gap).
//! - logistic and softmax: ℓ*(u) = Σₖ pₖ log pₖ with p = u + onehot(y) in the simplex (the negative
//!   entropy). An unpenalized intercept needs E[ρ] = 0: ρ = (1 − τ)·r + τ·(q − onehot(y)) for the
//!   distribution q and the smallest τ that make the mean 0 (q − onehot(y) is a residual of the
//!   constant prediction q, so p stays in the simplex). Then the same scale c.
//!
//! Everything but E[ℓ*(c·ρ)] of a classifier comes from the loss and the gradient at w and from
//! [`DataStats`], computed once per dataset; that one term needs the logits again (the GPU's
//! shaders/dual_loss.wgsl, the CPU's `kernels::dual_loss`). Without any penalty on W the dual is
//! only feasible at ρ = 0 and certifies nothing: no gap is reported then.

use crate::config::{Model, Penalty};
use crate::data::Dataset;
use crate::objective;
use crate::weights::Weights;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Weighted means of the data that the dual point needs, computed once per dataset.
#[derive(Clone, Debug)]
pub struct DataStats {
    pub features: usize,
    /// E[xⱼ].
    pub x_mean: Vec<f64>,
    /// E[tₖ]: linear and logistic one entry (E[y]); softmax one per class (the class weights).
    pub t_mean: Vec<f64>,
    /// E[tₖ·xⱼ], row k of d.
    pub tx_mean: Vec<f64>,
    /// E[y²] (linear).
    pub y2_mean: f64,
}

const ROWS_PER_TASK: usize = 4096;

impl DataStats {
    /// One pass over `data` (targets as `model` reads them: y, or class indices for softmax).
    pub fn of(model: Model, data: &Dataset) -> Self {
        let d = data.n_features();
        let k = if model == Model::Softmax {
            data.n_classes()
        } else {
            1
        };
        let width = d + k + k * d + 1;
        let y = data.y_slice();
        let class_of = |t: f32| match model {
            Model::Softmax => (t as usize, 1.0),
            _ => (0, t as f64),
        };
        let sums = if data.is_sparse() {
            // Sparse: the column sums come from Xᵀ times per-row coefficients (ŵ, and ŵ·t per
            // class), never from a dense array per task.
            let n = data.n_rows();
            let mut c = vec![0.0; n * (k + 1)];
            let mut acc = vec![0.0f64; width];
            for i in 0..n {
                let s = data.row_weight(i);
                let (class, tv) = class_of(y[i]);
                c[i * (k + 1)] = s;
                c[i * (k + 1) + 1 + class] = s * tv;
                acc[d + class] += s * tv;
                acc[width - 1] += s * (y[i] as f64) * (y[i] as f64);
            }
            let xt = crate::objective::xt_times(data, &c, k + 1);
            acc[..d].copy_from_slice(&xt[..d]);
            for class in 0..k {
                let from = (class + 1) * (d + 1);
                acc[d + k + class * d..d + k + (class + 1) * d]
                    .copy_from_slice(&xt[from..from + d]);
            }
            acc
        } else {
            data.x_slice()
                .par_chunks(ROWS_PER_TASK * d)
                .zip(y.par_chunks(ROWS_PER_TASK))
                .enumerate()
                .map(|(block, (xb, yb))| {
                    let mut acc = vec![0.0f64; width];
                    let first = block * ROWS_PER_TASK;
                    for (i, (row, &t)) in xb.chunks_exact(d).zip(yb).enumerate() {
                        let s = data.row_weight(first + i);
                        let (class, tv) = class_of(t);
                        for (a, &v) in acc[..d].iter_mut().zip(row) {
                            *a += s * v as f64;
                        }
                        acc[d + class] += s * tv;
                        let txk = &mut acc[d + k + class * d..d + k + (class + 1) * d];
                        for (a, &v) in txk.iter_mut().zip(row) {
                            *a += s * tv * v as f64;
                        }
                        acc[width - 1] += s * (t as f64) * (t as f64);
                    }
                    acc
                })
                .collect::<Vec<_>>()
                .into_iter()
                .fold(vec![0.0f64; width], |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(p, q)| *p += q);
                    a
                })
        };
        let m = data.n_rows() as f64;
        let mean: Vec<f64> = sums.iter().map(|v| v / m).collect();
        DataStats {
            features: d,
            x_mean: mean[..d].to_vec(),
            t_mean: mean[d..d + k].to_vec(),
            tx_mean: mean[d + k..d + k + k * d].to_vec(),
            y2_mean: mean[width - 1],
        }
    }
}

/// The dual point built from the gradient at w: ρ = c·((1 − τ)·r + τ·(q − onehot(y))) for
/// classifiers, c·(r − shift) for linear; `h` = E[ρ·[x, 1]] (before the scale c).
#[derive(Clone, Debug)]
pub struct DualPoint {
    /// Scale that makes the point feasible for coordinates without l2 (in [0, 1]).
    pub c: f64,
    /// Weight of the constant-prediction residual (classifiers; 0 without an unpenalized intercept).
    pub tau: f64,
    /// The constant prediction's class probabilities (logistic: [1 − q, q]; softmax: K).
    pub q: Vec<f64>,
    /// Linear: the mean residual r̄ subtracted (0 without an unpenalized intercept).
    pub shift: f64,
    /// E[ρ/c·[x, 1]] in the shape of the weights.
    pub h: Weights,
}

/// A certificate of how far J(w) can be from the optimum J*.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// J(w).
    pub primal: f64,
    /// D(ρ) ≤ J*.
    pub dual: f64,
    /// G = J(w) − D(ρ) ≥ J(w) − J* (clamped at 0 against rounding).
    pub gap: f64,
    /// G / |J(w)|.
    pub relative: f64,
}

/// Whether the intercept is fitted and unpenalized: the dual must then have E[ρ] = 0.
fn free_intercept(penalty: &Penalty, fit_intercept: bool) -> bool {
    fit_intercept && penalty.bias_l1 == 0.0 && penalty.bias_l2 == 0.0
}

/// The dual point for the data gradient `grad` (E[r·[x, 1]], weights' shape) at w; `None` when W
/// has no penalty (no certificate exists then).
pub fn dual_point(
    model: Model,
    penalty: &Penalty,
    fit_intercept: bool,
    stats: &DataStats,
    grad: &Weights,
) -> Option<DualPoint> {
    if penalty.l1 == 0.0 && penalty.l2 == 0.0 {
        return None;
    }
    let d = grad.features;
    let k_out = grad.outputs;
    let free = free_intercept(penalty, fit_intercept);
    let mut h = grad.clone();
    let (mut tau, mut q, mut shift) = (0.0, Vec::new(), 0.0);
    if free {
        match model {
            Model::Linear => {
                shift = grad.intercept(0);
                for j in 0..d {
                    h.values[j] -= shift * stats.x_mean[j];
                }
            }
            Model::Logistic | Model::Softmax => {
                // Classes as probabilities: logistic is the two classes [0, 1].
                let (r_mean, t_mean): (Vec<f64>, Vec<f64>) = if model == Model::Logistic {
                    let r = grad.intercept(0);
                    let t = stats.t_mean[0];
                    (vec![-r, r], vec![1.0 - t, t])
                } else {
                    (grad.intercepts(), stats.t_mean.clone())
                };
                // The smallest τ with q = t̄ − (1 − τ)/τ·r̄ ≥ 0: set by the class with the
                // largest r̄ₖ / t̄ₖ among r̄ₖ > 0.
                let mut worst: Option<(f64, f64)> = None;
                for (&r, &t) in r_mean.iter().zip(&t_mean) {
                    if r > 0.0 && worst.is_none_or(|(wr, wt)| r * wt > wr * t) {
                        worst = Some((r, t));
                    }
                }
                let (tau_v, ratio) = match worst {
                    Some((r, t)) => (r / (r + t), t / r),
                    None => (0.0, 0.0),
                };
                tau = tau_v;
                let mut qv: Vec<f64> = r_mean
                    .iter()
                    .zip(&t_mean)
                    .map(|(&r, &t)| (t - ratio * r).max(0.0))
                    .collect();
                let total: f64 = qv.iter().sum();
                if total > 0.0 {
                    qv.iter_mut().for_each(|v| *v /= total);
                }
                // h = (1 − τ)·g + τ·(qₖ·E[x] − E[tₖ·x]); its intercept part is 0 by construction.
                for o in 0..k_out {
                    let (qk, class) = if model == Model::Logistic {
                        (qv[1], 0)
                    } else {
                        (qv[o], o)
                    };
                    let row = &mut h.values[o * (d + 1)..o * (d + 1) + d];
                    let tx = &stats.tx_mean[class * d..(class + 1) * d];
                    for ((hj, xm), txj) in row.iter_mut().zip(&stats.x_mean).zip(tx) {
                        *hj = (1.0 - tau) * *hj + tau * (qk * xm - txj);
                    }
                }
                q = qv;
            }
        }
        for o in 0..k_out {
            h.values[o * (d + 1) + d] = 0.0;
        }
    } else if !fit_intercept {
        for o in 0..k_out {
            h.values[o * (d + 1) + d] = 0.0;
        }
    }
    if q.is_empty() {
        q = match model {
            Model::Logistic => vec![1.0 - stats.t_mean[0], stats.t_mean[0]],
            Model::Softmax => stats.t_mean.clone(),
            Model::Linear => Vec::new(),
        };
    }
    // The scale: |c·hⱼ| ≤ l1ⱼ wherever l2ⱼ = 0.
    let mut c: f64 = 1.0;
    for (i, &hv) in h.values.iter().enumerate() {
        let is_bias = i % (d + 1) == d;
        if is_bias && (free || !fit_intercept) {
            continue;
        }
        let (l1, l2) = penalty.of_coordinate(is_bias);
        if l2 == 0.0 && hv.abs() > l1 {
            c = c.min(l1 / hv.abs());
        }
    }
    Some(DualPoint {
        c,
        tau,
        q,
        shift,
        h,
    })
}

/// E[ℓ*(c·ρ)] of the linear model, in closed form from the loss (E[½r²]) and the statistics.
pub fn linear_conjugate(point: &DualPoint, loss: f64, w: &Weights, stats: &DataStats) -> f64 {
    let (coef, b) = (w.coef(0), w.intercept(0));
    let y_mean = stats.t_mean[0];
    // E[r·y] = E[z·y] − E[y²], z = x·w + b.
    let zy: f64 = coef
        .iter()
        .zip(&stats.tx_mean)
        .map(|(w, txy)| w * txy)
        .sum::<f64>()
        + b * y_mean;
    let ry = zy - stats.y2_mean;
    let rho2 = (2.0 * loss - point.shift * point.shift).max(0.0);
    let rho_y = ry - point.shift * y_mean;
    let c = point.c;
    0.5 * c * c * rho2 + c * rho_y
}

/// Assembles G from the loss E[ℓ] at w, the dual point and E[ℓ*(c·ρ)] (`conjugate`).
pub fn certificate(
    penalty: &Penalty,
    fit_intercept: bool,
    w: &Weights,
    loss: f64,
    point: &DualPoint,
    conjugate: f64,
) -> Certificate {
    let d = w.features;
    let free = free_intercept(penalty, fit_intercept);
    let mut penalty_conjugate = 0.0;
    for (i, &hv) in point.h.values.iter().enumerate() {
        let is_bias = i % (d + 1) == d;
        if is_bias && (free || !fit_intercept) {
            continue;
        }
        let (l1, l2) = penalty.of_coordinate(is_bias);
        if l2 > 0.0 {
            let excess = ((point.c * hv).abs() - l1).max(0.0);
            penalty_conjugate += excess * excess / (4.0 * l2);
        }
    }
    let primal = loss + objective::penalty_value(penalty, w);
    let dual = -conjugate - penalty_conjugate;
    let gap = (primal - dual).max(0.0);
    Certificate {
        primal,
        dual,
        gap,
        relative: gap / primal.abs().max(f64::MIN_POSITIVE),
    }
}

/// G at w from the data loss E[ℓ] and gradient `grad` there, wherever they were computed (CPU,
/// GPU, a reduction over workers). `classifier_conjugate` gives E[ℓ*(c·ρ)] of a classifier's dual
/// point (one more pass over the logits); the linear model's is closed-form. `None` without a
/// penalty on W.
#[allow(clippy::too_many_arguments)]
pub fn certificate_at<E>(
    model: Model,
    penalty: &Penalty,
    fit_intercept: bool,
    stats: &DataStats,
    w: &Weights,
    loss: f64,
    grad: &Weights,
    classifier_conjugate: impl FnOnce(&DualPoint) -> Result<f64, E>,
) -> Result<Option<Certificate>, E> {
    let Some(point) = dual_point(model, penalty, fit_intercept, stats, grad) else {
        return Ok(None);
    };
    let conjugate = match model {
        Model::Linear => linear_conjugate(&point, loss, w, stats),
        _ => classifier_conjugate(&point)?,
    };
    Ok(Some(certificate(
        penalty,
        fit_intercept,
        w,
        loss,
        &point,
        conjugate,
    )))
}

/// G(w) in f64 on the CPU: one pass for the loss and gradient, one for the classifiers' conjugate.
pub fn cpu_certificate(
    model: Model,
    data: &Dataset,
    penalty: &Penalty,
    fit_intercept: bool,
    stats: &DataStats,
    w: &Weights,
) -> Option<Certificate> {
    let (loss, grad) = objective::loss_and_data_gradient(model, data, w);
    let conjugate = |point: &DualPoint| {
        Ok::<_, std::convert::Infallible>(crate::cpu::kernels::dual_loss(model, data, w, point))
    };
    match certificate_at(
        model,
        penalty,
        fit_intercept,
        stats,
        w,
        loss,
        &grad,
        conjugate,
    ) {
        Ok(c) => c,
        Err(never) => match never {},
    }
}
