//! The epoch loop shared by every solver: batches from the shared [`BatchPlan`], log points,
//! history, stopping. A solver supplies an [`Engine`] that runs steps and reads back at log points.

use crate::config::FitConfig;
use crate::data::{Dataset, Standardizer};
use crate::error::{Error, Result};
use crate::objective::{self, Objective};
use crate::schedule::{Batch, BatchPlan};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// What the driver needs from a device: run steps, and report the weights and data loss.
pub trait Engine {
    /// Makes `order` the row order for the steps that follow.
    fn set_order(&mut self, order: &[u32]) -> Result<()>;
    /// Queues (GPU) or runs (CPU) these steps; step i uses learning rate `lrs[i]`.
    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()>;
    /// Waits for the queued steps and returns (weights [w.., b], data loss over all rows).
    fn log_point(&mut self) -> Result<(Vec<f64>, f64)>;
    /// Waits until every queued step has run (benches time steps with this).
    fn finish(&mut self) -> Result<()>;
}

/// A solver: the GPU solver and the CPU reference implement this over one config.
pub trait Solver {
    /// A one-line description of the device, for summaries and the model JSON.
    fn device(&self) -> String;
    /// Fits the (already standardized, if asked) data.
    fn fit_raw(&mut self, data: &Dataset, cfg: &FitConfig) -> Result<FitResult>;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub epoch: usize,
    pub step: usize,
    pub data_loss: f64,
    pub reg_loss: f64,
    pub loss: f64,
    pub lr: f64,
    pub seconds: f64,
}

#[derive(Clone, Debug)]
pub struct FitResult {
    pub coef: Vec<f64>,
    pub intercept: f64,
    /// J at the returned weights, evaluated in f64 over the data that was fitted.
    pub objective: Objective,
    pub history: Vec<HistoryRow>,
    pub epochs_run: usize,
    pub steps_run: usize,
    /// Seconds in the epoch loop (steps and log-point readbacks), after setup and upload.
    pub seconds: f64,
    pub setup_seconds: f64,
    pub device: String,
    pub stopped_early: bool,
}

impl FitResult {
    pub fn seconds_per_epoch(&self) -> f64 {
        self.seconds / self.epochs_run.max(1) as f64
    }
    pub fn nnz(&self) -> usize {
        self.coef.iter().filter(|w| **w != 0.0).count()
    }
}

/// Runs the epochs on `engine`. `setup_seconds` is what building the engine took.
pub fn drive(
    engine: &mut dyn Engine,
    data: &Dataset,
    cfg: &FitConfig,
    device: String,
    setup_seconds: f64,
) -> Result<FitResult> {
    let plan = BatchPlan::new(cfg, data.n_rows());
    let batches: Vec<Batch> = plan.batches().collect();
    let start = Instant::now();
    let mut history = Vec::new();
    let mut global_step = 0usize;
    let mut best = f64::INFINITY;
    let mut no_improvement = 0usize;
    let mut stopped_early = false;
    let mut epochs_run = 0;
    let mut params = Vec::new();
    for epoch in 0..cfg.epochs {
        // Full batch: the order never changes, so it is uploaded once.
        if epoch == 0 || !plan.full_batch {
            engine.set_order(&plan.epoch_order(epoch))?;
        }
        let mut s = 0;
        while s < batches.len() {
            let end = match cfg.log_every {
                Some(k) => (s + k - (global_step % k)).min(batches.len()),
                None => batches.len(),
            };
            let lrs: Vec<f64> = (global_step..global_step + (end - s))
                .map(|t| plan.lr_at(t))
                .collect();
            engine.run_steps(&batches[s..end], &lrs)?;
            global_step += end - s;
            s = end;
            let (p, data_loss) = engine.log_point()?;
            let d = p.len() - 1;
            let reg_loss = cfg.penalty.value(&p[..d], p[d]);
            let loss = data_loss + reg_loss;
            if !loss.is_finite() || p.iter().any(|v| !v.is_finite()) {
                return Err(Error::Diverged {
                    epoch: epoch + 1,
                    step: global_step,
                    value: loss,
                });
            }
            history.push(HistoryRow {
                epoch: epoch + 1,
                step: global_step,
                data_loss,
                reg_loss,
                loss,
                lr: lrs.last().copied().unwrap_or(plan.lr),
                seconds: start.elapsed().as_secs_f64(),
            });
            params = p;
        }
        epochs_run = epoch + 1;
        if let Some(tol) = cfg.tol {
            let loss = history.last().map(|h| h.loss).unwrap_or(f64::INFINITY);
            if loss > best - tol {
                no_improvement += 1;
            } else {
                no_improvement = 0;
            }
            best = best.min(loss);
            if no_improvement >= cfg.n_iter_no_change {
                stopped_early = true;
                break;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let d = params.len() - 1;
    let coef = params[..d].to_vec();
    let intercept = params[d];
    let objective = objective::evaluate(data, &cfg.penalty, &coef, intercept);
    Ok(FitResult {
        coef,
        intercept,
        objective,
        history,
        epochs_run,
        steps_run: global_step,
        seconds,
        setup_seconds,
        device,
        stopped_early,
    })
}

/// A fitted model on the original scale of the data.
#[derive(Clone, Debug)]
pub struct Fitted {
    /// Coefficients and intercept on the original feature scale.
    pub coef: Vec<f64>,
    pub intercept: f64,
    /// The raw result on the data as fitted (standardized when asked).
    pub result: FitResult,
    pub standardizer: Option<Standardizer>,
}

/// Validates `cfg`, standardizes when asked, fits with `solver` and maps the answer back to the
/// original scale. The objective reported is that of the problem solved.
pub fn fit(solver: &mut dyn Solver, data: &Dataset, cfg: &FitConfig) -> Result<Fitted> {
    cfg.validate(data.n_rows())?;
    if cfg.standardize {
        let mut scaled = data.clone();
        let standardizer = Standardizer::fit_transform(&mut scaled);
        let result = solver.fit_raw(&scaled, cfg)?;
        let (coef, intercept) = standardizer.unscale(&result.coef, result.intercept);
        Ok(Fitted {
            coef,
            intercept,
            result,
            standardizer: Some(standardizer),
        })
    } else {
        let result = solver.fit_raw(data, cfg)?;
        Ok(Fitted {
            coef: result.coef.clone(),
            intercept: result.intercept,
            result,
            standardizer: None,
        })
    }
}
