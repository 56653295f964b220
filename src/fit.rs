//! The epoch loop shared by every solver: batches from the shared [`BatchPlan`], log points,
//! history, stopping (tol on the training loss, or early stopping on a validation set). A solver
//! supplies an [`Engine`] that runs steps and reads back at log points.

use crate::config::FitConfig;
use crate::data::{Dataset, Standardizer};
use crate::error::{Error, Result};
use crate::objective::{self, Metrics, Objective};
use crate::schedule::{Batch, BatchPlan};
use crate::weights::Weights;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// What an engine reports at a log point: the weights and the loss (and accuracy) on the
/// training rows and, when there is one, the validation set.
#[derive(Clone, Debug)]
pub struct LogPoint {
    pub weights: Weights,
    pub train: Metrics,
    pub validation: Option<Metrics>,
}

/// What the driver needs from a device: run steps, and report at log points.
pub trait Engine {
    /// Makes `order` the row order for the steps that follow.
    fn set_order(&mut self, order: &[u32]) -> Result<()>;
    /// Queues (GPU) or runs (CPU) these steps; step i uses learning rate `lrs[i]`.
    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()>;
    /// Waits for the queued steps and returns the weights and metrics.
    fn log_point(&mut self) -> Result<LogPoint>;
    /// Waits until every queued step has run (benches time steps with this).
    fn finish(&mut self) -> Result<()>;
}

/// A solver: the GPU solver and the CPU reference implement this over one config.
pub trait Solver {
    /// A one-line description of the device, for summaries and the model JSON.
    fn device(&self) -> String;
    /// Fits the (already standardized, if asked) data; `validation` is scored at every log point.
    fn fit_raw(
        &mut self,
        data: &Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
    ) -> Result<FitResult>;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub epoch: usize,
    pub step: usize,
    pub data_loss: f64,
    pub reg_loss: f64,
    pub loss: f64,
    pub train_accuracy: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub lr: f64,
    pub seconds: f64,
}

#[derive(Clone, Debug)]
pub struct FitResult {
    pub weights: Weights,
    /// J at the returned weights, evaluated in f64 over the data that was fitted.
    pub objective: Objective,
    /// Loss and accuracy of the returned weights on the training rows, in f64.
    pub train: Metrics,
    /// The same on the validation set, when there is one.
    pub validation: Option<Metrics>,
    pub history: Vec<HistoryRow>,
    pub epochs_run: usize,
    pub steps_run: usize,
    /// Seconds in the epoch loop (steps and log-point readbacks), after setup and upload.
    pub seconds: f64,
    pub setup_seconds: f64,
    pub device: String,
    /// Why the fit stopped before `epochs`: "tol" or "early stopping".
    pub stopped_early: Option<String>,
    /// With early stopping: the epoch whose weights were kept.
    pub best_epoch: Option<usize>,
}

impl FitResult {
    pub fn seconds_per_epoch(&self) -> f64 {
        self.seconds / self.epochs_run.max(1) as f64
    }
    pub fn nnz(&self) -> usize {
        self.weights.nnz()
    }
}

/// Runs the epochs on `engine`. `setup_seconds` is what building the engine took.
pub fn drive(
    engine: &mut dyn Engine,
    data: &Dataset,
    validation: Option<&Dataset>,
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
    let mut best_weights: Option<(Weights, usize)> = None;
    let mut no_improvement = 0usize;
    let mut stopped_early = None;
    let mut epochs_run = 0;
    let mut weights = Weights::zeros(cfg.model.outputs(data.n_classes()), data.n_features());
    for epoch in 0..cfg.epochs {
        // Full batch: the order never changes, so it is uploaded once.
        if epoch == 0 || !plan.full_batch {
            engine.set_order(&plan.epoch_order(epoch))?;
        }
        let mut s = 0;
        let mut last: Option<LogPoint> = None;
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
            let point = engine.log_point()?;
            let reg_loss = objective::penalty_value(&cfg.penalty, &point.weights);
            let loss = point.train.loss + reg_loss;
            let val_loss = point.validation.map(|v| v.loss);
            if !loss.is_finite() || !point.weights.is_finite() {
                return Err(Error::Diverged {
                    epoch: epoch + 1,
                    step: global_step,
                    value: loss,
                });
            }
            history.push(HistoryRow {
                epoch: epoch + 1,
                step: global_step,
                data_loss: point.train.loss,
                reg_loss,
                loss,
                train_accuracy: point.train.accuracy,
                val_loss,
                val_accuracy: point.validation.and_then(|v| v.accuracy),
                lr: lrs.last().copied().unwrap_or(plan.lr),
                seconds: start.elapsed().as_secs_f64(),
            });
            last = Some(point);
        }
        epochs_run = epoch + 1;
        let Some(point) = last else { break };
        // sklearn's rule: an epoch counts as an improvement when it beats the best by tol.
        let tol = cfg.tol.unwrap_or(0.0);
        let watched = if cfg.early_stopping {
            point.validation.map(|v| v.loss)
        } else if cfg.tol.is_some() {
            history.last().map(|h| h.loss)
        } else {
            None
        };
        weights = point.weights;
        if let Some(value) = watched {
            if value < best - tol {
                no_improvement = 0;
            } else {
                no_improvement += 1;
            }
            if value < best {
                best = value;
                if cfg.early_stopping {
                    best_weights = Some((weights.clone(), epoch + 1));
                }
            }
            if no_improvement >= cfg.n_iter_no_change {
                stopped_early = Some(
                    if cfg.early_stopping {
                        "early stopping"
                    } else {
                        "tol"
                    }
                    .into(),
                );
                break;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut best_epoch = None;
    if let Some((w, epoch)) = best_weights {
        weights = w;
        best_epoch = Some(epoch);
    }
    let objective = objective::evaluate(cfg.model, data, &cfg.penalty, &weights);
    let train = objective::metrics(cfg.model, data, &weights);
    let validation = validation.map(|v| objective::metrics(cfg.model, v, &weights));
    Ok(FitResult {
        weights,
        objective,
        train,
        validation,
        history,
        epochs_run,
        steps_run: global_step,
        seconds,
        setup_seconds,
        device,
        stopped_early,
        best_epoch,
    })
}

/// A fitted model on the original scale of the data.
#[derive(Clone, Debug)]
pub struct Fitted {
    /// Coefficients and intercepts on the original feature scale.
    pub weights: Weights,
    /// The raw result on the data as fitted (standardized when asked).
    pub result: FitResult,
    pub standardizer: Option<Standardizer>,
}

/// Validates `cfg` against the data, and the validation set against both (early stopping needs
/// one; it must have the training data's width and classes).
pub fn check_inputs(data: &Dataset, validation: Option<&Dataset>, cfg: &FitConfig) -> Result<()> {
    cfg.validate(data.n_rows())?;
    if cfg.early_stopping && validation.is_none() {
        return Err(Error::invalid(
            "early-stopping",
            "on",
            "needs a validation set: --validation FILE or --validation-fraction F",
        ));
    }
    if let Some(v) = validation {
        data.check_compatible(v)?;
    }
    Ok(())
}

/// Validates `cfg`, standardizes when asked (the scaling is learned on the training rows and
/// applied to the validation set), fits with `solver` and maps the answer back to the original
/// scale. The objective reported is that of the problem solved.
pub fn fit(
    solver: &mut dyn Solver,
    data: &Dataset,
    validation: Option<&Dataset>,
    cfg: &FitConfig,
) -> Result<Fitted> {
    check_inputs(data, validation, cfg)?;
    if cfg.standardize {
        let mut scaled = data.clone();
        let standardizer = Standardizer::fit_transform(&mut scaled);
        let scaled_val = validation.map(|v| {
            let mut v = v.clone();
            standardizer.transform(&mut v);
            v
        });
        let result = solver.fit_raw(&scaled, scaled_val.as_ref(), cfg)?;
        let weights = standardizer.unscale(&result.weights);
        Ok(Fitted {
            weights,
            result,
            standardizer: Some(standardizer),
        })
    } else {
        let result = solver.fit_raw(data, validation, cfg)?;
        Ok(Fitted {
            weights: result.weights.clone(),
            result,
            standardizer: None,
        })
    }
}
