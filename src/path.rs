//! The regularization path: one model per λ on a decreasing grid, each solved by apg to its
//! tolerance and warm-started from its neighbour, as glmnet and scikit-learn's `enet_path` do.
//!
//! λ is scikit-learn's alpha, split by the l1 ratio R into the objective's penalties:
//! l1 = λ·R and l2 = λ·(1 − R)/2 (README, "The objective"). The intercepts keep the config's
//! own penalties (none by default).

use crate::config::{BatchSize, FitConfig, Model, Penalty, SolverKind};
use crate::data::{Dataset, Standardizer};
use crate::error::{Error, Result};
use crate::fit::{check_inputs, RunControl, Solver};
use crate::objective;
use crate::weights::Weights;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};

/// Default number of λ values (glmnet, scikit-learn).
pub const DEFAULT_N_LAMBDAS: usize = 100;
/// The early stop (glmnet): the deviance explained grew by less than this fraction of itself...
pub const EARLY_STOP_CHANGE: f64 = 1e-5;
/// ... or exceeds this.
pub const EARLY_STOP_MAX: f64 = 0.999;
/// The early stop is not checked before this many λ values (glmnet's `mnlam`).
pub const EARLY_STOP_MIN_LAMBDAS: usize = 5;
/// λ_max divides by max(R, this), so that a ridge path (R = 0) still has a finite start.
pub const MIN_L1_RATIO: f64 = 1e-3;

/// Which λ values to solve.
#[derive(Clone, Debug, PartialEq)]
pub enum LambdaGrid {
    /// `n` values, geometric from λ_max down to `min_ratio`·λ_max (default: 1e-4 when rows >
    /// features, else 1e-2, as glmnet).
    Auto { n: usize, min_ratio: Option<f64> },
    /// These values, solved from the largest down.
    Given(Vec<f64>),
}

/// A path: the grid, the l1 ratio and whether to stop early.
#[derive(Clone, Debug, PartialEq)]
pub struct PathSpec {
    pub l1_ratio: f64,
    pub grid: LambdaGrid,
    /// Stop as glmnet does once the deviance explained stops growing or nears 1.
    pub early_stop: bool,
}

impl Default for PathSpec {
    fn default() -> Self {
        PathSpec {
            l1_ratio: 1.0,
            grid: LambdaGrid::Auto {
                n: DEFAULT_N_LAMBDAS,
                min_ratio: None,
            },
            early_stop: true,
        }
    }
}

impl PathSpec {
    /// Checks the l1 ratio and the grid; errors name the option and the value.
    pub fn validate(&self) -> Result<()> {
        if !(self.l1_ratio.is_finite() && (0.0..=1.0).contains(&self.l1_ratio)) {
            return Err(Error::invalid(
                "l1-ratio",
                self.l1_ratio,
                "must lie in [0, 1]",
            ));
        }
        match &self.grid {
            LambdaGrid::Auto { n, min_ratio } => {
                if *n == 0 {
                    return Err(Error::invalid("n-lambdas", 0, "must be at least 1"));
                }
                if let Some(q) = min_ratio {
                    if !(q.is_finite() && *q > 0.0 && *q < 1.0) {
                        return Err(Error::invalid("lambda-min-ratio", q, "must lie in (0, 1)"));
                    }
                }
            }
            LambdaGrid::Given(values) => {
                if values.is_empty() {
                    return Err(Error::invalid("lambdas", "", "needs at least one value"));
                }
                if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                    return Err(Error::invalid(
                        "lambdas",
                        v,
                        "every λ must be a finite number ≥ 0",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The penalties of λ at l1 ratio `r`, with the intercepts' penalties of `base`.
pub fn penalty_at(lambda: f64, r: f64, base: &Penalty) -> Penalty {
    Penalty {
        l1: lambda * r,
        l2: lambda * (1.0 - r) / 2.0,
        ..*base
    }
}

/// The intercept-only optimum (or 0 without an intercept): the null model of the deviance and
/// the point at which λ_max is taken. Uses the sample weights.
pub fn null_weights(model: Model, data: &Dataset, fit_intercept: bool) -> Weights {
    let k = model.outputs(data.n_classes());
    let mut w = Weights::zeros(k, data.n_features());
    if !fit_intercept {
        return w;
    }
    let m = data.n_rows() as f64;
    let y = data.y_slice();
    // Weighted means with ŵ (mean 1), so dividing by m is dividing by Σŵ.
    let mean_of = |f: &dyn Fn(f32) -> f64| {
        y.iter()
            .enumerate()
            .map(|(i, &t)| data.row_weight(i) * f(t))
            .sum::<f64>()
            / m
    };
    let d = data.n_features();
    match model {
        Model::Linear => w.values[d] = mean_of(&|t| t as f64),
        Model::Logistic => {
            let p = mean_of(&|t| t as f64).clamp(1e-12, 1.0 - 1e-12);
            w.values[d] = (p / (1.0 - p)).ln();
        }
        Model::Softmax => {
            let logs: Vec<f64> = (0..k)
                .map(|c| mean_of(&|t| f64::from(t as usize == c)).max(1e-12).ln())
                .collect();
            let centre = logs.iter().sum::<f64>() / k as f64;
            for (c, l) in logs.iter().enumerate() {
                w.values[c * (d + 1) + d] = l - centre;
            }
        }
    }
    w
}

/// The smallest λ at which every coefficient is 0: ‖∇ℓ(null)‖∞ / max(R, 1e-3), the data
/// gradient taken at the null model (for linear, Σ ŵᵢ(yᵢ − ȳ)xᵢⱼ / m), over every class.
pub fn lambda_max(model: Model, data: &Dataset, l1_ratio: f64, fit_intercept: bool) -> f64 {
    lambda_max_at(
        model,
        data,
        &null_weights(model, data, fit_intercept),
        l1_ratio,
    )
}

/// [`lambda_max`] with the null model already computed.
fn lambda_max_at(model: Model, data: &Dataset, null: &Weights, l1_ratio: f64) -> f64 {
    let grad = objective::data_gradient(model, data, null);
    let top = (0..grad.outputs)
        .flat_map(|k| grad.coef(k).iter().copied())
        .fold(0.0f64, |a, g| a.max(g.abs()));
    top / l1_ratio.max(MIN_L1_RATIO)
}

/// `n` values from `top` down to `min_ratio`·`top`, evenly spaced in log λ.
pub fn geometric_grid(top: f64, n: usize, min_ratio: f64) -> Vec<f64> {
    if n == 1 {
        return vec![top];
    }
    let (hi, lo) = (top.ln(), (top * min_ratio).ln());
    (0..n)
        .map(|i| (hi + (lo - hi) * i as f64 / (n - 1) as f64).exp())
        .collect()
}

/// One λ of the path, on the original scale of the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathPoint {
    pub lambda: f64,
    pub l1: f64,
    pub l2: f64,
    pub nnz: usize,
    /// J of the problem solved (standardized when asked).
    pub objective: f64,
    /// The certified duality gap G ≥ J − J* (None without a penalty on W, i.e. λ = 0 or R = 0
    /// with l2 = 0).
    pub duality_gap: Option<f64>,
    /// 1 − deviance / null deviance (R² for linear).
    pub deviance_explained: f64,
    pub iterations: usize,
    pub converged: bool,
    pub weights: Weights,
}

/// A solved path.
#[derive(Clone, Debug)]
pub struct PathResult {
    pub model: Model,
    pub l1_ratio: f64,
    pub lambda_max: f64,
    /// The λ values solved, largest first (fewer than asked when the path stopped early).
    pub points: Vec<PathPoint>,
    /// The λ values asked for.
    pub grid: Vec<f64>,
    /// "deviance explained stopped growing", "deviance explained above 0.999", or "interrupted".
    pub stopped_early: Option<String>,
    pub seconds: f64,
    pub device: String,
}

/// What the path reports after each λ (for progress bars).
pub struct PathProgress<'a> {
    pub done: usize,
    pub total: usize,
    pub point: &'a PathPoint,
}

/// Solves the path with `solver`: full-batch apg, whatever `cfg.solver` and `cfg.batch_size` say;
/// `cfg.penalty` gives only the intercepts' penalties. Standardizes once when `cfg.standardize`,
/// so that every λ and its warm start share one scale; the points are mapped back to the
/// original scale.
pub fn run(
    solver: &mut dyn Solver,
    data: &Dataset,
    cfg: &FitConfig,
    spec: &PathSpec,
    stop: Option<&AtomicBool>,
    mut observer: Option<&mut dyn FnMut(&PathProgress)>,
) -> Result<PathResult> {
    spec.validate()?;
    let mut cfg = cfg.clone();
    cfg.solver = SolverKind::Apg;
    cfg.batch_size = BatchSize::Full;
    check_inputs(data, None, &cfg)?;
    let start = std::time::Instant::now();
    let scaled;
    let (fitted, standardizer) = if cfg.standardize {
        let mut s = data.clone();
        let st = Standardizer::fit_transform(&mut s);
        scaled = s;
        (&scaled, Some(st))
    } else {
        (data, None)
    };
    let null = null_weights(cfg.model, fitted, cfg.fit_intercept);
    let top = lambda_max_at(cfg.model, fitted, &null, spec.l1_ratio);
    let mut grid = match &spec.grid {
        LambdaGrid::Auto { n, min_ratio } => {
            let q = min_ratio.unwrap_or(if data.n_rows() > data.n_features() {
                1e-4
            } else {
                1e-2
            });
            geometric_grid(top, *n, q)
        }
        LambdaGrid::Given(values) => values.clone(),
    };
    grid.sort_by(|a, b| b.total_cmp(a));
    let null_loss = objective::data_loss(cfg.model, fitted, &null);
    let mut warm = null.clone();
    let mut points: Vec<PathPoint> = Vec::with_capacity(grid.len());
    let mut stopped_early = None;
    let mut device = String::new();
    for (i, &lambda) in grid.iter().enumerate() {
        if stop.is_some_and(|f| f.load(Ordering::SeqCst)) {
            stopped_early = Some(crate::fit::INTERRUPTED.to_string());
            break;
        }
        cfg.penalty = penalty_at(lambda, spec.l1_ratio, &cfg.penalty);
        let mut control = RunControl {
            stop,
            warm_start: Some(&warm),
            ..RunControl::default()
        };
        let result = solver.fit_run(fitted, None, &cfg, &mut control)?;
        if result.interrupted() {
            stopped_early = Some(crate::fit::INTERRUPTED.to_string());
            break;
        }
        device = result.device.clone();
        let deviance_explained = if null_loss > 0.0 {
            1.0 - result.objective.data_loss / null_loss
        } else {
            0.0
        };
        let weights = match &standardizer {
            Some(st) => st.unscale(&result.weights),
            None => result.weights.clone(),
        };
        let point = PathPoint {
            lambda,
            l1: cfg.penalty.l1,
            l2: cfg.penalty.l2,
            nnz: result.weights.nnz(),
            objective: result.objective.total,
            duality_gap: result.certificate.map(|c| c.gap),
            deviance_explained,
            iterations: result.epochs_run,
            converged: result.converged.unwrap_or(false),
            weights,
        };
        warm = result.weights;
        if let Some(observe) = observer.as_mut() {
            observe(&PathProgress {
                done: i + 1,
                total: grid.len(),
                point: &point,
            });
        }
        let previous = points.last().map(|p| p.deviance_explained);
        points.push(point);
        if spec.early_stop && points.len() >= EARLY_STOP_MIN_LAMBDAS && i + 1 < grid.len() {
            if deviance_explained > EARLY_STOP_MAX {
                stopped_early = Some(format!("deviance explained above {EARLY_STOP_MAX}"));
                break;
            }
            if let Some(prev) = previous {
                if deviance_explained - prev < EARLY_STOP_CHANGE * deviance_explained {
                    stopped_early = Some("deviance explained stopped growing".into());
                    break;
                }
            }
        }
    }
    Ok(PathResult {
        model: cfg.model,
        l1_ratio: spec.l1_ratio,
        lambda_max: top,
        points,
        grid,
        stopped_early,
        seconds: start.elapsed().as_secs_f64(),
        device,
    })
}
