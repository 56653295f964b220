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

/// Twin of shaders/grad_partials.wgsl: Σ_{i in batch} rᵢₖ·[xᵢ, 1] for every output k, where rᵢ are
/// the residuals of row i's K logits (objective::residuals). Writes the K × (d + 1) sums into `out`
/// (the GPU writes them per workgroup).
pub fn grad_partials(
    model: Model,
    x: &[f32],
    y: &[f32],
    order: &[u32],
    batch: Batch,
    w: &Weights,
    out: &mut [f64],
) {
    let d = w.features;
    let stride = d + 1;
    let rows = &order[batch.start..batch.start + batch.rows];
    let accumulate = |acc: &mut [f64], chunk: &[u32]| {
        let mut z = vec![0.0; w.outputs];
        for &i in chunk {
            let i = i as usize;
            let row = &x[i * d..(i + 1) * d];
            w.logits_into(row, &mut z);
            objective::residuals(model, &mut z, y[i]);
            for (k, &r) in z.iter().enumerate() {
                let acc_k = &mut acc[k * stride..(k + 1) * stride];
                for (a, &v) in acc_k[..d].iter_mut().zip(row) {
                    *a += r * v as f64;
                }
                acc_k[d] += r;
            }
        }
    };
    out.iter_mut().for_each(|v| *v = 0.0);
    if rows.len() < 2 * ROWS_PER_TASK {
        accumulate(out, rows);
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
    for k in 0..w.values.len() {
        let is_bias = k % (d + 1) == d;
        if is_bias && !rule.fit_intercept {
            continue;
        }
        let wk = w.values[k];
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
        w.values[k] = w_new;
    }
}

/// Twin of shaders/data_loss.wgsl: (1/m) Σ loss over all rows, and the accuracy of classifiers.
pub fn data_loss(model: Model, data: &Dataset, w: &Weights) -> Metrics {
    objective::metrics(model, data, w)
}
