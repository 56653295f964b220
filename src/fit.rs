//! The epoch loop shared by every solver: batches from the shared [`BatchPlan`], log points,
//! history, stopping (tol on the training loss, or early stopping on a validation set). A solver
//! supplies an [`Engine`] that runs steps and reads back at log points.

use crate::config::FitConfig;
use crate::data::{Dataset, Standardizer};
use crate::error::{Error, Result};
use crate::objective::{self, Metrics, Objective};
use crate::schedule::{Batch, BatchPlan, Epoch};
use crate::weights::Weights;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
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
///
/// Log points are pipelined: `request_log` queues one (a snapshot of the weights and metrics as of
/// the steps queued so far) and returns at once; `take_log` returns the oldest one not yet taken,
/// waiting for it if needed. The driver keeps up to [`LOG_PIPELINE_DEPTH`] in flight, so the
/// device runs the next steps while the host reads a log point back.
pub trait Engine {
    /// Makes `epoch`'s order and batches the ones the following steps use.
    fn set_epoch(&mut self, epoch: &Epoch) -> Result<()>;
    /// Queues (GPU) or runs (CPU) these steps; step i uses learning rate `lrs[i]`.
    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()>;
    /// Queues a log point after the steps queued so far.
    fn request_log(&mut self) -> Result<()>;
    /// The oldest log point requested and not yet taken.
    fn take_log(&mut self) -> Result<LogPoint>;
    /// Waits until every queued step has run (benches time steps with this).
    fn finish(&mut self) -> Result<()>;
    /// A log point now: `request_log` then `take_log`.
    fn log_point(&mut self) -> Result<LogPoint> {
        self.request_log()?;
        self.take_log()
    }
}

/// Log points in flight at once in [`drive`].
pub const LOG_PIPELINE_DEPTH: usize = 2;

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
    /// Rows per chunk when minibatches were drawn within chunks (streaming), else `None`.
    pub chunk_rows: Option<usize>,
}

impl FitResult {
    pub fn seconds_per_epoch(&self) -> f64 {
        self.seconds / self.epochs_run.max(1) as f64
    }
    pub fn nnz(&self) -> usize {
        self.weights.nnz()
    }
}

/// A log point requested and not yet read back.
struct PendingLog {
    epoch: usize,
    step: usize,
    lr: f64,
    epoch_end: bool,
}

/// What the driver learns from the log points, taken in order.
struct Progress<'c> {
    cfg: &'c FitConfig,
    start: Instant,
    history: Vec<HistoryRow>,
    best: f64,
    best_weights: Option<(Weights, usize)>,
    no_improvement: usize,
    stopped_early: Option<String>,
    epochs_run: usize,
    steps_run: usize,
    weights: Weights,
}

impl Progress<'_> {
    /// Records one log point; returns true when the fit should stop.
    fn record(&mut self, point: LogPoint, at: PendingLog) -> Result<bool> {
        let cfg = self.cfg;
        let reg_loss = objective::penalty_value(&cfg.penalty, &point.weights);
        let loss = point.train.loss + reg_loss;
        if !loss.is_finite() || !point.weights.is_finite() {
            return Err(Error::Diverged {
                epoch: at.epoch,
                step: at.step,
                value: loss,
            });
        }
        self.history.push(HistoryRow {
            epoch: at.epoch,
            step: at.step,
            data_loss: point.train.loss,
            reg_loss,
            loss,
            train_accuracy: point.train.accuracy,
            val_loss: point.validation.map(|v| v.loss),
            val_accuracy: point.validation.and_then(|v| v.accuracy),
            lr: at.lr,
            seconds: self.start.elapsed().as_secs_f64(),
        });
        self.steps_run = at.step;
        self.weights = point.weights;
        if !at.epoch_end {
            return Ok(false);
        }
        self.epochs_run = at.epoch;
        // sklearn's rule: an epoch counts as an improvement when it beats the best by tol.
        let tol = cfg.tol.unwrap_or(0.0);
        let watched = if cfg.early_stopping {
            point.validation.map(|v| v.loss)
        } else if cfg.tol.is_some() {
            Some(loss)
        } else {
            None
        };
        let Some(value) = watched else {
            return Ok(false);
        };
        if value < self.best - tol {
            self.no_improvement = 0;
        } else {
            self.no_improvement += 1;
        }
        if value < self.best {
            self.best = value;
            if cfg.early_stopping {
                self.best_weights = Some((self.weights.clone(), at.epoch));
            }
        }
        if self.no_improvement >= cfg.n_iter_no_change {
            let why = if cfg.early_stopping {
                "early stopping"
            } else {
                "tol"
            };
            self.stopped_early = Some(why.into());
            return Ok(true);
        }
        Ok(false)
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
    let mut progress = Progress {
        cfg,
        start: Instant::now(),
        history: Vec::new(),
        best: f64::INFINITY,
        best_weights: None,
        no_improvement: 0,
        stopped_early: None,
        epochs_run: 0,
        steps_run: 0,
        weights: Weights::zeros(cfg.model.outputs(data.n_classes()), data.n_features()),
    };
    let mut pending: VecDeque<PendingLog> = VecDeque::new();
    let mut global_step = 0usize;
    let mut stop = false;
    // Full batch: the order never changes, so it is built and uploaded once.
    let full_batch_epoch = plan.full_batch.then(|| plan.epoch(0));
    let mut shuffled;
    'epochs: for epoch in 0..cfg.epochs {
        let this_epoch = match &full_batch_epoch {
            Some(e) => e,
            None => {
                shuffled = plan.epoch(epoch);
                &shuffled
            }
        };
        if epoch == 0 || full_batch_epoch.is_none() {
            engine.set_epoch(this_epoch)?;
        }
        let batches = &this_epoch.batches;
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
            engine.request_log()?;
            pending.push_back(PendingLog {
                epoch: epoch + 1,
                step: global_step,
                lr: lrs.last().copied().unwrap_or(plan.lr),
                epoch_end: s == batches.len(),
            });
            while pending.len() >= LOG_PIPELINE_DEPTH {
                let at = pending.pop_front().expect("pending is not empty");
                if progress.record(engine.take_log()?, at)? {
                    stop = true;
                    break 'epochs;
                }
            }
        }
    }
    while let (false, Some(at)) = (stop, pending.pop_front()) {
        stop = progress.record(engine.take_log()?, at)?;
    }
    let seconds = progress.start.elapsed().as_secs_f64();
    let mut weights = progress.weights;
    let mut best_epoch = None;
    if let Some((w, epoch)) = progress.best_weights {
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
        history: progress.history,
        epochs_run: progress.epochs_run,
        steps_run: progress.steps_run,
        seconds,
        setup_seconds,
        device,
        stopped_early: progress.stopped_early,
        best_epoch,
        chunk_rows: (plan.n_chunks() > 1).then_some(plan.chunk_rows),
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
