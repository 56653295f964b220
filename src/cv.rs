//! k-fold cross-validation along the regularization path, as glmnet's `cv.glmnet`: every (fold,
//! λ, l1 ratio) is one model of a block (src/block.rs), the held-out fold's rows weigh 0 through
//! the sample-weight path, so one pass over X serves every fold.
//!
//! For each l1 ratio R the grid comes from λ_max(R) of all rows (src/path.rs, as glmnet and
//! scikit-learn's `ElasticNetCV` do). At each λ, from the largest down, the F fold models and the
//! model of all rows are solved to `tol`, each warm-started from its own solution at the previous
//! λ. Each fold model is scored on its held-out rows; per λ:
//!
//! ```text
//! cv_mean = Σ_f W_f·s_f / Σ_f W_f,   cv_se = sqrt(Σ_f W_f·(s_f − cv_mean)² / Σ_f W_f / (F − 1))
//! ```
//!
//! with W_f the fold's weight (its rows, or the sum of their sample weights): cv.glmnet's cvm and
//! cvsd. `lambda_min` is the best mean (over every l1 ratio), `lambda_1se` the largest λ of that
//! ratio whose mean is within one standard error of it. The model of all rows at the selected λ
//! is then refitted to `tol` from its path solution and returned.

use crate::block::{BlockSolver, Parts, Problem};
use crate::config::{BatchSize, FitConfig, Model, SolverKind};
use crate::data::{Dataset, Standardizer};
use crate::error::{Error, Result};
use crate::fit::{check_inputs, Fitted, RunControl, Solver};
use crate::objective;
use crate::path::{self, LambdaGrid};
use crate::weights::Weights;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};

/// The held-out score of a fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scoring {
    /// Mean squared error (classifiers: of the class probabilities, Σₖ (pₖ − [y = k])²).
    Mse,
    /// Mean deviance: the squared error for linear, 2·mean log-loss for classifiers (glmnet).
    Deviance,
    /// Fraction of rows classified right (classifiers).
    Accuracy,
    /// Area under the ROC curve (logistic).
    Auc,
}

impl Scoring {
    /// glmnet's defaults: the squared error for linear, the deviance for classifiers.
    pub fn default_for(model: Model) -> Self {
        if model == Model::Linear {
            Scoring::Mse
        } else {
            Scoring::Deviance
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scoring::Mse => "mse",
            Scoring::Deviance => "deviance",
            Scoring::Accuracy => "accuracy",
            Scoring::Auc => "auc",
        }
    }

    /// Accuracy and AUC are maximized; the errors minimized.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Scoring::Accuracy | Scoring::Auc)
    }

    fn check(self, model: Model) -> Result<()> {
        let ok = match self {
            Scoring::Mse | Scoring::Deviance => true,
            Scoring::Accuracy => model.is_classifier(),
            Scoring::Auc => model == Model::Logistic,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "scoring",
                self.name(),
                format!(
                    "does not apply to {} (accuracy needs a classifier, auc --model logistic)",
                    model.name()
                ),
            ))
        }
    }
}

/// Which λ the refit uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// The best mean score.
    Min,
    /// The largest λ within one standard error of the best (a sparser model).
    #[serde(rename = "1se")]
    OneSe,
}

impl Select {
    pub fn name(self) -> &'static str {
        match self {
            Select::Min => "min",
            Select::OneSe => "1se",
        }
    }
}

/// How the rows are split.
#[derive(Clone, Debug, PartialEq)]
pub enum Folds {
    /// k folds, seeded (stratified for classifiers).
    Seeded { k: usize, seed: u64 },
    /// One fold id per row, 0..F.
    Given(Vec<u32>),
}

/// A cross-validation.
#[derive(Clone, Debug, PartialEq)]
pub struct CvSpec {
    pub folds: Folds,
    /// One curve per l1 ratio.
    pub l1_ratios: Vec<f64>,
    pub grid: LambdaGrid,
    /// None: [`Scoring::default_for`] the model.
    pub scoring: Option<Scoring>,
    pub select: Select,
    /// Models per pass over X; None: the engine's preference, at least one λ of every fold.
    pub block: Option<usize>,
}

impl Default for CvSpec {
    fn default() -> Self {
        CvSpec {
            folds: Folds::Seeded { k: 5, seed: 0 },
            l1_ratios: vec![1.0],
            grid: LambdaGrid::Auto {
                n: path::DEFAULT_N_LAMBDAS,
                min_ratio: None,
            },
            scoring: None,
            select: Select::Min,
            block: None,
        }
    }
}

/// The curve of one l1 ratio.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CvCurve {
    pub l1_ratio: f64,
    pub lambda_max: f64,
    /// Largest first.
    pub lambda: Vec<f64>,
    pub cv_mean: Vec<f64>,
    pub cv_se: Vec<f64>,
    /// Nonzero coefficients of the model of all rows at each λ.
    pub nnz: Vec<usize>,
    /// The score of each fold at each λ (λ × folds).
    pub fold_scores: Vec<Vec<f64>>,
    /// Models (of all (λ, part) pairs) that stopped before their tolerance.
    pub not_converged: usize,
}

/// A finished cross-validation.
#[derive(Clone, Debug)]
pub struct CvResult {
    pub model: Model,
    pub scoring: Scoring,
    pub folds: usize,
    pub curves: Vec<CvCurve>,
    /// (curve, λ index) of the best mean.
    pub best: (usize, usize),
    /// λ index (in the best curve) of lambda_1se.
    pub one_se: usize,
    pub select: Select,
    /// The model of all rows at the selected λ, refitted to tol, on the original scale.
    pub refit: Fitted,
    /// The refit's configuration (its penalty is the selected λ's).
    pub refit_config: FitConfig,
    /// Models per pass and passes over X made by the block solver.
    pub block: usize,
    pub passes: usize,
    pub seconds: f64,
    pub device: String,
}

impl CvResult {
    pub fn lambda_min(&self) -> f64 {
        self.curves[self.best.0].lambda[self.best.1]
    }
    pub fn l1_ratio_min(&self) -> f64 {
        self.curves[self.best.0].l1_ratio
    }
    pub fn lambda_1se(&self) -> f64 {
        self.curves[self.best.0].lambda[self.one_se]
    }
    pub fn selected_lambda(&self) -> f64 {
        match self.select {
            Select::Min => self.lambda_min(),
            Select::OneSe => self.lambda_1se(),
        }
    }
}

/// Checks the spec against the model before any work.
fn validate(spec: &CvSpec, model: Model) -> Result<()> {
    if spec.l1_ratios.is_empty() {
        return Err(Error::invalid("l1-ratio", "", "needs at least one value"));
    }
    for &r in &spec.l1_ratios {
        path::PathSpec {
            l1_ratio: r,
            grid: spec.grid.clone(),
            early_stop: false,
        }
        .validate()?;
    }
    if spec.block == Some(0) {
        return Err(Error::invalid("block", 0, "must be at least 1"));
    }
    spec.scoring
        .unwrap_or(Scoring::default_for(model))
        .check(model)
}

/// Runs the cross-validation with `solver`'s block engine (full-batch apg whatever `cfg.solver`
/// says; `cfg.penalty` gives only the intercepts' penalties). Standardizes once on all rows when
/// `cfg.standardize`. `observer` hears (λ indices done, λ indices in all). `Ok(None)` when `stop`
/// was raised: a cross-validation needs every λ, so there is nothing to report.
pub fn run(
    solver: &mut dyn Solver,
    data: &Dataset,
    cfg: &FitConfig,
    spec: &CvSpec,
    stop: Option<&AtomicBool>,
    mut observer: Option<&mut dyn FnMut(usize, usize)>,
) -> Result<Option<CvResult>> {
    let mut cfg = cfg.clone();
    cfg.solver = SolverKind::Apg;
    cfg.batch_size = BatchSize::Full;
    check_inputs(data, None, &cfg)?;
    validate(spec, cfg.model)?;
    let scoring = spec.scoring.unwrap_or(Scoring::default_for(cfg.model));
    let start = std::time::Instant::now();
    let fold_ids = match &spec.folds {
        Folds::Seeded { k, seed } => crate::data::split::kfold(data, *k, *seed)?,
        Folds::Given(ids) => ids.clone(),
    };
    let scaled;
    let fitted = if cfg.standardize {
        let mut s = data.clone();
        Standardizer::fit_transform(&mut s);
        scaled = s;
        &scaled
    } else {
        data
    };
    let parts = Parts::new(fitted, fold_ids)?;
    let folds = parts.folds;
    let all = parts.all();
    let n_parts = folds + 1;
    let d = fitted.n_features();

    // Grids: one per l1 ratio, from λ_max of all rows.
    let null = path::null_weights(cfg.model, fitted, cfg.fit_intercept);
    let mut curves: Vec<CvCurve> = Vec::with_capacity(spec.l1_ratios.len());
    for &r in &spec.l1_ratios {
        let top = path::lambda_max(cfg.model, fitted, r, cfg.fit_intercept);
        let mut lambda = match &spec.grid {
            LambdaGrid::Auto { n, min_ratio } => {
                let q = min_ratio.unwrap_or(if fitted.n_rows() > d { 1e-4 } else { 1e-2 });
                path::geometric_grid(top, *n, q)
            }
            LambdaGrid::Given(values) => values.clone(),
        };
        lambda.sort_by(|a, b| b.total_cmp(a));
        curves.push(CvCurve {
            l1_ratio: r,
            lambda_max: top,
            lambda,
            cv_mean: Vec::new(),
            cv_se: Vec::new(),
            nnz: Vec::new(),
            fold_scores: Vec::new(),
            not_converged: 0,
        });
    }
    let n_lambda = curves[0].lambda.len();
    let ratios = curves.len();

    let mut all_rows_path: Vec<Vec<Weights>> = vec![Vec::new(); ratios];
    let (block, passes, device) = {
        let engine = solver.block_engine(cfg.model, &parts)?;
        let mut block_solver = BlockSolver::new(engine, &parts, &cfg);
        let unit = ratios * n_parts;
        let block = spec
            .block
            .unwrap_or_else(|| block_solver.preferred_block())
            .max(1);
        let per_block = (block / unit).max(1);
        let block = per_block * unit;
        // Warm starts: per (ratio, part), the solution at the previous λ.
        let mut warm: Vec<Vec<Weights>> = vec![vec![null.clone(); n_parts]; ratios];
        let mut j0 = 0;
        while j0 < n_lambda {
            if stop.is_some_and(|f| f.load(Ordering::SeqCst)) {
                return Ok(None);
            }
            let j1 = (j0 + per_block).min(n_lambda);
            let mut problems = Vec::with_capacity((j1 - j0) * unit);
            for (c, curve) in curves.iter().enumerate() {
                for &lambda in &curve.lambda[j0..j1] {
                    for (part, start) in warm[c].iter().enumerate() {
                        problems.push(Problem {
                            part,
                            penalty: path::penalty_at(lambda, curve.l1_ratio, &cfg.penalty),
                            start: start.clone(),
                        });
                    }
                }
            }
            let solved = block_solver.solve(&problems, stop)?;
            if stop.is_some_and(|f| f.load(Ordering::SeqCst)) {
                return Ok(None);
            }
            // Held-out scores of the fold models, per (curve, λ, fold).
            let held: Vec<(usize, &Weights)> = solved
                .iter()
                .zip(&problems)
                .filter(|(_, p)| p.part != all)
                .map(|(s, p)| (p.part, &s.weights))
                .collect();
            let scores = fold_scores(&mut block_solver, &parts, cfg.model, scoring, &held);
            let mut next = 0;
            for (c, curve) in curves.iter_mut().enumerate() {
                for j in j0..j1 {
                    let base = (c * (j1 - j0) + (j - j0)) * n_parts;
                    let s = &scores[next..next + folds];
                    next += folds;
                    let (mean, se) = mean_and_se(s, &parts.fold_weight);
                    curve.cv_mean.push(mean);
                    curve.cv_se.push(se);
                    curve.fold_scores.push(s.to_vec());
                    curve.nnz.push(solved[base + all].weights.nnz());
                    curve.not_converged += solved[base..base + n_parts]
                        .iter()
                        .filter(|s| !s.converged)
                        .count();
                    if j + 1 == j1 {
                        for (part, w) in warm[c].iter_mut().enumerate() {
                            *w = solved[base + part].weights.clone();
                        }
                    }
                    all_rows_path[c].push(solved[base + all].weights.clone());
                }
            }
            j0 = j1;
            if let Some(observe) = observer.as_mut() {
                observe(j0, n_lambda);
            }
        }
        (block, block_solver.passes, block_solver.device())
    };

    let (best, one_se) = choose(&curves, scoring.higher_is_better());
    let select = spec.select;
    let j = match select {
        Select::Min => best.1,
        Select::OneSe => one_se,
    };
    let curve = &curves[best.0];
    let mut refit_config = cfg.clone();
    refit_config.penalty = path::penalty_at(curve.lambda[j], curve.l1_ratio, &cfg.penalty);
    let warm = &all_rows_path[best.0][j];
    let mut control = RunControl {
        stop,
        warm_start: Some(warm),
        ..RunControl::default()
    };
    let refit = crate::fit::fit_with(solver, data, None, &refit_config, &mut control)?;
    if refit.result.interrupted() {
        return Ok(None);
    }
    Ok(Some(CvResult {
        model: cfg.model,
        scoring,
        folds,
        curves,
        best,
        one_se,
        select,
        refit,
        refit_config,
        block,
        passes,
        seconds: start.elapsed().as_secs_f64(),
        device,
    }))
}

/// cv.glmnet's weighted mean over folds and its standard error.
fn mean_and_se(scores: &[f64], weights: &[f64]) -> (f64, f64) {
    let total: f64 = weights.iter().sum();
    let mean = scores.iter().zip(weights).map(|(s, w)| s * w).sum::<f64>() / total;
    let var = scores
        .iter()
        .zip(weights)
        .map(|(s, w)| w * (s - mean) * (s - mean))
        .sum::<f64>()
        / total;
    let f = scores.len() as f64;
    (mean, (var / (f - 1.0).max(1.0)).sqrt())
}

/// The best (curve, λ) by mean score (the first of ties: earlier l1 ratios, larger λ), and the
/// largest λ of that curve within one standard error of it.
fn choose(curves: &[CvCurve], higher: bool) -> ((usize, usize), usize) {
    let better = |a: f64, b: f64| if higher { a > b } else { a < b };
    let mut best = (0, 0);
    for (c, curve) in curves.iter().enumerate() {
        for (j, &m) in curve.cv_mean.iter().enumerate() {
            if better(m, curves[best.0].cv_mean[best.1]) {
                best = (c, j);
            }
        }
    }
    let curve = &curves[best.0];
    let (m, se) = (curve.cv_mean[best.1], curve.cv_se[best.1]);
    let one_se = (0..=best.1)
        .find(|&j| {
            if higher {
                curve.cv_mean[j] >= m - se
            } else {
                curve.cv_mean[j] <= m + se
            }
        })
        .unwrap_or(best.1);
    (best, one_se)
}

/// The score of each (fold, w) on that fold's rows.
fn fold_scores(
    block_solver: &mut BlockSolver,
    parts: &Parts,
    model: Model,
    scoring: Scoring,
    held: &[(usize, &Weights)],
) -> Vec<f64> {
    if model == Model::Linear {
        if let Some(sse) = block_solver.engine().holdout_sse(held) {
            return sse
                .iter()
                .zip(held)
                .map(|(s, (f, _))| s / parts.fold_weight[*f])
                .collect();
        }
    }
    let data = &parts.data[parts.all()];
    held.par_iter()
        .map(|(f, w)| score_rows(model, scoring, data, &parts.fold_rows[*f], w))
        .collect()
}

/// The score of `w` on `rows` of `data` (weighted by its sample weights).
pub fn score_rows(
    model: Model,
    scoring: Scoring,
    data: &Dataset,
    rows: &[usize],
    w: &Weights,
) -> f64 {
    let y = data.y_slice();
    let classes = if model == Model::Softmax {
        w.outputs
    } else {
        2
    };
    let mut z = vec![0.0; w.outputs];
    let mut p = vec![0.0; classes];
    let (mut sum, mut weight) = (0.0, 0.0);
    let mut ranked: Vec<(f64, bool, f64)> = Vec::new();
    for &i in rows {
        let s = data.row_weight(i);
        w.logits_row(data.row(i), &mut z);
        let t = y[i];
        weight += s;
        let v = match scoring {
            Scoring::Mse if model == Model::Linear => (z[0] - t as f64).powi(2),
            Scoring::Mse => {
                objective::probabilities(model, &z, &mut p);
                p.iter()
                    .enumerate()
                    .map(|(k, pk)| (pk - f64::from(u8::from(k == t as usize))).powi(2))
                    .sum()
            }
            Scoring::Deviance if model == Model::Linear => (z[0] - t as f64).powi(2),
            Scoring::Deviance => 2.0 * objective::row_loss(model, &z, t),
            Scoring::Accuracy => f64::from(u8::from(
                objective::predicted_class(model, &z) == t as usize,
            )),
            Scoring::Auc => {
                ranked.push((z[0], t == 1.0, s));
                0.0
            }
        };
        sum += s * v;
    }
    if scoring == Scoring::Auc {
        return auc(&mut ranked);
    }
    sum / weight.max(f64::MIN_POSITIVE)
}

/// The weighted area under the ROC curve of (score, positive, weight): the probability that a
/// positive row scores above a negative one, ties counting ½ (0.5 when a class is missing).
fn auc(ranked: &mut [(f64, bool, f64)]) -> f64 {
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut below, mut area) = (0.0, 0.0);
    let mut i = 0;
    while i < ranked.len() {
        let mut j = i;
        let (mut pos, mut neg) = (0.0, 0.0);
        while j < ranked.len() && ranked[j].0 == ranked[i].0 {
            if ranked[j].1 {
                pos += ranked[j].2;
            } else {
                neg += ranked[j].2;
            }
            j += 1;
        }
        area += pos * (below + neg / 2.0);
        below += neg;
        i = j;
    }
    let positives: f64 = ranked.iter().filter(|r| r.1).map(|r| r.2).sum();
    if positives == 0.0 || below == 0.0 {
        return 0.5;
    }
    area / (positives * below)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_pairs_and_ties() {
        // Positives at 0.9 and 0.4, negatives at 0.4 and 0.1: pairs (0.9>0.4, 0.9>0.1, tie,
        // 0.4>0.1) = 3.5 of 4.
        let mut r = vec![
            (0.9, true, 1.0),
            (0.4, true, 1.0),
            (0.4, false, 1.0),
            (0.1, false, 1.0),
        ];
        assert!((auc(&mut r) - 0.875).abs() < 1e-12);
    }

    #[test]
    fn mean_and_se_match_cv_glmnet() {
        // Equal weights: the mean, and the sample standard deviation / sqrt(F).
        let (m, se) = mean_and_se(&[1.0, 2.0, 3.0, 4.0], &[1.0; 4]);
        assert!((m - 2.5).abs() < 1e-12);
        let sd = (((1.5f64).powi(2) * 2.0 + 0.25 * 2.0) / 4.0 / 3.0).sqrt();
        assert!((se - sd).abs() < 1e-12, "{se} vs {sd}");
    }

    #[test]
    fn one_se_takes_the_largest_lambda_within_one_standard_error() {
        let curve = CvCurve {
            l1_ratio: 1.0,
            lambda_max: 1.0,
            lambda: vec![1.0, 0.5, 0.25, 0.125],
            cv_mean: vec![5.0, 3.0, 2.5, 2.0],
            cv_se: vec![0.1, 0.1, 0.1, 0.6],
            nnz: vec![0; 4],
            fold_scores: vec![],
            not_converged: 0,
        };
        let (best, one_se) = choose(&[curve], false);
        assert_eq!(best, (0, 3));
        assert_eq!(one_se, 2);
    }
}
