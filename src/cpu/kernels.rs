//! CPU twins of the WGSL kernels, one function per shader with the same name and the same inputs,
//! accumulating in f64. The reference solver is built from these, so a GPU/CPU disagreement points
//! at one kernel.

use crate::config::{Model, Penalty};
use crate::data::Dataset;
use crate::objective::{self, Metrics};
use crate::schedule::Batch;
use crate::weights::Weights;
use rayon::prelude::*;

/// Rows per parallel task; batches smaller than two tasks run on one thread.
const ROWS_PER_TASK: usize = 2048;

/// Twin of shaders/grad_partials.wgsl: Σ_{i in batch} ŵᵢ·rᵢₖ·[xᵢ, 1] for every output k, where rᵢ
/// are the residuals of row i's K logits (objective::residuals) and ŵ the scaled sample weights.
/// Writes the K × (d + 1) sums into `out` (the GPU writes them per workgroup).
pub fn grad_partials(
    model: Model,
    data: &Dataset,
    order: &[u32],
    batch: Batch,
    w: &Weights,
    out: &mut [f64],
) {
    let (y, weighted) = (data.y_slice(), data.weights.is_some());
    let d = w.features;
    let stride = d + 1;
    let rows = &order[batch.start..batch.start + batch.rows];
    let residual = |i: usize, z: &mut [f64]| {
        w.logits_row(data.row(i), z);
        objective::residuals(model, z, y[i]);
        if weighted {
            let s = data.row_weight(i);
            z.iter_mut().for_each(|r| *r *= s);
        }
    };
    let accumulate = |acc: &mut [f64], chunk: &[u32]| {
        let mut z = vec![0.0; w.outputs];
        for &i in chunk {
            let i = i as usize;
            residual(i, &mut z);
            let row = data.row(i);
            for (k, &r) in z.iter().enumerate() {
                let acc_k = &mut acc[k * stride..(k + 1) * stride];
                row.add_scaled(r, &mut acc_k[..d]);
                acc_k[d] += r;
            }
        }
    };
    out.iter_mut().for_each(|v| *v = 0.0);
    if rows.len() < 2 * ROWS_PER_TASK {
        accumulate(out, rows);
    } else if data.is_sparse() {
        // Twin of the sparse engine's two passes: the batch's residuals (0 for other rows),
        // then Xᵀr by columns, with no dense partial sums per task.
        let k_out = w.outputs;
        let mut c = vec![0.0; data.n_rows() * k_out];
        let parts: Vec<Vec<f64>> = rows
            .par_chunks(ROWS_PER_TASK)
            .map(|chunk| {
                let mut z = vec![0.0; k_out];
                let mut r = Vec::with_capacity(chunk.len() * k_out);
                for &i in chunk {
                    residual(i as usize, &mut z);
                    r.extend_from_slice(&z);
                }
                r
            })
            .collect();
        for (chunk, r) in rows.chunks(ROWS_PER_TASK).zip(parts) {
            for (&i, zi) in chunk.iter().zip(r.chunks_exact(k_out)) {
                c[i as usize * k_out..(i as usize + 1) * k_out].copy_from_slice(zi);
            }
        }
        out.copy_from_slice(&objective::xt_times(data, &c, k_out));
    } else {
        let width = out.len();
        let sum = rows
            .par_chunks(ROWS_PER_TASK)
            .map(|chunk| {
                let mut acc = vec![0.0f64; width];
                accumulate(&mut acc, chunk);
                acc
            })
            // Added in block order, so the step is the same whatever rayon's split.
            .collect::<Vec<_>>()
            .into_iter()
            .fold(vec![0.0f64; width], |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            });
        out.copy_from_slice(&sum);
    }
}

/// The update rule's settings (shaders/update.wgsl reads them from `FitParams`).
#[derive(Clone, Copy, Debug)]
pub struct UpdateRule {
    pub penalty: Penalty,
    pub prox: bool,
    pub momentum: Option<f64>,
    pub fit_intercept: bool,
}

impl UpdateRule {
    /// `cfg`'s optimizer and l1 step with `penalty` (the fit's, or one layer's).
    pub fn new(cfg: &crate::config::FitConfig, penalty: Penalty) -> Self {
        UpdateRule {
            penalty,
            prox: cfg.l1_update == crate::config::L1Update::Prox,
            momentum: (cfg.optimizer == crate::config::Optimizer::Momentum).then_some(cfg.momentum),
            fit_intercept: cfg.fit_intercept,
        }
    }
}

/// Twin of shaders/update.wgsl, for every weight of the K × (d + 1) matrix:
/// g = grad_sum·inv_batch + 2·l2·w (+ l1·sign(w) unless prox), then w + μ·v − lr·g (μ = 0 without
/// momentum), for prox the soft-threshold w ← sign(w)·max(|w| − lr·l1, 0), and v ← the
/// displacement taken. (The GPU keeps each weight as two f32, hi + lo; here it is one f64.)
pub fn update(
    grad_sum: &[f64],
    inv_batch: f64,
    lr: f64,
    rule: &UpdateRule,
    w: &mut Weights,
    velocity: &mut [f64],
) {
    let d = w.features;
    update_tensor(grad_sum, inv_batch, lr, rule, &mut w.values, d, velocity);
}

/// [`update`] on one parameter tensor: rows of `inputs` weights and a bias (a network's layer;
/// twin of shaders/mlp_update.wgsl, which shares update.wgsl's rule).
pub fn update_tensor(
    grad_sum: &[f64],
    inv_batch: f64,
    lr: f64,
    rule: &UpdateRule,
    values: &mut [f64],
    inputs: usize,
    velocity: &mut [f64],
) {
    let d = inputs;
    for k in 0..values.len() {
        let is_bias = k % (d + 1) == d;
        if is_bias && !rule.fit_intercept {
            continue;
        }
        let wk = values[k];
        let (l1, l2) = if is_bias {
            (rule.penalty.bias_l1, rule.penalty.bias_l2)
        } else {
            (rule.penalty.l1, rule.penalty.l2)
        };
        let mut g = grad_sum[k] * inv_batch + 2.0 * l2 * wk;
        if !rule.prox {
            g += l1 * objective::sign(wk);
        }
        // Heavy ball with v = the displacement actually taken (see shaders/update.wgsl).
        let mut w_new = wk - lr * g;
        if let Some(mu) = rule.momentum {
            w_new += mu * velocity[k];
        }
        if rule.prox {
            w_new = objective::sign(w_new) * (w_new.abs() - lr * l1).max(0.0);
        }
        if rule.momentum.is_some() {
            velocity[k] = w_new - wk;
        }
        values[k] = w_new;
    }
}

/// Twin of shaders/data_loss.wgsl: (1/m) Σ loss over all rows, and the accuracy of classifiers.
pub fn data_loss(model: Model, data: &Dataset, w: &Weights) -> Metrics {
    objective::metrics(model, data, w)
}

/// Twin of shaders/dual_loss.wgsl: E[Σₖ p′ₖ·log p′ₖ] over all rows (weighted), the conjugate term
/// of a classifier's dual (see gap.rs), with p′ = c·(1 − τ)·P + c·τ·q + (1 − c)·onehot(y) and P
/// the row's class probabilities. Every term of p′ is ≥ 0, so nothing cancels.
pub fn dual_loss(model: Model, data: &Dataset, w: &Weights, point: &crate::gap::DualPoint) -> f64 {
    let classes = if model == Model::Softmax {
        w.outputs
    } else {
        2
    };
    let (a, b, keep) = (
        point.c * (1.0 - point.tau),
        point.c * point.tau,
        1.0 - point.c,
    );
    let y = data.y_slice();
    let sum = data
        .par_row_blocks(ROWS_PER_TASK, |rows| {
            let mut z = vec![0.0; w.outputs];
            let mut p = vec![0.0; classes];
            let mut acc = 0.0;
            for i in rows {
                w.logits_row(data.row(i), &mut z);
                objective::probabilities(model, &z, &mut p);
                let mut term = 0.0;
                for (k, &pk) in p.iter().enumerate() {
                    let v = a * pk + b * point.q[k] + keep * f64::from(u8::from(k as f32 == y[i]));
                    if v > 0.0 {
                        term += v * v.ln();
                    }
                }
                acc += data.row_weight(i) * term;
            }
            acc
        })
        .into_iter()
        .sum::<f64>();
    sum / data.n_rows() as f64
}

/// Twin of the gradient kernels in gram mode (`MODEL_GRAM`, residual = logit): E[(x·v + v_b)·[x, 1]]
/// for one vector v of d + 1, the product with A = [X, 1]ᵀ Ŵ [X, 1] / m that apg's power
/// iteration needs.
pub fn gram_times(data: &Dataset, v: &[f64]) -> Vec<f64> {
    let d = data.n_features();
    let w = Weights::from_values(1, d, v.to_vec());
    if data.is_sparse() {
        let c: Vec<f64> = data
            .par_row_blocks(ROWS_PER_TASK, |rows| {
                rows.map(|i| (data.row(i).dot(&w.values) + v[d]) * data.row_weight(i))
                    .collect::<Vec<_>>()
            })
            .concat();
        let m = data.n_rows() as f64;
        return objective::xt_times(data, &c, 1)
            .into_iter()
            .map(|s| s / m)
            .collect();
    }
    let sum = data
        .x_slice()
        .par_chunks(ROWS_PER_TASK * d)
        .enumerate()
        .map(|(block, xb)| {
            let mut acc = vec![0.0; d + 1];
            let mut z = [0.0];
            let first = block * ROWS_PER_TASK;
            for (i, row) in xb.chunks_exact(d).enumerate() {
                w.logits_into(row, &mut z);
                let r = z[0] * data.row_weight(first + i);
                for (a, &x) in acc[..d].iter_mut().zip(row) {
                    *a += r * x as f64;
                }
                acc[d] += r;
            }
            acc
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold(vec![0.0; d + 1], |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(p, q)| *p += q);
            a
        });
    let m = data.n_rows() as f64;
    sum.into_iter().map(|s| s / m).collect()
}

/// apg's momentum state (the GPU keeps it in the `velocity` buffer, see shaders/apg_update.wgsl).
#[derive(Clone, Debug)]
pub struct ApgState {
    /// The iterate x (the point reported).
    pub x: Weights,
    /// The extrapolated point y where the gradient is taken.
    pub y: Weights,
    /// FISTA's t.
    pub t: f64,
    /// Momentum restarts so far.
    pub restarts: usize,
}

impl ApgState {
    /// x = y = `w`, t = 1, no restarts yet.
    pub fn at(w: Weights) -> Self {
        ApgState {
            x: w.clone(),
            y: w,
            t: 1.0,
            restarts: 0,
        }
    }

    /// Starts again from `w` (the restart count is kept).
    pub fn start(&mut self, w: &Weights) {
        self.x = w.clone();
        self.y = w.clone();
        self.t = 1.0;
    }

    /// Drops the momentum: y = x, t = 1.
    pub fn drop_momentum(&mut self) {
        self.y = self.x.clone();
        self.t = 1.0;
    }
}

/// Twin of shaders/apg_update.wgsl: one FISTA step from the data gradient `grad` at y (already
/// divided by m): x⁺ = prox(y − step·(grad + 2·l2·y)) (soft-threshold by step·l1), restart when
/// (y − x⁺)·(x⁺ − x) > 0 (O'Donoghue and Candès), else y⁺ = x⁺ + (t − 1)/t⁺·(x⁺ − x).
pub fn apg_update(
    grad: &Weights,
    step: f64,
    penalty: &Penalty,
    fit_intercept: bool,
    state: &mut ApgState,
) {
    let d = state.x.features;
    let mut x_new = state.x.clone();
    let mut uphill = 0.0;
    for k in 0..x_new.values.len() {
        let is_bias = k % (d + 1) == d;
        let yk = state.y.values[k];
        let v = if is_bias && !fit_intercept {
            0.0
        } else {
            let (l1, l2) = penalty.of_coordinate(is_bias);
            let u = yk - step * (grad.values[k] + 2.0 * l2 * yk);
            objective::sign(u) * (u.abs() - step * l1).max(0.0)
        };
        uphill += (yk - v) * (v - state.x.values[k]);
        x_new.values[k] = v;
    }
    let (t_next, beta) = if uphill > 0.0 {
        state.restarts += 1;
        (1.0, 0.0)
    } else {
        let t_next = (1.0 + (1.0 + 4.0 * state.t * state.t).sqrt()) / 2.0;
        (t_next, (state.t - 1.0) / t_next)
    };
    for k in 0..x_new.values.len() {
        let (xn, xo) = (x_new.values[k], state.x.values[k]);
        state.y.values[k] = xn + beta * (xn - xo);
    }
    state.x = x_new;
    state.t = t_next;
}
