//! CPU twins of the WGSL kernels, one function per shader with the same name and the same inputs,
//! accumulating in f64. The reference solver is built from these, so a GPU/CPU disagreement points
//! at one kernel.

use crate::config::Penalty;
use crate::schedule::Batch;
use rayon::prelude::*;

/// Rows per parallel task; batches smaller than two tasks run on one thread.
const ROWS_PER_TASK: usize = 2048;

/// Twin of shaders/grad_partials.wgsl: Σ_{i in batch} rᵢ·[xᵢ, 1] with rᵢ = xᵢ·w + b − yᵢ, where
/// `params` = [w, b]. Writes the d + 1 sums into `out` (the GPU writes them per workgroup).
pub fn grad_partials(
    x: &[f32],
    y: &[f32],
    d: usize,
    order: &[u32],
    batch: Batch,
    params: &[f64],
    out: &mut [f64],
) {
    let rows = &order[batch.start..batch.start + batch.rows];
    let accumulate = |acc: &mut [f64], chunk: &[u32]| {
        for &i in chunk {
            let i = i as usize;
            let row = &x[i * d..(i + 1) * d];
            let r = crate::objective::dot(row, &params[..d]) + params[d] - y[i] as f64;
            for (a, &v) in acc[..d].iter_mut().zip(row) {
                *a += r * v as f64;
            }
            acc[d] += r;
        }
    };
    out.iter_mut().for_each(|v| *v = 0.0);
    if rows.len() < 2 * ROWS_PER_TASK {
        accumulate(out, rows);
    } else {
        let sum = rows
            .par_chunks(ROWS_PER_TASK)
            .map(|chunk| {
                let mut acc = vec![0.0f64; d + 1];
                accumulate(&mut acc, chunk);
                acc
            })
            .reduce(
                || vec![0.0f64; d + 1],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
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

/// Twin of shaders/update.wgsl: g = grad_sum·inv_batch + 2·l2·w (+ l1·sign(w) unless prox), then
/// w + μ·v − lr·g (μ = 0 without momentum), for prox the soft-threshold
/// w ← sign(w)·max(|w| − lr·l1, 0), and v ← the displacement taken.
pub fn update(
    grad_sum: &[f64],
    inv_batch: f64,
    lr: f64,
    rule: &UpdateRule,
    params: &mut [f64],
    velocity: &mut [f64],
) {
    let d = params.len() - 1;
    for k in 0..params.len() {
        let is_bias = k == d;
        if is_bias && !rule.fit_intercept {
            continue;
        }
        let w = params[k];
        let (l1, l2) = if is_bias {
            (rule.penalty.bias_l1, rule.penalty.bias_l2)
        } else {
            (rule.penalty.l1, rule.penalty.l2)
        };
        let mut g = grad_sum[k] * inv_batch + 2.0 * l2 * w;
        if !rule.prox {
            g += l1 * crate::objective::sign(w);
        }
        // Heavy ball with v = the displacement actually taken (see shaders/update.wgsl).
        let mut w_new = w - lr * g;
        if let Some(mu) = rule.momentum {
            w_new += mu * velocity[k];
        }
        if rule.prox {
            w_new = crate::objective::sign(w_new) * (w_new.abs() - lr * l1).max(0.0);
        }
        if rule.momentum.is_some() {
            velocity[k] = w_new - w;
        }
        params[k] = w_new;
    }
}

/// Twin of shaders/data_loss.wgsl: (1/m) Σ ½ rᵢ² over all rows.
pub use crate::objective::data_loss;
