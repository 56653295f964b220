//! Exact solvers for the true optimum of J (no minibatches, f64 throughout):
//! linear ridge and least squares by the closed form (Cholesky of AᵀA/m + 2·diag(l2)), linear
//! lasso and elastic net by cyclic coordinate descent on the Gram matrix, stopped on the duality
//! gap; logistic and softmax by accelerated proximal gradient (cpu/proximal.rs), stopped on the
//! proximal-gradient residual.
//!
//! An unpenalized intercept is handled by centering X and y; a penalized one (bias_l1 or bias_l2
//! > 0) becomes a column of ones with its own penalty.

use crate::config::{Model, Penalty};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::objective::{self, Objective};
use crate::weights::Weights;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par, Side};

#[derive(Clone, Debug)]
pub struct ExactSolution {
    pub weights: Weights,
    pub objective: Objective,
    /// "closed form (Cholesky)", "coordinate descent" or "accelerated proximal gradient".
    pub method: &'static str,
    /// The optimality certificate of the returned point: the duality gap in units of J
    /// (coordinate descent; 0 for the closed form), or the largest entry of the
    /// proximal-gradient residual (accelerated proximal gradient; 0 exactly at the optimum).
    pub optimality: f64,
    /// Sweeps (coordinate descent) or iterations (proximal gradient).
    pub iterations: usize,
}

/// Coordinate descent stops when gap ≤ GAP_RTOL·J (or after MAX_SWEEPS sweeps).
const GAP_RTOL: f64 = 1e-12;
const MAX_SWEEPS: usize = 200_000;
const ROWS_PER_CHUNK: usize = 4096;

enum Intercept {
    None,
    Centered { x_mean: Vec<f64>, y_mean: f64 },
    Column,
}

/// The problem in Gram form: J(θ) = ½(yy − 2θᵀq + θᵀGθ) + Σ l1ⱼ|θⱼ| + l2ⱼθⱼ².
struct Gram {
    p: usize,
    g: Mat<f64>,
    q: Vec<f64>,
    yy: f64,
    l1: Vec<f64>,
    l2: Vec<f64>,
}

fn build(data: &Dataset, penalty: &Penalty, fit_intercept: bool) -> (Gram, Intercept) {
    let (n, d) = (data.n_rows(), data.n_features());
    let m = n as f64;
    let intercept = if !fit_intercept {
        Intercept::None
    } else if penalty.bias_l1 == 0.0 && penalty.bias_l2 == 0.0 {
        // Weighted means (ŵ has mean 1, so Σ ŵᵢ xᵢ / m).
        let mut x_mean = vec![0.0; d];
        for (i, row) in data.x.view().rows().into_iter().enumerate() {
            let wi = data.row_weight(i);
            for (s, &v) in x_mean.iter_mut().zip(row) {
                *s += wi * v as f64;
            }
        }
        x_mean.iter_mut().for_each(|s| *s /= m);
        let y_mean = data
            .y
            .iter()
            .enumerate()
            .map(|(i, &v)| data.row_weight(i) * v as f64)
            .sum::<f64>()
            / m;
        Intercept::Centered { x_mean, y_mean }
    } else {
        Intercept::Column
    };
    let p = if matches!(intercept, Intercept::Column) {
        d + 1
    } else {
        d
    };
    let (shift, t_shift) = match &intercept {
        Intercept::Centered { x_mean, y_mean } => (x_mean.clone(), *y_mean),
        _ => (vec![0.0; d], 0.0),
    };
    let mut g = Mat::<f64>::zeros(p, p);
    let mut q = vec![0.0; p];
    let mut yy = 0.0;
    let mut start = 0;
    while start < n {
        let rows = ROWS_PER_CHUNK.min(n - start);
        let x = data.x.view();
        // Row i scaled by √ŵᵢ, so that AᵀA and Aᵀt carry the sample weights.
        let root: Vec<f64> = (0..rows)
            .map(|i| data.row_weight(start + i).sqrt())
            .collect();
        let a = Mat::<f64>::from_fn(rows, p, |i, j| {
            if j < d {
                root[i] * (x[[start + i, j]] as f64 - shift[j])
            } else {
                root[i]
            }
        });
        matmul(
            g.as_mut(),
            Accum::Add,
            a.transpose(),
            a.as_ref(),
            1.0 / m,
            Par::rayon(0),
        );
        for i in 0..rows {
            let t = root[i] * (data.y[start + i] as f64 - t_shift);
            yy += t * t / m;
            for (j, qj) in q.iter_mut().enumerate() {
                *qj += a[(i, j)] * t / m;
            }
        }
        start += rows;
    }
    let mut l1 = vec![penalty.l1; d];
    let mut l2 = vec![penalty.l2; d];
    if p > d {
        l1.push(penalty.bias_l1);
        l2.push(penalty.bias_l2);
    }
    (
        Gram {
            p,
            g,
            q,
            yy,
            l1,
            l2,
        },
        intercept,
    )
}

impl Gram {
    fn closed_form(&self) -> Result<Vec<f64>> {
        let mut a = self.g.clone();
        for j in 0..self.p {
            a[(j, j)] += 2.0 * self.l2[j];
        }
        let llt = a.llt(Side::Lower).map_err(|e| {
            Error::Solver(format!(
                "the normal equations are singular ({e:?}): X has collinear or constant columns; add an l2 penalty"
            ))
        })?;
        let rhs = Mat::<f64>::from_fn(self.p, 1, |i, _| self.q[i]);
        use faer::linalg::solvers::Solve;
        let sol = llt.solve(&rhs);
        Ok((0..self.p).map(|i| sol[(i, 0)]).collect())
    }

    /// (primal J, duality gap) at θ, given gθ = Gθ.
    fn gap(&self, theta: &[f64], g_theta: &[f64]) -> (f64, f64) {
        let tq: f64 = theta.iter().zip(&self.q).map(|(a, b)| a * b).sum();
        let tgt: f64 = theta.iter().zip(g_theta).map(|(a, b)| a * b).sum();
        let rr = (self.yy - 2.0 * tq + tgt).max(0.0); // ‖R‖²/m
        let yr = self.yy - tq; // tᵀR/m
        let primal = 0.5 * rr
            + theta
                .iter()
                .zip(self.l1.iter().zip(&self.l2))
                .map(|(t, (a, c))| a * t.abs() + c * t * t)
                .sum::<f64>();
        // Dual point sR: scale s so coordinates without l2 satisfy |s·uⱼ| ≤ l1ⱼ.
        let u: Vec<f64> = self.q.iter().zip(g_theta).map(|(q, g)| q - g).collect();
        let mut s: f64 = 1.0;
        for ((uj, &a), &c) in u.iter().zip(&self.l1).zip(&self.l2) {
            if c == 0.0 && a > 0.0 && uj.abs() > a {
                s = s.min(a / uj.abs());
            }
        }
        let mut dual = s * yr - 0.5 * s * s * rr;
        for ((uj, &a), &c) in u.iter().zip(&self.l1).zip(&self.l2) {
            if c > 0.0 {
                let excess = ((s * uj).abs() - a).max(0.0);
                dual -= excess * excess / (4.0 * c);
            }
        }
        (primal, (primal - dual).max(0.0))
    }

    fn coordinate_descent(&self) -> (Vec<f64>, f64, usize) {
        let p = self.p;
        let mut theta = vec![0.0; p];
        let mut g_theta = vec![0.0; p];
        let mut gap = f64::INFINITY;
        for sweep in 1..=MAX_SWEEPS {
            for j in 0..p {
                let gjj = self.g[(j, j)];
                let denom = gjj + 2.0 * self.l2[j];
                if denom <= 0.0 {
                    continue; // an all-zero column: its coefficient stays 0
                }
                let old = theta[j];
                let rho = self.q[j] - g_theta[j] + gjj * old;
                let new = objective::sign(rho) * (rho.abs() - self.l1[j]).max(0.0) / denom;
                if new != old {
                    let delta = new - old;
                    for (k, gk) in g_theta.iter_mut().enumerate() {
                        *gk += self.g[(k, j)] * delta;
                    }
                    theta[j] = new;
                }
            }
            if sweep % 5 == 0 || p <= 2 {
                let (primal, g) = self.gap(&theta, &g_theta);
                gap = g;
                if gap <= GAP_RTOL * primal.abs().max(f64::MIN_POSITIVE) {
                    return (theta, gap, sweep);
                }
            }
        }
        (theta, gap, MAX_SWEEPS)
    }
}

/// The exact minimizer of J for `model` and `penalty` on `data`.
pub fn solve_model(
    model: Model,
    data: &Dataset,
    penalty: &Penalty,
    fit_intercept: bool,
) -> Result<ExactSolution> {
    match model {
        Model::Linear => solve(data, penalty, fit_intercept),
        _ => Ok(super::proximal::solve(model, data, penalty, fit_intercept)),
    }
}

/// The exact minimizer of the linear model's J for `penalty` on `data`.
pub fn solve(data: &Dataset, penalty: &Penalty, fit_intercept: bool) -> Result<ExactSolution> {
    if data.is_sparse() {
        return Ok(solve_sparse(data, penalty, fit_intercept));
    }
    let (gram, intercept_mode) = build(data, penalty, fit_intercept);
    let any_l1 = gram.l1.iter().any(|&v| v > 0.0);
    let (theta, duality_gap, sweeps, method) = if any_l1 {
        let (theta, gap, sweeps) = gram.coordinate_descent();
        (theta, gap, sweeps, "coordinate descent")
    } else {
        (gram.closed_form()?, 0.0, 0, "closed form (Cholesky)")
    };
    let d = data.n_features();
    let coef = theta[..d].to_vec();
    let intercept = match intercept_mode {
        Intercept::None => 0.0,
        Intercept::Centered { x_mean, y_mean } => {
            y_mean - x_mean.iter().zip(&coef).map(|(m, w)| m * w).sum::<f64>()
        }
        Intercept::Column => theta[d],
    };
    let weights = Weights::from_parts(&[coef], &[intercept]);
    let objective = objective::evaluate(Model::Linear, data, penalty, &weights);
    Ok(ExactSolution {
        weights,
        objective,
        method,
        optimality: duality_gap,
        iterations: sweeps,
    })
}

/// Linear J on sparse X by cyclic coordinate descent over the columns of its CSC copy, keeping
/// the residual R = y − Xw − b (no Gram matrix: d may be millions), the intercept a coordinate of
/// its own each sweep. Stopped on the duality gap of the same dual point as [`Gram::gap`]:
/// ρ = s·R, s scaling the coordinates without l2 into |s·uⱼ| ≤ l1ⱼ, u = E[ŵ·x·R].
fn solve_sparse(data: &Dataset, penalty: &Penalty, fit_intercept: bool) -> ExactSolution {
    let csc = data.x.csr().expect("sparse data").csc();
    let (n, d) = (data.n_rows(), data.n_features());
    let m = n as f64;
    let sw: Vec<f64> = (0..n).map(|i| data.row_weight(i)).collect();
    let y: Vec<f64> = data.y.iter().map(|&v| v as f64).collect();
    let mut resid = y.clone();
    let curvature: Vec<f64> = (0..d)
        .map(|j| {
            let (rows, vals) = csc.column(j);
            rows.iter()
                .zip(vals)
                .map(|(&i, &v)| sw[i as usize] * (v as f64) * (v as f64))
                .sum::<f64>()
                / m
        })
        .collect();
    let column_dot = |j: usize, r: &[f64]| -> f64 {
        let (rows, vals) = csc.column(j);
        rows.iter()
            .zip(vals)
            .map(|(&i, &v)| sw[i as usize] * v as f64 * r[i as usize])
            .sum::<f64>()
            / m
    };
    let mean_resid = |r: &[f64]| r.iter().zip(&sw).map(|(a, b)| a * b).sum::<f64>() / m;
    let soft = |rho: f64, l1: f64| objective::sign(rho) * (rho.abs() - l1).max(0.0);
    let (mut coef, mut b) = (vec![0.0; d], 0.0);
    let (mut gap, mut sweeps) = (f64::INFINITY, MAX_SWEEPS);
    for sweep in 1..=MAX_SWEEPS {
        if fit_intercept {
            let rho = mean_resid(&resid) + b;
            let new = soft(rho, penalty.bias_l1) / (1.0 + 2.0 * penalty.bias_l2);
            let delta = new - b;
            if delta != 0.0 {
                resid.iter_mut().for_each(|r| *r -= delta);
                b = new;
            }
        }
        for j in 0..d {
            let denom = curvature[j] + 2.0 * penalty.l2;
            if curvature[j] <= 0.0 {
                continue; // an all-zero column: its coefficient stays 0
            }
            let old = coef[j];
            let rho = column_dot(j, &resid) + curvature[j] * old;
            let new = soft(rho, penalty.l1) / denom;
            if new != old {
                let delta = new - old;
                let (rows, vals) = csc.column(j);
                for (&i, &v) in rows.iter().zip(vals) {
                    resid[i as usize] -= v as f64 * delta;
                }
                coef[j] = new;
            }
        }
        if sweep % 5 == 0 || d <= 2 {
            let rr = resid.iter().zip(&sw).map(|(r, s)| s * r * r).sum::<f64>() / m;
            let yr = resid
                .iter()
                .zip(&sw)
                .zip(&y)
                .map(|((r, s), t)| s * r * t)
                .sum::<f64>()
                / m;
            let mut coords: Vec<(f64, f64, f64)> = (0..d)
                .map(|j| (column_dot(j, &resid), penalty.l1, penalty.l2))
                .collect();
            if fit_intercept {
                coords.push((mean_resid(&resid), penalty.bias_l1, penalty.bias_l2));
            }
            let mut scale: f64 = 1.0;
            for &(u, a, c) in &coords {
                if c == 0.0 && a > 0.0 && u.abs() > a {
                    scale = scale.min(a / u.abs());
                }
            }
            let mut dual = scale * yr - 0.5 * scale * scale * rr;
            for &(u, a, c) in &coords {
                if c > 0.0 {
                    let excess = ((scale * u).abs() - a).max(0.0);
                    dual -= excess * excess / (4.0 * c);
                }
            }
            let pen = coef
                .iter()
                .map(|w| penalty.l1 * w.abs() + penalty.l2 * w * w)
                .sum::<f64>()
                + penalty.bias_l1 * b.abs()
                + penalty.bias_l2 * b * b;
            let primal = 0.5 * rr + pen;
            gap = (primal - dual).max(0.0);
            if gap <= GAP_RTOL * primal.abs().max(f64::MIN_POSITIVE) {
                sweeps = sweep;
                break;
            }
        }
    }
    let weights = Weights::from_parts(&[coef], &[b]);
    let objective = objective::evaluate(Model::Linear, data, penalty, &weights);
    ExactSolution {
        weights,
        objective,
        method: "coordinate descent (sparse, by columns)",
        optimality: gap,
        iterations: sweeps,
    }
}
