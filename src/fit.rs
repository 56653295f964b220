//! The epoch loop shared by every solver: batches from the shared [`BatchPlan`], log points,
//! history, stopping (tol on the training loss, or early stopping on a validation set). A solver
//! supplies an [`Engine`] that runs steps and reads back at log points.

use crate::checkpoint::{
    Checkpoint, CheckpointPlan, DataShape, DriverState, OptimizerState, Position, RngState,
    CHECKPOINT_FORMAT, CHECKPOINT_VERSION,
};
use crate::config::FitConfig;
use crate::data::{Dataset, Standardizer};
use crate::error::{Error, Result};
use crate::objective::{self, Metrics, Objective};
use crate::schedule::{Batch, BatchPlan, Epoch};
use crate::weights::Weights;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// The exact optimizer state after every queued step (for checkpoints; waits for the device).
    fn snapshot(&mut self) -> Result<OptimizerState>;
    /// Replaces the optimizer state (resuming from a checkpoint).
    fn restore(&mut self, state: &OptimizerState) -> Result<()>;
    /// A log point now: `request_log` then `take_log`.
    fn log_point(&mut self) -> Result<LogPoint> {
        self.request_log()?;
        self.take_log()
    }
}

/// Log points in flight at once in [`drive`].
pub const LOG_PIPELINE_DEPTH: usize = 2;

/// What the driver reports after each log point (for progress bars).
#[derive(Clone, Debug)]
pub struct ProgressUpdate<'a> {
    pub row: &'a HistoryRow,
    /// Epochs the fit will run at most.
    pub epochs: usize,
    /// Steps the fit will run at most.
    pub total_steps: usize,
    /// Training rows processed by this run (not counting a resumed checkpoint's).
    pub rows_seen: u64,
    /// Seconds of this run so far.
    pub run_seconds: f64,
}

/// How a run is steered from outside: a stop flag (set by a signal handler: the fit stops at the
/// next log point), checkpoints, a checkpoint to resume, and a progress observer.
#[derive(Default)]
pub struct RunControl<'a> {
    pub stop: Option<&'a AtomicBool>,
    pub checkpoint: Option<CheckpointPlan>,
    pub resume: Option<&'a Checkpoint>,
    pub observer: Option<&'a mut dyn FnMut(&ProgressUpdate)>,
    /// apg: start from these weights instead of 0 (a path's neighbouring λ). Must have the
    /// fit's shape, on the scale of the data as fitted.
    pub warm_start: Option<&'a Weights>,
}

impl RunControl<'_> {
    fn stop_requested(&self) -> bool {
        self.stop.is_some_and(|f| f.load(Ordering::SeqCst))
    }
}

/// The `stopped_early` reason of a fit stopped by [`RunControl::stop`].
pub const INTERRUPTED: &str = "interrupted";

/// A solver: the GPU solver and the CPU reference implement this over one config.
pub trait Solver {
    /// A one-line description of the device, for summaries and the model JSON.
    fn device(&self) -> String;
    /// Fits the (already standardized, if asked) data; `validation` is scored at every log point.
    fn fit_run(
        &mut self,
        data: &Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
        control: &mut RunControl,
    ) -> Result<FitResult>;
    /// An engine that solves many models per pass over the rows of `parts` (src/block.rs).
    fn block_engine<'a>(
        &'a mut self,
        model: crate::config::Model,
        parts: &'a crate::block::Parts,
    ) -> Result<Box<dyn crate::block::BlockEngine + 'a>>;
    /// [`Solver::fit_run`] without checkpoints, resume, stop flag or observer.
    fn fit_raw(
        &mut self,
        data: &Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
    ) -> Result<FitResult> {
        self.fit_run(data, validation, cfg, &mut RunControl::default())
    }
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
    /// apg: the duality gap at this check (absent for sgd rows and unpenalized fits).
    #[serde(default)]
    pub duality_gap: Option<f64>,
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
    /// The duality gap of the returned weights (None without a penalty on W).
    pub certificate: Option<crate::gap::Certificate>,
    /// apg: whether the relative gap reached `tol` (sgd: None).
    pub converged: Option<bool>,
    /// apg: iterations, step and restarts.
    pub apg: Option<crate::apg::ApgReport>,
}

impl FitResult {
    /// Whether the fit was stopped by the stop flag (Ctrl-C, SIGTERM).
    pub fn interrupted(&self) -> bool {
        self.stopped_early.as_deref() == Some(INTERRUPTED)
    }
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
    rows_seen: u64,
}

/// What the driver learns from the log points, taken in order.
struct Progress<'c> {
    cfg: &'c FitConfig,
    start: Instant,
    /// Seconds already spent before a resume.
    offset: f64,
    total_steps: usize,
    history: Vec<HistoryRow>,
    best: f64,
    best_weights: Option<(Weights, usize)>,
    no_improvement: usize,
    stopped_early: Option<String>,
    epochs_run: usize,
    steps_run: usize,
    weights: Weights,
}

/// The weights a fit starts from: zeros, or a network's seeded initialization.
pub fn initial_weights(cfg: &FitConfig, data: &Dataset) -> Weights {
    let (outputs, d) = (cfg.model.outputs(data.n_classes()), data.n_features());
    match &cfg.network {
        Some(net) => crate::network::init(net, d, outputs, cfg.seed),
        None => Weights::zeros(outputs, d),
    }
}

/// The first non-finite weight, as "weight w[k]" (row k of the K × (d + 1) matrix, bias last),
/// or for a network "layer l weight W[j][i]" / "layer l bias b[j]".
fn non_finite_weight(w: &Weights) -> Option<(String, f64)> {
    if w.is_network() {
        let (i, v) = w.values.iter().enumerate().find(|(_, v)| !v.is_finite())?;
        let (l, layer) = w
            .layers()
            .into_iter()
            .enumerate()
            .find(|(_, layer)| layer.range().contains(&i))?;
        let (j, k) = (
            (i - layer.offset) / layer.stride(),
            (i - layer.offset) % layer.stride(),
        );
        let name = if k == layer.inputs {
            format!("layer {} bias b[{j}]", l + 1)
        } else {
            format!("layer {} weight W[{j}][{k}]", l + 1)
        };
        return Some((name, *v));
    }
    let stride = w.stride();
    w.values
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite())
        .map(|(i, &v)| {
            let (k, j) = (i / stride, i % stride);
            let name = if j == w.features {
                format!("intercept b[{k}]")
            } else if w.outputs == 1 {
                format!("weight w[{j}]")
            } else {
                format!("weight w[{k}][{j}]")
            };
            (name, v)
        })
}

impl Progress<'_> {
    fn seconds(&self) -> f64 {
        self.offset + self.start.elapsed().as_secs_f64()
    }

    fn driver_state(&self) -> DriverState {
        DriverState {
            history: self.history.clone(),
            best: self.best.is_finite().then_some(self.best),
            no_improvement: self.no_improvement,
            best_weights: self.best_weights.clone(),
            epochs_run: self.epochs_run,
            steps_run: self.steps_run,
            weights: self.weights.clone(),
            seconds: self.seconds(),
        }
    }

    fn restore(&mut self, state: &DriverState) {
        self.history = state.history.clone();
        self.best = state.best.unwrap_or(f64::INFINITY);
        self.no_improvement = state.no_improvement;
        self.best_weights = state.best_weights.clone();
        self.epochs_run = state.epochs_run;
        self.steps_run = state.steps_run;
        self.weights = state.weights.clone();
        self.offset = state.seconds;
    }

    /// Records one log point; returns true when the fit should stop.
    fn record(
        &mut self,
        point: LogPoint,
        at: PendingLog,
        control: &mut RunControl,
    ) -> Result<bool> {
        let cfg = self.cfg;
        let reg_loss = cfg.reg_loss(&point.weights);
        let loss = point.train.loss + reg_loss;
        let bad = match non_finite_weight(&point.weights) {
            Some(w) => Some(w),
            None if !loss.is_finite() => Some(("loss".to_string(), loss)),
            None => None,
        };
        if let Some((what, value)) = bad {
            return Err(Error::Diverged {
                epoch: at.epoch,
                step: at.step,
                what,
                value,
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
            seconds: self.seconds(),
            duality_gap: None,
        });
        if let Some(observe) = control.observer.as_mut() {
            observe(&ProgressUpdate {
                row: self.history.last().expect("just pushed"),
                epochs: cfg.epochs,
                total_steps: self.total_steps,
                rows_seen: at.rows_seen,
                run_seconds: self.start.elapsed().as_secs_f64(),
            });
        }
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

/// Runs the epochs on `engine`. `setup_seconds` is what building the engine took. `control` can
/// resume from a checkpoint, write checkpoints, stop the fit early and watch its progress.
pub fn drive(
    engine: &mut dyn Engine,
    data: &Dataset,
    validation: Option<&Dataset>,
    cfg: &FitConfig,
    device: String,
    setup_seconds: f64,
    control: &mut RunControl,
) -> Result<FitResult> {
    let plan = BatchPlan::new(cfg, data.n_rows());
    let steps_per_epoch = plan.steps_per_epoch();
    let mut progress = Progress {
        cfg,
        start: Instant::now(),
        offset: 0.0,
        total_steps: cfg.epochs * plan.steps_per_epoch(),
        history: Vec::new(),
        best: f64::INFINITY,
        best_weights: None,
        no_improvement: 0,
        stopped_early: None,
        epochs_run: 0,
        steps_run: 0,
        weights: initial_weights(cfg, data),
    };
    let mut at = Position {
        epoch: 0,
        batch: 0,
        global_step: 0,
    };
    if let Some(ck) = control.resume {
        ck.check_resumable(cfg, data, validation, plan.steps_per_epoch())?;
        engine.restore(&ck.state)?;
        progress.restore(&ck.driver);
        at = ck.position;
    }
    let first_epoch = at.epoch;
    let mut pending: VecDeque<PendingLog> = VecDeque::new();
    let mut rows_seen = 0u64;
    let mut stop = false;
    // Full batch: the order never changes, so it is built and uploaded once.
    let full_batch_epoch = plan.full_batch.then(|| plan.epoch(0));
    let mut shuffled;
    'epochs: for epoch in first_epoch..cfg.epochs {
        let this_epoch = match &full_batch_epoch {
            Some(e) => e,
            None => {
                shuffled = plan.epoch(epoch);
                &shuffled
            }
        };
        if epoch == first_epoch || full_batch_epoch.is_none() {
            engine.set_epoch(this_epoch)?;
        }
        let batches = &this_epoch.batches;
        let mut s = at.batch;
        while s < batches.len() {
            let end = match cfg.log_every {
                Some(k) => (s + k - (at.global_step % k)).min(batches.len()),
                None => batches.len(),
            };
            let lrs: Vec<f64> = (at.global_step..at.global_step + (end - s))
                .map(|t| plan.lr_at(t))
                .collect();
            engine.run_steps(&batches[s..end], &lrs)?;
            rows_seen += batches[s..end].iter().map(|b| b.rows as u64).sum::<u64>();
            at.global_step += end - s;
            s = end;
            let epoch_end = s == batches.len();
            at.epoch = epoch + usize::from(epoch_end);
            at.batch = if epoch_end { 0 } else { s };
            let checkpoint_due = epoch_end
                && control
                    .checkpoint
                    .as_ref()
                    .is_some_and(|c| (epoch + 1) % c.every == 0);
            // Every epoch end is a log point unless --log-every spans more than an epoch; then
            // every log_every-th step is, and the run's last. A checkpoint or a stop is one too.
            let log_here = |interrupted: bool| {
                let scheduled = match cfg.log_every {
                    Some(k) if k > steps_per_epoch => at.global_step.is_multiple_of(k),
                    _ => true, // every run of steps ends at a log point or an epoch end
                };
                scheduled || checkpoint_due || interrupted || (epoch_end && epoch + 1 == cfg.epochs)
            };
            let mut interrupted = control.stop_requested();
            let mut logged = false;
            // A checkpoint or a stop needs every log point up to here taken, so that the state
            // saved is the one after the last step queued. A stop asked for while taking them
            // (the observer may ask) is honoured here too.
            loop {
                if !logged && log_here(interrupted) {
                    engine.request_log()?;
                    pending.push_back(PendingLog {
                        epoch: epoch + 1,
                        step: at.global_step,
                        lr: lrs.last().copied().unwrap_or(plan.lr),
                        epoch_end,
                        rows_seen,
                    });
                    logged = true;
                }
                let keep = if checkpoint_due || interrupted {
                    0
                } else {
                    LOG_PIPELINE_DEPTH - 1
                };
                while pending.len() > keep {
                    let log = pending.pop_front().expect("pending is not empty");
                    if progress.record(engine.take_log()?, log, control)? {
                        stop = true;
                        break 'epochs;
                    }
                }
                if interrupted || !control.stop_requested() {
                    break;
                }
                interrupted = true;
            }
            if interrupted {
                progress.stopped_early = Some(INTERRUPTED.into());
            }
            if checkpoint_due || interrupted {
                if let Some(ck) = &control.checkpoint {
                    let checkpoint = Checkpoint {
                        format: CHECKPOINT_FORMAT.into(),
                        version: CHECKPOINT_VERSION,
                        interrupted,
                        device: device.clone(),
                        config: cfg.clone(),
                        data: DataShape::of(data, validation),
                        position: at,
                        rng: RngState {
                            algorithm: "ChaCha8".into(),
                            seed: cfg.seed,
                            stream: at.epoch as u64,
                        },
                        state: engine.snapshot()?,
                        driver: progress.driver_state(),
                        file: ck.path.clone(),
                    };
                    checkpoint.save(&ck.path)?;
                }
            }
            if interrupted {
                stop = true;
                break 'epochs;
            }
        }
        at.batch = 0;
    }
    while let (false, Some(log)) = (stop, pending.pop_front()) {
        stop = progress.record(engine.take_log()?, log, control)?;
    }
    let seconds = progress.seconds();
    let mut weights = progress.weights;
    let mut best_epoch = None;
    if let Some((w, epoch)) = progress.best_weights {
        weights = w;
        best_epoch = Some(epoch);
    }
    let (objective, train, validation) = score(
        cfg,
        data,
        validation,
        &weights,
        progress.epochs_run,
        progress.steps_run,
    )?;
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
        certificate: None,
        converged: None,
        apg: None,
    })
}

/// J, the training metrics and the validation metrics of a fit's final weights, in f64 (one pass
/// over each set); a non-finite J is divergence at (`epoch`, `step`).
pub(crate) fn score(
    cfg: &FitConfig,
    data: &Dataset,
    validation: Option<&Dataset>,
    weights: &Weights,
    epoch: usize,
    step: usize,
) -> Result<(Objective, Metrics, Option<Metrics>)> {
    let train = objective::metrics(cfg.model, data, weights);
    let reg_loss = cfg.reg_loss(weights);
    let objective = Objective {
        data_loss: train.loss,
        reg_loss,
        total: train.loss + reg_loss,
    };
    if !objective.total.is_finite() {
        return Err(Error::Diverged {
            epoch,
            step,
            what: "objective of the final weights".into(),
            value: objective.total,
        });
    }
    let validation = validation.map(|v| objective::metrics(cfg.model, v, weights));
    Ok((objective, train, validation))
}

/// The engine of one fit: minibatch epochs ([`drive`]) or apg ([`crate::apg::run`]).
pub enum EngineRun<'e> {
    Sgd(&'e mut dyn Engine),
    Apg(&'e mut dyn crate::apg::ApgEngine),
}

/// Runs a fit on `engine` (what every [`Solver`] does once it has built its engine).
pub fn run_engine(
    engine: EngineRun,
    data: &Dataset,
    validation: Option<&Dataset>,
    cfg: &FitConfig,
    device: String,
    setup_seconds: f64,
    control: &mut RunControl,
) -> Result<FitResult> {
    match engine {
        EngineRun::Sgd(e) => {
            let mut result = drive(e, data, validation, cfg, device, setup_seconds, control)?;
            // sgd has no certificate of its own: the f64 gap of its final weights.
            result.certificate = crate::apg::final_certificate(data, cfg, &result.weights);
            Ok(result)
        }
        EngineRun::Apg(e) => {
            crate::apg::run(e, data, validation, cfg, device, setup_seconds, control)
        }
    }
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
    if cfg.network.is_some() {
        data.require_dense("--model mlp")?;
    }
    // A sparse set may be millions of columns wide: refuse a model whose weights (and the
    // solver's copies of them, about six) cannot fit in memory, before allocating any.
    let weight_bytes =
        cfg.model.outputs(data.n_classes()) as u128 * (data.n_features() as u128 + 1) * 8 * 6;
    if let Some(available) = crate::data::available_memory() {
        if weight_bytes > available as u128 {
            return Err(Error::Format {
                path: data.source.clone().into(),
                message: format!(
                    "{} features need {:.1} GB for the model's weights and the solver's copies, \
                     more than the {:.1} GB of memory available",
                    data.n_features(),
                    weight_bytes as f64 / 1e9,
                    available as f64 / 1e9
                ),
            });
        }
    }
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
    fit_with(solver, data, validation, cfg, &mut RunControl::default())
}

/// [`fit`] steered by `control` (checkpoints, resume, stop flag, progress).
pub fn fit_with(
    solver: &mut dyn Solver,
    data: &Dataset,
    validation: Option<&Dataset>,
    cfg: &FitConfig,
    control: &mut RunControl,
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
        let result = solver.fit_run(&scaled, scaled_val.as_ref(), cfg, control)?;
        let weights = standardizer.unscale(&result.weights);
        Ok(Fitted {
            weights,
            result,
            standardizer: Some(standardizer),
        })
    } else {
        let result = solver.fit_run(data, validation, cfg, control)?;
        Ok(Fitted {
            weights: result.weights.clone(),
            result,
            standardizer: None,
        })
    }
}
