//! The `apg` solver: full-batch accelerated proximal gradient (FISTA) with adaptive restart
//! (O'Donoghue and Candès), stopped when the relative duality gap (gap.rs) falls to `tol`.
//!
//! One driver, two engines over the same kernels: the GPU's (gradient kernels over every shard or
//! streamed chunk, shaders/apg_update.wgsl, shaders/dual_loss.wgsl) and the CPU's twins in f64.
//!
//! - Step 1/L: L = curvature · λmax([X, 1]ᵀŴ[X, 1]/m) + 2·l2, with λmax from a few power
//!   iterations computed as Xᵀ(Xv) by the gradient kernels in gram mode (curvature 1 for linear,
//!   ¼ for logistic, ½ for softmax: bounds on the loss's second derivative).
//! - Each iteration: the gradient at y, x⁺ = prox(y − ∇f(y)/L), restart the momentum when it points
//!   uphill, y⁺ = x⁺ + β·(x⁺ − x); no host round trip.
//! - Every [`CHECK_EVERY`] iterations: the loss and gradient at x, the duality gap, one small
//!   readback. J above the previous check restarts the momentum; twice in a row halves the step
//!   (backtracking).

use crate::config::{FitConfig, Model};
use crate::cpu::kernels::{self, ApgState};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::{score, FitResult, HistoryRow, ProgressUpdate, RunControl, INTERRUPTED};
use crate::gap::{self, Certificate, DataStats, DualPoint};
use crate::objective;
use crate::schedule::Batch;
use crate::weights::Weights;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Iterations between gap checks.
pub const CHECK_EVERY: usize = 10;
/// Gap checks without the relative gap falling below STALL_FACTOR × its best that count as a stall.
const STALL_CHECKS: usize = 20;
const STALL_FACTOR: f64 = 0.99;
/// Fewer checks suffice when J has also stopped moving by more than f32 resolves.
const FLOOR_CHECKS: usize = 3;
const F32_RESOLUTION: f64 = 1e-7;
/// Most power iterations for λmax, and the relative change that ends them earlier.
const POWER_ITERATIONS: usize = 30;
const POWER_RTOL: f64 = 1e-3;
/// L is taken this much above the power-iteration estimate (which approaches λmax from below).
const LIPSCHITZ_MARGIN: f64 = 1.02;

/// What the driver needs from a device.
pub trait ApgEngine {
    /// A·v with A = [X, 1]ᵀŴ[X, 1]/m, for v of d + 1 entries.
    fn gram_times(&mut self, v: &[f64]) -> Result<Vec<f64>>;
    /// Starts at x = y = `w` with t = 1.
    fn start(&mut self, w: &Weights) -> Result<()>;
    /// Runs `iterations` FISTA steps of size `step`.
    fn iterate(&mut self, iterations: usize, step: f64) -> Result<()>;
    /// Drops the momentum: y = x, t = 1.
    fn restart(&mut self) -> Result<()>;
    /// x, the data loss E[ℓ] at x and the data gradient E[r·[x, 1]] at x.
    fn evaluate(&mut self) -> Result<(Weights, f64, Weights)>;
    /// E[ℓ*(c·ρ)] at x for a classifier's dual point.
    fn dual_loss(&mut self, point: &DualPoint) -> Result<f64>;
    /// Momentum restarts the iterations made (for the summary).
    fn restarts(&mut self) -> Result<usize>;
    /// Whether the engine computes in f32, whose rounding bounds the gap it can show.
    fn is_f32(&self) -> bool {
        false
    }
}

/// How an apg run ended.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApgReport {
    pub iterations: usize,
    pub lipschitz: f64,
    pub restarts: usize,
    /// Of `iterations`, those run in f64 on the host after an f32 device stalled above tol.
    pub host_iterations: usize,
}

/// The curvature bound of each loss (second derivative of ℓ in z).
fn curvature(model: Model) -> f64 {
    match model {
        Model::Linear => 1.0,
        Model::Logistic => 0.25,
        Model::Softmax => 0.5,
    }
}

/// L from power iterations on A (seeded start, so runs repeat).
pub fn lipschitz(engine: &mut dyn ApgEngine, cfg: &FitConfig, d: usize) -> Result<f64> {
    let top = gram_top(&mut |v| engine.gram_times(v), cfg.fit_intercept, d)?;
    Ok(lipschitz_from(top, cfg))
}

/// λmax(A) by power iterations on `gram_times` (v ↦ A·v, d + 1 entries; the intercept's entry is
/// kept at 0 without one), from a seeded start so that runs repeat.
pub fn gram_top(
    gram_times: &mut dyn FnMut(&[f64]) -> Result<Vec<f64>>,
    fit_intercept: bool,
    d: usize,
) -> Result<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x05ee_d1a9);
    let mut v: Vec<f64> = (0..=d).map(|_| rng.random::<f64>() + 0.5).collect();
    if !fit_intercept {
        v[d] = 0.0;
    }
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let n0 = norm(&v);
    v.iter_mut().for_each(|a| *a /= n0);
    let mut lambda = 0.0;
    for _ in 0..POWER_ITERATIONS {
        let mut u = gram_times(&v)?;
        if !fit_intercept {
            u[d] = 0.0;
        }
        let next = norm(&u);
        if !next.is_finite() {
            return Err(Error::gpu(format!(
                "the power iteration for the step size gave {next}"
            )));
        }
        if next == 0.0 {
            break;
        }
        v = u.into_iter().map(|a| a / next).collect();
        let done = (next - lambda).abs() <= POWER_RTOL * next;
        lambda = next;
        if done {
            break;
        }
    }
    Ok(lambda)
}

/// L = curvature · λmax(A) (with a margin, as the power iteration approaches it from below) + 2·l2.
pub fn lipschitz_from(top: f64, cfg: &FitConfig) -> f64 {
    let l2 = cfg.penalty.l2.max(if cfg.fit_intercept {
        cfg.penalty.bias_l2
    } else {
        0.0
    });
    let l = curvature(cfg.model) * top * LIPSCHITZ_MARGIN + 2.0 * l2;
    l.max(1e-12)
}

/// The bookkeeping of apg's gap checks, shared by [`run`] and the block solver (src/block.rs):
/// whether an f32 device's gap has stopped shrinking, and backtracking on J.
#[derive(Clone, Debug)]
pub(crate) struct Checks {
    previous: f64,
    increases: usize,
    best_gap: f64,
    stalled: usize,
    recent: Vec<f64>,
}

impl Checks {
    pub(crate) fn new() -> Self {
        Checks {
            previous: f64::INFINITY,
            increases: 0,
            best_gap: f64::INFINITY,
            stalled: 0,
            recent: Vec::new(),
        }
    }

    /// Records a check with objective `primal` and relative gap `relative`; true when the gap
    /// has stopped shrinking (f32's floor): for [`STALL_CHECKS`] checks, or for
    /// [`FLOOR_CHECKS`] while J has also stopped moving by more than f32 resolves.
    pub(crate) fn at_floor(&mut self, primal: f64, relative: Option<f64>) -> bool {
        if let Some(g) = relative {
            if g < self.best_gap * STALL_FACTOR {
                self.best_gap = g;
                self.stalled = 0;
            } else {
                self.stalled += 1;
            }
        }
        self.recent.push(primal);
        let n = self.recent.len();
        let j_still = n > FLOOR_CHECKS
            && self.recent[n - 1 - FLOOR_CHECKS] - primal <= F32_RESOLUTION * primal.abs();
        self.stalled >= STALL_CHECKS || (self.stalled >= FLOOR_CHECKS && j_still)
    }

    /// Backtracking on J between checks: (restart the momentum, also halve the step). J above
    /// the previous check restarts; twice in a row also halves the step.
    pub(crate) fn backtrack(&mut self, primal: f64) -> (bool, bool) {
        let up = primal > self.previous + 1e-13 * self.previous.abs();
        self.previous = primal;
        if up {
            self.increases += 1;
            let halve = self.increases >= 2;
            if halve {
                self.increases = 0;
            }
            (true, halve)
        } else {
            self.increases = 0;
            (false, false)
        }
    }
}

/// ‖∇J‖∞ at x for problems without a certificate (no penalty on W): the smooth gradient.
pub(crate) fn gradient_norm(grad: &Weights, w: &Weights, cfg: &FitConfig) -> f64 {
    let d = w.features;
    grad.values
        .iter()
        .zip(&w.values)
        .enumerate()
        .filter(|(i, _)| cfg.fit_intercept || i % (d + 1) != d)
        .map(|(i, (g, x))| (g + 2.0 * cfg.penalty.of_coordinate(i % (d + 1) == d).1 * x).abs())
        .fold(0.0, f64::max)
}

/// What an apg run needs of its data besides the engine: a local [`Dataset`], or rows spread
/// over workers ([`crate::distributed`]), whose sums arrive from a reduction.
pub trait ApgData {
    fn n_rows(&self) -> usize;
    fn n_features(&self) -> usize;
    fn n_classes(&self) -> usize;
    /// The data statistics the dual point needs.
    fn stats(&self, model: Model) -> Result<DataStats>;
    /// The certificate of `w` in f64 (what an f32 device's answer is checked with).
    fn exact_certificate(
        &self,
        cfg: &FitConfig,
        stats: &DataStats,
        w: &Weights,
    ) -> Result<Option<Certificate>>;
    /// An f64 engine that goes on from an f32 device's point when it stalls above tol.
    fn host_engine<'s>(&'s self, cfg: &FitConfig) -> Result<Box<dyn ApgEngine + 's>>;
}

impl ApgData for Dataset {
    fn n_rows(&self) -> usize {
        Dataset::n_rows(self)
    }
    fn n_features(&self) -> usize {
        Dataset::n_features(self)
    }
    fn n_classes(&self) -> usize {
        Dataset::n_classes(self)
    }
    fn stats(&self, model: Model) -> Result<DataStats> {
        Ok(DataStats::of(model, self))
    }
    fn exact_certificate(
        &self,
        cfg: &FitConfig,
        stats: &DataStats,
        w: &Weights,
    ) -> Result<Option<Certificate>> {
        Ok(gap::cpu_certificate(
            cfg.model,
            self,
            &cfg.penalty,
            cfg.fit_intercept,
            stats,
            w,
        ))
    }
    fn host_engine<'s>(&'s self, cfg: &FitConfig) -> Result<Box<dyn ApgEngine + 's>> {
        Ok(Box::new(CpuApg::new(self, cfg)))
    }
}

/// Where an apg iteration ended, before it is scored on the data.
#[derive(Clone, Debug)]
pub struct ApgOutcome {
    pub weights: Weights,
    pub certificate: Option<Certificate>,
    pub converged: bool,
    pub interrupted: bool,
    pub history: Vec<HistoryRow>,
    pub report: ApgReport,
    pub seconds: f64,
}

/// Runs apg on `engine` until the relative gap is at most `cfg.gap_tol()` or `cfg.max_iter`
/// iterations. The result's `epochs_run` and `steps_run` count iterations (full passes).
#[allow(clippy::too_many_arguments)]
pub fn run(
    device_engine: &mut dyn ApgEngine,
    data: &Dataset,
    validation: Option<&Dataset>,
    cfg: &FitConfig,
    device: String,
    setup_seconds: f64,
    control: &mut RunControl,
) -> Result<FitResult> {
    let outcome = iterate(device_engine, data, cfg, control)?;
    let iterations = outcome.report.iterations;
    let mut history = outcome.history;
    let (objective, train, validation) = score(
        cfg,
        data,
        validation,
        &outcome.weights,
        iterations,
        iterations,
    )?;
    if let Some(last) = history.last_mut() {
        last.train_accuracy = train.accuracy;
        last.val_loss = validation.map(|v| v.loss);
        last.val_accuracy = validation.and_then(|v| v.accuracy);
    }
    Ok(FitResult {
        weights: outcome.weights,
        objective,
        train,
        validation,
        history,
        epochs_run: iterations,
        steps_run: iterations,
        seconds: outcome.seconds,
        setup_seconds,
        device,
        stopped_early: outcome.interrupted.then(|| INTERRUPTED.to_string()),
        best_epoch: None,
        // Set by the GPU solver when it streams the data in chunks.
        chunk_rows: cfg.chunk_rows,
        certificate: outcome.certificate,
        converged: Some(outcome.converged),
        apg: Some(outcome.report),
    })
}

/// The apg iteration itself, over any [`ApgData`]: the engine's steps, the gap checks,
/// backtracking, and the f64 finish when an f32 device stalls above tol.
pub fn iterate(
    device_engine: &mut dyn ApgEngine,
    data: &dyn ApgData,
    cfg: &FitConfig,
    control: &mut RunControl,
) -> Result<ApgOutcome> {
    if control.resume.is_some() || control.checkpoint.is_some() {
        return Err(Error::invalid(
            "checkpoint",
            "given",
            "checkpoints and --resume are for --solver sgd (apg runs to its tolerance)",
        ));
    }
    let start = Instant::now();
    let stats = data.stats(cfg.model)?;
    let d = data.n_features();
    let lip = lipschitz(device_engine, cfg, d)?;
    let mut step = 1.0 / lip;
    let tol = cfg.gap_tol();
    let outputs = cfg.model.outputs(data.n_classes());
    let start_weights = match control.warm_start {
        Some(w) if w.outputs != outputs || w.features != d => {
            return Err(Error::invalid(
                "warm-start",
                format!("{} x {}", w.outputs, w.features + 1),
                format!("the model has {outputs} x {} weights", d + 1),
            ))
        }
        Some(w) => w.clone(),
        None => Weights::zeros(outputs, d),
    };
    device_engine.start(&start_weights)?;
    // Set when an f32 device stalls above tol: the same iteration goes on in f64 on the host.
    let mut host: Option<Box<dyn ApgEngine + '_>> = None;
    let mut host_iterations = 0usize;
    let mut history = Vec::new();
    let mut iterations = 0usize;
    let mut checks = Checks::new();
    let (weights, certificate, converged, interrupted) = loop {
        let engine: &mut dyn ApgEngine = match host.as_mut() {
            Some(h) => h.as_mut(),
            None => &mut *device_engine,
        };
        let (x, loss, grad) = engine.evaluate()?;
        let reg_loss = objective::penalty_value(&cfg.penalty, &x);
        let primal = loss + reg_loss;
        if !primal.is_finite() || !x.is_finite() {
            return Err(Error::Diverged {
                epoch: iterations,
                step: iterations,
                what: "objective".into(),
                value: primal,
            });
        }
        let certificate = gap::certificate_at(
            cfg.model,
            &cfg.penalty,
            cfg.fit_intercept,
            &stats,
            &x,
            loss,
            &grad,
            |point| engine.dual_loss(point),
        )?;
        let converged = match &certificate {
            Some(c) => c.relative <= tol,
            None => gradient_norm(&grad, &x, cfg) <= tol * primal.abs().max(1.0),
        };
        history.push(HistoryRow {
            epoch: iterations,
            step: iterations,
            data_loss: loss,
            reg_loss,
            loss: primal,
            train_accuracy: None,
            val_loss: None,
            val_accuracy: None,
            lr: step,
            seconds: start.elapsed().as_secs_f64(),
            duality_gap: certificate.map(|c| c.gap),
        });
        if let Some(observe) = control.observer.as_mut() {
            observe(&ProgressUpdate {
                row: history.last().expect("just pushed"),
                epochs: cfg.max_iter,
                total_steps: cfg.max_iter,
                rows_seen: (iterations * data.n_rows()) as u64,
                run_seconds: start.elapsed().as_secs_f64(),
            });
        }
        let interrupted = control
            .stop
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst));
        // A device computing in f32 bounds the gap it can show (its gradient carries rounding
        // of ~1e-7); when the gap stops shrinking, the f64 certificate of the host copy decides.
        let at_floor = checks.at_floor(primal, certificate.map(|c| c.relative));
        let give_up = interrupted || iterations >= cfg.max_iter || (engine.is_f32() && at_floor);
        if converged || give_up {
            // An f32 device's own gap is only as good as its rounding: its answer is certified
            // in f64 on the host copy of the data. If that gap is above tol, the device goes on
            // until it stalls.
            let (certificate, converged) = match certificate {
                Some(_) if engine.is_f32() && !interrupted => {
                    let exact = data.exact_certificate(cfg, &stats, &x)?;
                    (exact, exact.is_some_and(|c| c.relative <= tol))
                }
                _ => (certificate, converged),
            };
            let finish_on_host = !converged
                && !interrupted
                && engine.is_f32()
                && certificate.is_some()
                && iterations < cfg.max_iter;
            if finish_on_host {
                // The device's f32 gradient cannot take the gap lower: go on from its point in
                // f64 (momentum restarted), with the same step.
                let mut cpu = data.host_engine(cfg)?;
                cpu.start(&x)?;
                host = Some(cpu);
                continue;
            }
            if converged || give_up {
                if let (Some(last), Some(c)) = (history.last_mut(), certificate) {
                    last.duality_gap = Some(c.gap);
                }
                break (x, certificate, converged, interrupted);
            }
        }
        // Backtracking on J between checks: restart the momentum; twice in a row, halve the step.
        let (restart, halve) = checks.backtrack(primal);
        if restart {
            engine.restart()?;
        }
        if halve {
            step /= 2.0;
        }
        let n = CHECK_EVERY.min(cfg.max_iter - iterations);
        engine.iterate(n, step)?;
        iterations += n;
        if host.is_some() {
            host_iterations += n;
        }
    };
    let restarts = device_engine.restarts()? + host.as_mut().map_or(Ok(0), |h| h.restarts())?;
    Ok(ApgOutcome {
        weights,
        certificate,
        converged,
        interrupted,
        history,
        report: ApgReport {
            iterations,
            lipschitz: lip,
            restarts,
            host_iterations,
        },
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Twin of the GPU engine: the same iteration in f64 from the kernel twins.
pub struct CpuApg<'a> {
    model: Model,
    data: &'a Dataset,
    cfg: FitConfig,
    state: ApgState,
    /// Every row in order, and the gradient sums: the full batch of kernels::grad_partials.
    order: Vec<u32>,
    sums: Vec<f64>,
}

impl<'a> CpuApg<'a> {
    pub fn new(data: &'a Dataset, cfg: &FitConfig) -> Self {
        let w = Weights::zeros(cfg.model.outputs(data.n_classes()), data.n_features());
        CpuApg {
            model: cfg.model,
            data,
            cfg: cfg.clone(),
            sums: vec![0.0; w.values.len()],
            state: ApgState::at(w),
            order: (0..data.n_rows() as u32).collect(),
        }
    }
}

impl ApgEngine for CpuApg<'_> {
    fn gram_times(&mut self, v: &[f64]) -> Result<Vec<f64>> {
        Ok(kernels::gram_times(self.data, v))
    }

    fn start(&mut self, w: &Weights) -> Result<()> {
        self.state.start(w);
        Ok(())
    }

    fn iterate(&mut self, iterations: usize, step: f64) -> Result<()> {
        let n = self.data.n_rows();
        let batch = Batch { start: 0, rows: n };
        for _ in 0..iterations {
            // The twin of the GPU's gradient dispatches (no loss computed on the way).
            kernels::grad_partials(
                self.model,
                self.data,
                &self.order,
                batch,
                &self.state.y,
                &mut self.sums,
            );
            let mut grad = self.state.y.clone();
            for (g, s) in grad.values.iter_mut().zip(&self.sums) {
                *g = s / n as f64;
            }
            kernels::apg_update(
                &grad,
                step,
                &self.cfg.penalty,
                self.cfg.fit_intercept,
                &mut self.state,
            );
        }
        Ok(())
    }

    fn restart(&mut self) -> Result<()> {
        self.state.drop_momentum();
        Ok(())
    }

    fn evaluate(&mut self) -> Result<(Weights, f64, Weights)> {
        let (loss, grad) = objective::loss_and_data_gradient(self.model, self.data, &self.state.x);
        Ok((self.state.x.clone(), loss, grad))
    }

    fn dual_loss(&mut self, point: &DualPoint) -> Result<f64> {
        Ok(kernels::dual_loss(
            self.model,
            self.data,
            &self.state.x,
            point,
        ))
    }

    fn restarts(&mut self) -> Result<usize> {
        Ok(self.state.restarts)
    }
}

/// The certificate of the final weights of any fit, in f64 on the CPU (sgd reports it at its end).
pub fn final_certificate(data: &Dataset, cfg: &FitConfig, w: &Weights) -> Option<Certificate> {
    // A network's objective is not convex: it has no duality gap.
    if cfg.network.is_some() {
        return None;
    }
    let stats = DataStats::of(cfg.model, data);
    gap::cpu_certificate(cfg.model, data, &cfg.penalty, cfg.fit_intercept, &stats, w)
}
