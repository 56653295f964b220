//! The CPU's block engines (src/block.rs), in f64:
//!
//! - [`RowsEngine`], the twin of shaders/block_rows.wgsl: one pass over the rows, each row read
//!   once and turned into the residuals of every model of the block.
//! - [`GramEngine`], for linear models with few features: the weighted Gram matrix of each fold,
//!   GⱼF = Σ_{i in fold} ŵᵢ·aᵢaᵢᵀ with aᵢ = [xᵢ, 1], is formed once (one pass over X, as
//!   glmnet's "covariance" mode and scikit-learn's precomputed Gram do), after which a part's
//!   loss and gradient cost O(d²) per model instead of O(n·d). This is the CPU's fast path; the
//!   GPU never forms XᵀX.

use crate::apg;
use crate::block::{BlockEngine, Parts};
use crate::config::Model;
use crate::cpu::kernels;
use crate::error::{Error, Result};
use crate::gap::DualPoint;
use crate::objective;
use crate::weights::Weights;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rayon::prelude::*;

/// Rows per parallel task.
const ROWS_PER_TASK: usize = 2048;
/// The Gram engine keeps F + 1 matrices of (d + 1)² f64: up to this many features.
pub const GRAM_MAX_FEATURES: usize = 2048;

/// The twin of the GPU block kernel: per row, every model's logits, residuals and sums.
pub struct RowsEngine<'a> {
    model: Model,
    parts: &'a Parts,
}

impl<'a> RowsEngine<'a> {
    pub fn new(model: Model, parts: &'a Parts) -> Self {
        RowsEngine { model, parts }
    }
}

impl BlockEngine for RowsEngine<'_> {
    fn device(&self) -> String {
        super::reference::cpu_description()
    }

    fn gram_top(&mut self, part: usize, fit_intercept: bool) -> Result<f64> {
        let data = &self.parts.data[part];
        apg::gram_top(
            &mut |v| Ok(kernels::gram_times(data, v)),
            fit_intercept,
            data.n_features(),
        )
    }

    fn gradients(
        &mut self,
        points: &[(usize, &Weights)],
        losses: bool,
    ) -> Result<Vec<(f64, Weights)>> {
        Ok(block_rows(self.model, self.parts, points, losses))
    }

    fn dual_losses(&mut self, points: &[(usize, &Weights, &DualPoint)]) -> Result<Vec<f64>> {
        Ok(points
            .par_iter()
            .map(|(part, w, point)| {
                kernels::dual_loss(self.model, &self.parts.data[*part], w, point)
            })
            .collect())
    }

    fn preferred_block(&self) -> usize {
        // Each model costs its own multiply-adds per row: sharing the read saves little on a
        // CPU, so blocks stay small (one λ of every fold).
        1
    }
}

/// Twin of shaders/block_rows.wgsl: for each (part, w), E[ℓ] (when `losses`) and E[r·[x, 1]]
/// over the part's rows, each row of X read once for all models.
pub fn block_rows(
    model: Model,
    parts: &Parts,
    points: &[(usize, &Weights)],
    losses: bool,
) -> Vec<(f64, Weights)> {
    let first = &parts.data[parts.all()];
    if first.is_sparse() {
        // Sparse: each model's residuals, then Xᵀr by columns (no dense sums per row block).
        let m = first.n_rows() as f64;
        return points
            .iter()
            .map(|(part, w)| {
                let data = &parts.data[*part];
                let (loss, c) = objective::weighted_residuals(model, data, w, losses);
                let grad = objective::xt_times(data, &c, w.outputs)
                    .into_iter()
                    .map(|v| v / m)
                    .collect();
                (loss / m, Weights::from_values(w.outputs, w.features, grad))
            })
            .collect();
    }
    let y = first.y_slice();
    let d = first.n_features();
    let stride = d + 1;
    let widths: Vec<usize> = points.iter().map(|(_, w)| w.values.len()).collect();
    let offsets: Vec<usize> = widths
        .iter()
        .scan(0, |acc, &w| {
            let o = *acc;
            *acc += w + 1;
            Some(o)
        })
        .collect();
    let total: usize = widths.iter().map(|w| w + 1).sum();
    let n = first.n_rows();
    let sums = (0..n)
        .into_par_iter()
        .step_by(ROWS_PER_TASK)
        .map(|start| {
            let mut acc = vec![0.0f64; total];
            let mut z = Vec::new();
            for (i, &yi) in y
                .iter()
                .enumerate()
                .take((start + ROWS_PER_TASK).min(n))
                .skip(start)
            {
                let row = first.row(i);
                for (k, (part, w)) in points.iter().enumerate() {
                    let s = parts.data[*part].row_weight(i);
                    if s == 0.0 {
                        continue;
                    }
                    z.resize(w.outputs, 0.0);
                    w.logits_row(row, &mut z);
                    let a = &mut acc[offsets[k]..offsets[k] + widths[k] + 1];
                    if losses {
                        a[widths[k]] += s * objective::row_loss(model, &z, yi);
                    }
                    objective::residuals(model, &mut z, yi);
                    for (o, &r) in z.iter().enumerate() {
                        let r = r * s;
                        let ao = &mut a[o * stride..(o + 1) * stride];
                        row.add_scaled(r, &mut ao[..d]);
                        ao[d] += r;
                    }
                }
            }
            acc
        })
        // Added in block order, so the result does not depend on rayon's split.
        .collect::<Vec<_>>()
        .into_iter()
        .fold(vec![0.0f64; total], |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(p, q)| *p += q);
            a
        });
    let m = n as f64;
    points
        .iter()
        .enumerate()
        .map(|(k, (_, w))| {
            let a = &sums[offsets[k]..offsets[k] + widths[k] + 1];
            let grad = a[..widths[k]].iter().map(|v| v / m).collect();
            (
                a[widths[k]] / m,
                Weights::from_values(w.outputs, w.features, grad),
            )
        })
        .collect()
}

/// Linear models from the folds' Gram matrices.
pub struct GramEngine<'a> {
    parts: &'a Parts,
    /// Per part: Σ ŵ·aaᵀ, Σ ŵ·y·a, Σ ŵ·y² over its rows (ŵ the data's own weights), and the
    /// divisor that turns them into the part's means.
    gram: Vec<Mat<f64>>,
    ya: Vec<Vec<f64>>,
    yy: Vec<f64>,
    weight: Vec<f64>,
    /// The same per fold (for the held-out error).
    fold_gram: Vec<Mat<f64>>,
    fold_ya: Vec<Vec<f64>>,
    fold_yy: Vec<f64>,
}

impl<'a> GramEngine<'a> {
    /// Forms every fold's Gram matrix in one pass over X; `None` for other models or more than
    /// [`GRAM_MAX_FEATURES`] features, or when the Gram work would exceed a plain pass's by far
    /// (fewer rows than features).
    pub fn new(model: Model, parts: &'a Parts) -> Option<Self> {
        let data = &parts.data[parts.all()];
        let (n, d) = (data.n_rows(), data.n_features());
        if model != Model::Linear || data.is_sparse() || d > GRAM_MAX_FEATURES || n < 2 * (d + 1) {
            return None;
        }
        let p = d + 1;
        let x = data.x_slice();
        let y = data.y_slice();
        let folds = parts.folds;
        let mut fold_gram: Vec<Mat<f64>> = (0..folds).map(|_| Mat::zeros(p, p)).collect();
        let mut fold_ya = vec![vec![0.0; p]; folds];
        let mut fold_yy = vec![0.0; folds];
        for f in 0..folds {
            for chunk in parts.fold_rows[f].chunks(4096) {
                let root: Vec<f64> = chunk.iter().map(|&i| data.row_weight(i).sqrt()).collect();
                let a = Mat::<f64>::from_fn(chunk.len(), p, |r, j| {
                    let i = chunk[r];
                    if j < d {
                        root[r] * x[i * d + j] as f64
                    } else {
                        root[r]
                    }
                });
                matmul(
                    fold_gram[f].as_mut(),
                    Accum::Add,
                    a.transpose(),
                    a.as_ref(),
                    1.0,
                    Par::rayon(0),
                );
                for (r, &i) in chunk.iter().enumerate() {
                    let t = root[r] * y[i] as f64;
                    fold_yy[f] += t * t;
                    for (j, v) in fold_ya[f].iter_mut().enumerate() {
                        *v += a[(r, j)] * t;
                    }
                }
            }
        }
        let mut gram = Vec::with_capacity(folds + 1);
        let (mut ya, mut yy, mut weight) = (Vec::new(), Vec::new(), Vec::new());
        for part in 0..=folds {
            let held = parts.held_out(part);
            let mut g = Mat::<f64>::zeros(p, p);
            let mut c = vec![0.0; p];
            let (mut s, mut w) = (0.0, 0.0);
            for f in (0..folds).filter(|&f| Some(f as u32) != held) {
                g += &fold_gram[f];
                c.iter_mut().zip(&fold_ya[f]).for_each(|(a, b)| *a += b);
                s += fold_yy[f];
                w += parts.fold_weight[f];
            }
            // E over the part is (1/n)·Σ ŵᵢ⁽ᵖ⁾(·), with ŵ⁽ᵖ⁾ the part's own (f32) weights, as the
            // gap's statistics and the other engines compute it: dividing by w·n/Σŵ⁽ᵖ⁾ rather
            // than by w keeps the certificate consistent to f64 rounding (without sample
            // weights ŵ⁽ᵖ⁾ is one f32 constant, and the two agree exactly).
            let own: f64 = (0..n).map(|i| parts.data[part].row_weight(i)).sum();
            gram.push(g);
            ya.push(c);
            yy.push(s);
            weight.push(w * n as f64 / own);
        }
        Some(GramEngine {
            parts,
            gram,
            ya,
            yy,
            weight,
            fold_gram,
            fold_ya,
            fold_yy,
        })
    }
}

/// G·v for a (d + 1)² matrix.
fn times(g: &Mat<f64>, v: &[f64]) -> Vec<f64> {
    (0..g.nrows())
        .map(|i| (0..g.ncols()).map(|j| g[(i, j)] * v[j]).sum())
        .collect()
}

/// ½·Σŵ(y − z)² from the Gram form: ½(wᵀGw − 2cᵀw + yy), and G·w.
fn squared_error(g: &Mat<f64>, c: &[f64], yy: f64, w: &[f64]) -> (f64, Vec<f64>) {
    let gw = times(g, w);
    let quad: f64 = gw.iter().zip(w).map(|(a, b)| a * b).sum();
    let lin: f64 = c.iter().zip(w).map(|(a, b)| a * b).sum();
    ((quad - 2.0 * lin + yy).max(0.0) / 2.0, gw)
}

impl BlockEngine for GramEngine<'_> {
    fn device(&self) -> String {
        format!(
            "{} (Gram matrices of the folds)",
            super::reference::cpu_description()
        )
    }

    fn gram_top(&mut self, part: usize, fit_intercept: bool) -> Result<f64> {
        let (g, m) = (&self.gram[part], self.weight[part]);
        apg::gram_top(
            &mut |v| Ok(times(g, v).into_iter().map(|a| a / m).collect()),
            fit_intercept,
            self.parts.features(),
        )
    }

    fn gradients(
        &mut self,
        points: &[(usize, &Weights)],
        _losses: bool,
    ) -> Result<Vec<(f64, Weights)>> {
        Ok(points
            .par_iter()
            .map(|(part, w)| {
                let m = self.weight[*part];
                let (half_sse, gw) = squared_error(
                    &self.gram[*part],
                    &self.ya[*part],
                    self.yy[*part],
                    &w.values,
                );
                let grad = gw
                    .iter()
                    .zip(&self.ya[*part])
                    .map(|(a, c)| (a - c) / m)
                    .collect();
                (half_sse / m, Weights::from_values(1, w.features, grad))
            })
            .collect())
    }

    fn dual_losses(&mut self, _points: &[(usize, &Weights, &DualPoint)]) -> Result<Vec<f64>> {
        Err(Error::invalid(
            "model",
            "linear",
            "the Gram engine has no classifier dual (internal error)",
        ))
    }

    fn holdout_sse(&mut self, points: &[(usize, &Weights)]) -> Option<Vec<f64>> {
        Some(
            points
                .iter()
                .map(|(f, w)| {
                    2.0 * squared_error(
                        &self.fold_gram[*f],
                        &self.fold_ya[*f],
                        self.fold_yy[*f],
                        &w.values,
                    )
                    .0
                })
                .collect(),
        )
    }

    fn preferred_block(&self) -> usize {
        1
    }
}
