//! Many apg problems over one dataset at once: the K models of a block share every pass over X.
//!
//! Cross-validation and the regularization path solve hundreds of problems that differ only in
//! their penalty and in which rows they fit (a fold's training rows, or all rows). Reading X is
//! the cost of each iteration, so a block engine computes the gradients of all K models of a
//! block in one pass: each row is read once and gives K residuals. Each model keeps its own
//! FISTA state, step (1/L of its rows), backtracking and duality-gap check, run on the host in
//! f64 ([`kernels::apg_update`], the twin of shaders/apg_update.wgsl); a model that has
//! converged leaves the block and the passes go on with the others.
//!
//! Which rows a model fits is a *part* ([`Parts`]): part f < F holds out fold f, part F is every
//! row. A part is the dataset with sample weights base·[fold ≠ f] (scaled to mean 1), so every
//! single-model function (the gap's statistics, the f64 certificate, the CPU apg) applies to it
//! unchanged; X itself is shared, not copied.

use crate::apg::{self, Checks, CpuApg, CHECK_EVERY};
use crate::config::{FitConfig, Model, Penalty, SolverKind};
use crate::cpu::kernels::{self, ApgState};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::RunControl;
use crate::gap::{self, Certificate, DataStats, DualPoint};
use crate::objective;
use crate::weights::Weights;
use std::sync::atomic::{AtomicBool, Ordering};

/// The row sets of a block's models: F training parts (fold f held out) and all rows.
#[derive(Clone, Debug)]
pub struct Parts {
    /// The fold of every row, 0..F.
    pub fold_of_row: Vec<u32>,
    pub folds: usize,
    /// One dataset per part, X shared: part f < F has weight 0 on fold f's rows, part F is the
    /// data as given.
    pub data: Vec<Dataset>,
    /// The rows of each fold.
    pub fold_rows: Vec<Vec<usize>>,
    /// Σ of the data's scaled row weights (ŵ, mean 1) over each fold's rows.
    pub fold_weight: Vec<f64>,
}

impl Parts {
    /// The parts of `data` for fold ids `fold_of_row` (one per row, 0..F with every fold used).
    pub fn new(data: &Dataset, fold_of_row: Vec<u32>) -> Result<Self> {
        let n = data.n_rows();
        if fold_of_row.len() != n {
            return Err(Error::invalid(
                "folds",
                fold_of_row.len(),
                format!("needs one fold id per row ({n} rows)"),
            ));
        }
        let folds = fold_of_row.iter().max().map_or(0, |&f| f as usize + 1);
        let mut fold_rows = vec![Vec::new(); folds];
        let mut fold_weight = vec![0.0; folds];
        for (i, &f) in fold_of_row.iter().enumerate() {
            fold_rows[f as usize].push(i);
            fold_weight[f as usize] += data.row_weight(i);
        }
        if folds < 2 {
            return Err(Error::invalid("folds", folds, "needs at least 2 folds"));
        }
        if let Some(f) = fold_rows.iter().position(Vec::is_empty) {
            return Err(Error::invalid(
                "folds",
                f,
                "no row is in this fold (fold ids must be 0, 1, ..., F − 1 with every fold used)",
            ));
        }
        if let Some(f) = fold_weight.iter().position(|&w| w <= 0.0) {
            return Err(Error::invalid(
                "folds",
                f,
                "every row of this fold has sample weight 0",
            ));
        }
        let base: Vec<f32> = match &data.weights {
            Some(w) => w.raw.clone(),
            None => vec![1.0; n],
        };
        let mut parts = Vec::with_capacity(folds + 1);
        for f in 0..folds as u32 {
            let mut part = data.clone();
            part.weights = None;
            let raw = base
                .iter()
                .zip(&fold_of_row)
                .map(|(&w, &g)| if g == f { 0.0 } else { w })
                .collect();
            part.set_weights(raw, &format!("fold {f} held out"))?;
            parts.push(part);
        }
        parts.push(data.clone());
        Ok(Parts {
            fold_of_row,
            folds,
            data: parts,
            fold_rows,
            fold_weight,
        })
    }

    /// The part of every row.
    pub fn all(&self) -> usize {
        self.folds
    }

    /// The fold part `part` holds out (None for all rows).
    pub fn held_out(&self, part: usize) -> Option<u32> {
        (part < self.folds).then_some(part as u32)
    }

    pub fn features(&self) -> usize {
        self.data[0].n_features()
    }
}

/// What the block solver needs from a device: passes over X for many models at once.
pub trait BlockEngine {
    /// A one-line description of the device.
    fn device(&self) -> String;
    /// λmax([X, 1]ᵀŴ[X, 1]/m) of part `part` (Ŵ its weights), for the step size.
    fn gram_top(&mut self, part: usize, fit_intercept: bool) -> Result<f64>;
    /// For each (part, w): the data loss E[ℓ] (when `losses`; 0 otherwise) and the data
    /// gradient E[r·[x, 1]] over the part's rows, all from one pass over X.
    fn gradients(
        &mut self,
        points: &[(usize, &Weights)],
        losses: bool,
    ) -> Result<Vec<(f64, Weights)>>;
    /// For a classifier, each (part, w, dual point)'s E[ℓ*(c·ρ)] (src/gap.rs).
    fn dual_losses(&mut self, points: &[(usize, &Weights, &DualPoint)]) -> Result<Vec<f64>>;
    /// Σ ŵᵢ(yᵢ − zᵢ)² over fold f's rows for each (fold, w), when the engine has a shortcut
    /// for it (the Gram engine); `None` to score the rows.
    fn holdout_sse(&mut self, _points: &[(usize, &Weights)]) -> Option<Vec<f64>> {
        None
    }
    /// Whether the gradients are computed in f32 (the gap is then certified in f64 on the host).
    fn is_f32(&self) -> bool {
        false
    }
    /// Models per pass this engine handles well (the default block size).
    fn preferred_block(&self) -> usize;
}

/// One problem of a block.
#[derive(Clone, Debug)]
pub struct Problem {
    /// Its rows (see [`Parts`]).
    pub part: usize,
    /// Its penalty (the intercepts' from the block's config).
    pub penalty: Penalty,
    /// Its warm start.
    pub start: Weights,
}

/// A solved problem.
#[derive(Clone, Debug)]
pub struct Solved {
    pub weights: Weights,
    /// E[ℓ] over the part's rows.
    pub data_loss: f64,
    /// J.
    pub objective: f64,
    pub certificate: Option<Certificate>,
    pub iterations: usize,
    pub converged: bool,
}

/// One model in flight.
struct Member {
    state: ApgState,
    step: f64,
    checks: Checks,
    iterations: usize,
    done: Option<Solved>,
}

/// A block solver over one engine: the parts' statistics and step sizes are computed once and
/// kept for every block.
pub struct BlockSolver<'a> {
    engine: Box<dyn BlockEngine + 'a>,
    parts: &'a Parts,
    cfg: FitConfig,
    stats: Vec<Option<DataStats>>,
    tops: Vec<Option<f64>>,
    /// Passes over X so far (gradient, loss and dual passes).
    pub passes: usize,
}

impl<'a> BlockSolver<'a> {
    /// `cfg` gives the model, intercept, tolerance and max_iter (per problem).
    pub fn new(engine: Box<dyn BlockEngine + 'a>, parts: &'a Parts, cfg: &FitConfig) -> Self {
        let n = parts.data.len();
        let mut cfg = cfg.clone();
        cfg.solver = SolverKind::Apg;
        BlockSolver {
            engine,
            parts,
            cfg,
            stats: vec![None; n],
            tops: vec![None; n],
            passes: 0,
        }
    }

    pub fn device(&self) -> String {
        self.engine.device()
    }

    pub fn preferred_block(&self) -> usize {
        self.engine.preferred_block().max(1)
    }

    pub fn engine(&mut self) -> &mut dyn BlockEngine {
        self.engine.as_mut()
    }

    fn stats(&mut self, part: usize) -> &DataStats {
        let (model, data) = (self.cfg.model, &self.parts.data[part]);
        self.stats[part].get_or_insert_with(|| DataStats::of(model, data))
    }

    fn top(&mut self, part: usize) -> Result<f64> {
        if let Some(t) = self.tops[part] {
            return Ok(t);
        }
        let t = self.engine.gram_top(part, self.cfg.fit_intercept)?;
        self.passes += 1;
        self.tops[part] = Some(t);
        Ok(t)
    }

    /// Solves every problem to the config's tolerance (or max_iter), sharing the passes over X.
    /// With `stop` raised, returns the problems as they are (not converged).
    pub fn solve(
        &mut self,
        problems: &[Problem],
        stop: Option<&AtomicBool>,
    ) -> Result<Vec<Solved>> {
        let d = self.parts.features();
        let model = self.cfg.model;
        let tol = self.cfg.gap_tol();
        let mut members = Vec::with_capacity(problems.len());
        for p in problems {
            let outputs = model.outputs(self.parts.data[p.part].n_classes());
            if p.start.outputs != outputs || p.start.features != d {
                return Err(Error::invalid(
                    "warm-start",
                    format!("{} x {}", p.start.outputs, p.start.features + 1),
                    format!("the model has {outputs} x {} weights", d + 1),
                ));
            }
            let cfg_k = self.config_of(p);
            let top = self.top(p.part)?;
            members.push(Member {
                state: ApgState::at(p.start.clone()),
                step: 1.0 / apg::lipschitz_from(top, &cfg_k),
                checks: Checks::new(),
                iterations: 0,
                done: None,
            });
        }
        loop {
            let active: Vec<usize> = (0..members.len())
                .filter(|&k| members[k].done.is_none())
                .collect();
            if active.is_empty() {
                break;
            }
            let interrupted = stop.is_some_and(|f| f.load(Ordering::SeqCst));
            self.check(problems, &mut members, &active, tol, interrupted)?;
            let active: Vec<usize> = active
                .into_iter()
                .filter(|&k| members[k].done.is_none())
                .collect();
            if active.is_empty() {
                break;
            }
            let left = active
                .iter()
                .map(|&k| self.cfg.max_iter - members[k].iterations)
                .min()
                .unwrap_or(0);
            for _ in 0..CHECK_EVERY.min(left) {
                let points: Vec<(usize, &Weights)> = active
                    .iter()
                    .map(|&k| (problems[k].part, &members[k].state.y))
                    .collect();
                let grads = self.engine.gradients(&points, false)?;
                self.passes += 1;
                for (&k, (_, grad)) in active.iter().zip(&grads) {
                    let m = &mut members[k];
                    kernels::apg_update(
                        grad,
                        m.step,
                        &problems[k].penalty,
                        self.cfg.fit_intercept,
                        &mut m.state,
                    );
                    m.iterations += 1;
                }
            }
        }
        Ok(members
            .into_iter()
            .map(|m| m.done.expect("every member is done"))
            .collect())
    }

    fn config_of(&self, p: &Problem) -> FitConfig {
        FitConfig {
            penalty: p.penalty,
            ..self.cfg.clone()
        }
    }

    /// The gap check at x of every active member (one loss-and-gradient pass, and one dual pass
    /// for classifiers); members that converged, stalled or ran out of iterations leave.
    fn check(
        &mut self,
        problems: &[Problem],
        members: &mut [Member],
        active: &[usize],
        tol: f64,
        interrupted: bool,
    ) -> Result<()> {
        let model = self.cfg.model;
        let fit_intercept = self.cfg.fit_intercept;
        let points: Vec<(usize, &Weights)> = active
            .iter()
            .map(|&k| (problems[k].part, &members[k].state.x))
            .collect();
        let evals = self.engine.gradients(&points, true)?;
        self.passes += 1;
        // Each part's statistics once (then borrowed for every member of the part).
        for &k in active {
            self.stats(problems[k].part);
        }
        let stats_of = |part: usize| self.stats[part].as_ref().expect("computed above");
        let mut duals: Vec<Option<DualPoint>> = Vec::with_capacity(active.len());
        for (&k, (_, grad)) in active.iter().zip(&evals) {
            let p = &problems[k];
            duals.push(gap::dual_point(
                model,
                &p.penalty,
                fit_intercept,
                stats_of(p.part),
                grad,
            ));
        }
        // Classifiers' conjugate terms: one pass for every member with a dual point.
        let mut conjugates: Vec<Option<f64>> = vec![None; active.len()];
        if model == Model::Linear {
            for (i, &k) in active.iter().enumerate() {
                if let Some(point) = &duals[i] {
                    conjugates[i] = Some(gap::linear_conjugate(
                        point,
                        evals[i].0,
                        &members[k].state.x,
                        stats_of(problems[k].part),
                    ));
                }
            }
        } else {
            let wanted: Vec<usize> = (0..active.len()).filter(|&i| duals[i].is_some()).collect();
            if !wanted.is_empty() {
                let points: Vec<(usize, &Weights, &DualPoint)> = wanted
                    .iter()
                    .map(|&i| {
                        let k = active[i];
                        (
                            problems[k].part,
                            &members[k].state.x,
                            duals[i].as_ref().expect("filtered"),
                        )
                    })
                    .collect();
                let values = self.engine.dual_losses(&points)?;
                self.passes += 1;
                for (&i, v) in wanted.iter().zip(values) {
                    conjugates[i] = Some(v);
                }
            }
        }
        let is_f32 = self.engine.is_f32();
        for (i, &k) in active.iter().enumerate() {
            let p = &problems[k];
            let (loss, grad) = &evals[i];
            let m = &mut members[k];
            let x = &m.state.x;
            let primal = loss + objective::penalty_value(&p.penalty, x);
            if !primal.is_finite() || !x.is_finite() {
                return Err(Error::Diverged {
                    epoch: m.iterations,
                    step: m.iterations,
                    what: "objective".into(),
                    value: primal,
                });
            }
            let certificate = match (&duals[i], conjugates[i]) {
                (Some(point), Some(conj)) => Some(gap::certificate(
                    &p.penalty,
                    fit_intercept,
                    x,
                    *loss,
                    point,
                    conj,
                )),
                _ => None,
            };
            let cfg_k = self.config_of(p);
            let converged = match &certificate {
                Some(c) => c.relative <= tol,
                None => apg::gradient_norm(grad, x, &cfg_k) <= tol * primal.abs().max(1.0),
            };
            let at_floor = m.checks.at_floor(primal, certificate.map(|c| c.relative));
            let out_of_iterations = m.iterations >= self.cfg.max_iter;
            if converged || interrupted || out_of_iterations || (is_f32 && at_floor) {
                let solved = if is_f32 && certificate.is_some() && !interrupted {
                    // The device's f32 gap is only as good as its rounding: certify in f64 on
                    // the host, and finish there (as apg::run does) when that is above tol.
                    let data = &self.parts.data[p.part];
                    let stats = stats_of(p.part);
                    let exact =
                        gap::cpu_certificate(model, data, &p.penalty, fit_intercept, stats, x);
                    if exact.is_some_and(|c| c.relative <= tol) || out_of_iterations {
                        Solved {
                            weights: x.clone(),
                            data_loss: *loss,
                            objective: primal,
                            certificate: exact,
                            iterations: m.iterations,
                            converged: exact.is_some_and(|c| c.relative <= tol),
                        }
                    } else {
                        finish_on_host(data, &cfg_k, x, m.iterations)?
                    }
                } else {
                    Solved {
                        weights: x.clone(),
                        data_loss: *loss,
                        objective: primal,
                        certificate,
                        iterations: m.iterations,
                        converged,
                    }
                };
                m.done = Some(solved);
                continue;
            }
            let (restart, halve) = m.checks.backtrack(primal);
            if restart {
                m.state.drop_momentum();
                m.state.restarts += 1;
            }
            if halve {
                m.step /= 2.0;
            }
        }
        Ok(())
    }
}

/// Finishes one problem in f64 on the host from `x` (apg::run on the CPU twin), within the
/// iterations left.
fn finish_on_host(data: &Dataset, cfg: &FitConfig, x: &Weights, done: usize) -> Result<Solved> {
    let cfg = FitConfig {
        max_iter: cfg.max_iter.saturating_sub(done).max(1),
        ..cfg.clone()
    };
    let mut engine = CpuApg::new(data, &cfg);
    let mut control = RunControl {
        warm_start: Some(x),
        ..RunControl::default()
    };
    let r = apg::run(
        &mut engine,
        data,
        None,
        &cfg,
        String::new(),
        0.0,
        &mut control,
    )?;
    Ok(Solved {
        data_loss: r.objective.data_loss,
        objective: r.objective.total,
        certificate: r.certificate,
        iterations: done + r.epochs_run,
        converged: r.converged.unwrap_or(false),
        weights: r.weights,
    })
}
