//! apg over rows spread across workers (the Python package's Dask estimators).
//!
//! Each worker holds its rows as one [`Partition`], resident on its own device (a GPU engine
//! that keeps X uploaded between calls, else the CPU kernels). The client runs the same apg
//! driver as a local fit ([`crate::apg::iterate`]) over a [`DistributedEngine`], whose every
//! pass over the data is one round: the client sends a [`Request`] (the current weights, or a
//! vector of the power iteration, or a dual point) to every worker, each worker answers with the
//! sums over its rows ([`Partition::answer`]), and the reduction adds them. The client then
//! takes the proximal step itself ([`kernels::apg_update`], the CPU twin of the GPU update).
//!
//! Sums, not means: a partition answers E_p[·] × mass_p, with mass_p its Σ weights (its rows
//! when unweighted), so the sum over partitions divided by the total mass is the weighted mean
//! over all rows that a single-machine fit computes. What crosses the network per round is
//! O(K·(d + 1)) numbers each way per worker.
//!
//! Requests and answers travel as flat f64 vectors ([`Request::encode`]), so the transport (Dask,
//! in Python) only ever ships one numpy array each way.

use crate::apg::{ApgData, ApgEngine, ApgOutcome};
use crate::config::{FitConfig, Model};
use crate::cpu::kernels::{self, ApgState};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::RunControl;
use crate::gap::{self, Certificate, DataStats, DualPoint};
use crate::gpu::{GpuContext, GpuSolver};
use crate::objective;
use crate::weights::Weights;
use std::sync::Arc;

/// One pass over a partition's rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// The data statistics of the dual point ([`DataStats`]), for `model`.
    Stats { model: Model },
    /// The data loss and gradient at `w` (K × (d + 1) values).
    LossGrad { w: Vec<f64>, exact: bool },
    /// [X, 1]ᵀŴ[X, 1]·v (d + 1 values).
    Gram { v: Vec<f64>, exact: bool },
    /// A classifier's conjugate term E[ℓ*(c·ρ)] at `w`.
    DualLoss {
        w: Vec<f64>,
        c: f64,
        tau: f64,
        q: Vec<f64>,
        shift: f64,
        exact: bool,
    },
}

const KIND_STATS: f64 = 0.0;
const KIND_LOSS_GRAD: f64 = 1.0;
const KIND_GRAM: f64 = 2.0;
const KIND_DUAL_LOSS: f64 = 3.0;

fn model_code(model: Model) -> f64 {
    match model {
        Model::Linear => 0.0,
        Model::Logistic => 1.0,
        Model::Softmax => 2.0,
    }
}

fn bad_request(why: &str) -> Error {
    Error::invalid(
        "request",
        why.to_string(),
        "is not a distributed apg request",
    )
}

impl Request {
    /// [kind, exact, payload…]: Stats [model]; LossGrad [w]; Gram [v];
    /// DualLoss [c, tau, shift, |q|, q…, w…].
    pub fn encode(&self) -> Vec<f64> {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        match self {
            Request::Stats { model } => vec![KIND_STATS, 1.0, model_code(*model)],
            Request::LossGrad { w, exact } => {
                let mut v = vec![KIND_LOSS_GRAD, flag(*exact)];
                v.extend_from_slice(w);
                v
            }
            Request::Gram { v: x, exact } => {
                let mut v = vec![KIND_GRAM, flag(*exact)];
                v.extend_from_slice(x);
                v
            }
            Request::DualLoss {
                w,
                c,
                tau,
                q,
                shift,
                exact,
            } => {
                let mut v = vec![
                    KIND_DUAL_LOSS,
                    flag(*exact),
                    *c,
                    *tau,
                    *shift,
                    q.len() as f64,
                ];
                v.extend_from_slice(q);
                v.extend_from_slice(w);
                v
            }
        }
    }

    pub fn decode(v: &[f64]) -> Result<Self> {
        if v.len() < 2 {
            return Err(bad_request("shorter than its header"));
        }
        let exact = v[1] != 0.0;
        let rest = &v[2..];
        Ok(match v[0] {
            k if k == KIND_STATS => Request::Stats {
                model: match rest.first() {
                    Some(0.0) => Model::Linear,
                    Some(1.0) => Model::Logistic,
                    Some(2.0) => Model::Softmax,
                    _ => return Err(bad_request("unknown model")),
                },
            },
            k if k == KIND_LOSS_GRAD => Request::LossGrad {
                w: rest.to_vec(),
                exact,
            },
            k if k == KIND_GRAM => Request::Gram {
                v: rest.to_vec(),
                exact,
            },
            k if k == KIND_DUAL_LOSS => {
                if rest.len() < 4 {
                    return Err(bad_request("dual point cut short"));
                }
                let nq = rest[3] as usize;
                if rest.len() < 4 + nq {
                    return Err(bad_request("dual point cut short"));
                }
                Request::DualLoss {
                    c: rest[0],
                    tau: rest[1],
                    shift: rest[2],
                    q: rest[4..4 + nq].to_vec(),
                    w: rest[4 + nq..].to_vec(),
                    exact,
                }
            }
            _ => return Err(bad_request("unknown kind")),
        })
    }
}

/// Keeps X uploaded: the engine borrows the data and the device it lives beside.
struct GpuOwner {
    solver: GpuSolver,
    data: Dataset,
}

type DeviceEngine<'a> = Box<dyn ApgEngine + Send + 'a>;

self_cell::self_cell!(
    struct GpuPartition {
        owner: GpuOwner,
        #[covariant]
        dependent: DeviceEngine,
    }
);

enum Resident {
    Cpu(Box<Dataset>),
    Gpu(GpuPartition),
}

/// A worker's rows, resident on its device between rounds.
pub struct Partition {
    resident: Resident,
    model: Model,
    outputs: usize,
    device: String,
    /// The weights the device engine last evaluated at: a classifier's gap check asks for the
    /// conjugate term at the point whose loss and gradient it has just received, so the
    /// engine's evaluate is not run twice.
    evaluated: Option<Vec<f64>>,
}

impl Partition {
    /// Uploads `data` for `cfg`'s model to the GPU of `ctx`, or keeps it on the CPU without one.
    /// Classifier data must carry its classes (all of the full data's, so every partition has
    /// the same K).
    pub fn new(data: Dataset, cfg: &FitConfig, ctx: Option<Arc<GpuContext>>) -> Result<Self> {
        if cfg.network.is_some() {
            return Err(Error::invalid(
                "model",
                "mlp",
                "distributed fits take the convex models (apg)",
            ));
        }
        let outputs = cfg.model.outputs(data.n_classes());
        let model = cfg.model;
        let (resident, device) = match ctx {
            None => (
                Resident::Cpu(Box::new(data)),
                "cpu (f64 reference)".to_string(),
            ),
            Some(ctx) => {
                let solver = GpuSolver::with_context(ctx);
                let device = solver.context().adapter.label();
                let owner = GpuOwner { solver, data };
                let cell = GpuPartition::try_new(owner, |o| o.solver.apg_engine(&o.data, cfg))?;
                (Resident::Gpu(cell), device)
            }
        };
        Ok(Partition {
            resident,
            model,
            outputs,
            device,
            evaluated: None,
        })
    }

    fn data(&self) -> &Dataset {
        match &self.resident {
            Resident::Cpu(d) => d,
            Resident::Gpu(cell) => &cell.borrow_owner().data,
        }
    }

    /// The device the rows live on.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Whether this partition's device computes in f32.
    pub fn is_f32(&self) -> bool {
        matches!(self.resident, Resident::Gpu(_))
    }

    pub fn n_rows(&self) -> usize {
        self.data().n_rows()
    }

    /// Σ weights of the rows (the rows when unweighted): what the partition's means are over.
    pub fn mass(&self) -> f64 {
        self.data().weight_sum()
    }

    fn weights(&self, values: &[f64]) -> Result<Weights> {
        let d = self.data().n_features();
        if values.len() != self.outputs * (d + 1) {
            return Err(Error::invalid(
                "weights",
                values.len(),
                format!(
                    "this partition's model has {} x {} weights",
                    self.outputs,
                    d + 1
                ),
            ));
        }
        Ok(Weights::from_values(self.outputs, d, values.to_vec()))
    }

    /// The sums over this partition's rows that `request` asks for.
    pub fn answer(&mut self, request: &Request) -> Result<Vec<f64>> {
        let mass = self.mass();
        let scale = |v: Vec<f64>| v.into_iter().map(|a| a * mass).collect::<Vec<_>>();
        match request {
            Request::Stats { model } => {
                let s = DataStats::of(*model, self.data());
                let mut v = s.x_mean;
                v.extend(s.t_mean);
                v.extend(s.tx_mean);
                v.push(s.y2_mean);
                Ok(scale(v))
            }
            Request::LossGrad { w: values, exact } => {
                let w = self.weights(values)?;
                let model = self.model;
                let (loss, grad) = match &mut self.resident {
                    Resident::Gpu(cell) if !exact => {
                        self.evaluated = None;
                        let out = cell.with_dependent_mut(|_, e| {
                            e.start(&w)?;
                            e.evaluate().map(|(_, l, g)| (l, g))
                        })?;
                        self.evaluated = Some(values.clone());
                        out
                    }
                    _ => objective::loss_and_data_gradient(model, self.data(), &w),
                };
                let mut v = vec![loss];
                v.extend(grad.values);
                Ok(scale(v))
            }
            Request::Gram { v, exact } => {
                let d = self.data().n_features();
                if v.len() != d + 1 {
                    return Err(Error::invalid(
                        "vector",
                        v.len(),
                        format!("this partition has {} features + 1", d),
                    ));
                }
                let out = match &mut self.resident {
                    Resident::Gpu(cell) if !exact => {
                        // The product overwrites what the last evaluate left on the device.
                        self.evaluated = None;
                        cell.with_dependent_mut(|_, e| e.gram_times(v))?
                    }
                    _ => kernels::gram_times(self.data(), v),
                };
                Ok(scale(out))
            }
            Request::DualLoss {
                w: values,
                c,
                tau,
                q,
                shift,
                exact,
            } => {
                let w = self.weights(values)?;
                let point = DualPoint {
                    c: *c,
                    tau: *tau,
                    q: q.clone(),
                    shift: *shift,
                    // The conjugate term reads only the scalars and q.
                    h: w.clone(),
                };
                let model = self.model;
                let fresh = self.evaluated.as_ref() == Some(values);
                let value = match &mut self.resident {
                    Resident::Gpu(cell) if !exact => {
                        self.evaluated = None;
                        let value = cell.with_dependent_mut(|_, e| {
                            // The engine's conjugate pass reads the state its evaluate left.
                            if !fresh {
                                e.start(&w)?;
                                e.evaluate()?;
                            }
                            e.dual_loss(&point)
                        })?;
                        self.evaluated = Some(values.clone());
                        value
                    }
                    _ => kernels::dual_loss(model, self.data(), &w, &point),
                };
                Ok(vec![value * mass])
            }
        }
    }
}

/// One round over every partition: the client's transport (Dask in Python) sends the encoded
/// request to each worker and returns the elementwise sum of their answers.
pub trait Reduce {
    fn round(&self, request: &Request) -> Result<Vec<f64>>;
}

/// The shape of the distributed data, gathered when the partitions were made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub rows: usize,
    pub features: usize,
    /// K for a classifier (1 for regression).
    pub classes: usize,
    /// Σ of the partitions' masses.
    pub mass: f64,
    /// Whether any partition computes in f32 (a GPU): its gap is then checked in f64 rounds.
    pub f32: bool,
}

struct Remote<'r> {
    reduce: &'r dyn Reduce,
    shape: Shape,
    cfg: FitConfig,
}

impl Remote<'_> {
    fn outputs(&self) -> usize {
        self.cfg.model.outputs(self.shape.classes)
    }

    /// A round, checked for its length and divided by the total mass (sums → means).
    fn means(&self, request: &Request, len: usize) -> Result<Vec<f64>> {
        let v = self.reduce.round(request)?;
        if v.len() != len {
            return Err(Error::invalid(
                "reduction",
                v.len(),
                format!("expected {len} values from the workers"),
            ));
        }
        Ok(v.into_iter().map(|a| a / self.shape.mass).collect())
    }

    fn loss_grad(&self, w: &Weights, exact: bool) -> Result<(f64, Weights)> {
        let v = self.means(
            &Request::LossGrad {
                w: w.values.clone(),
                exact,
            },
            1 + w.values.len(),
        )?;
        Ok((v[0], w.with_values(v[1..].to_vec())))
    }

    fn dual_loss(&self, w: &Weights, point: &DualPoint, exact: bool) -> Result<f64> {
        let v = self.means(
            &Request::DualLoss {
                w: w.values.clone(),
                c: point.c,
                tau: point.tau,
                q: point.q.clone(),
                shift: point.shift,
                exact,
            },
            1,
        )?;
        Ok(v[0])
    }
}

/// The client's apg engine: the FISTA state on the host, every pass over X a round.
pub struct DistributedEngine<'r> {
    remote: &'r Remote<'r>,
    state: ApgState,
    /// Ask the workers for f64 sums (the host finish of an f32 run).
    exact: bool,
}

impl<'r> DistributedEngine<'r> {
    fn new(remote: &'r Remote<'r>, exact: bool) -> Self {
        let w = Weights::zeros(remote.outputs(), remote.shape.features);
        DistributedEngine {
            remote,
            state: ApgState::at(w),
            exact,
        }
    }
}

impl ApgEngine for DistributedEngine<'_> {
    fn gram_times(&mut self, v: &[f64]) -> Result<Vec<f64>> {
        self.remote.means(
            &Request::Gram {
                v: v.to_vec(),
                exact: self.exact,
            },
            v.len(),
        )
    }

    fn start(&mut self, w: &Weights) -> Result<()> {
        self.state.start(w);
        Ok(())
    }

    fn iterate(&mut self, iterations: usize, step: f64) -> Result<()> {
        let cfg = &self.remote.cfg;
        for _ in 0..iterations {
            let (_, grad) = self.remote.loss_grad(&self.state.y, self.exact)?;
            kernels::apg_update(
                &grad,
                step,
                &cfg.penalty,
                cfg.fit_intercept,
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
        let (loss, grad) = self.remote.loss_grad(&self.state.x, self.exact)?;
        Ok((self.state.x.clone(), loss, grad))
    }

    fn dual_loss(&mut self, point: &DualPoint) -> Result<f64> {
        self.remote.dual_loss(&self.state.x, point, self.exact)
    }

    fn restarts(&mut self) -> Result<usize> {
        Ok(self.state.restarts)
    }

    fn is_f32(&self) -> bool {
        self.remote.shape.f32 && !self.exact
    }
}

impl ApgData for Remote<'_> {
    fn n_rows(&self) -> usize {
        self.shape.rows
    }
    fn n_features(&self) -> usize {
        self.shape.features
    }
    fn n_classes(&self) -> usize {
        self.shape.classes
    }

    fn stats(&self, model: Model) -> Result<DataStats> {
        let d = self.shape.features;
        let k = if model == Model::Softmax {
            self.shape.classes
        } else {
            1
        };
        let v = self.means(&Request::Stats { model }, d + k + k * d + 1)?;
        Ok(DataStats {
            features: d,
            x_mean: v[..d].to_vec(),
            t_mean: v[d..d + k].to_vec(),
            tx_mean: v[d + k..d + k + k * d].to_vec(),
            y2_mean: v[d + k + k * d],
        })
    }

    fn exact_certificate(
        &self,
        cfg: &FitConfig,
        stats: &DataStats,
        w: &Weights,
    ) -> Result<Option<Certificate>> {
        let (loss, grad) = self.loss_grad(w, true)?;
        gap::certificate_at(
            cfg.model,
            &cfg.penalty,
            cfg.fit_intercept,
            stats,
            w,
            loss,
            &grad,
            |point| self.dual_loss(w, point, true),
        )
    }

    fn host_engine<'s>(&'s self, _cfg: &FitConfig) -> Result<Box<dyn ApgEngine + 's>> {
        Ok(Box::new(DistributedEngine::new(self, true)))
    }
}

/// Runs apg over the partitions behind `reduce` to `cfg.gap_tol()`: the same driver, checks and
/// certificate as a local fit. The intercept is fitted on the original scale (no standardizing).
pub fn fit(
    reduce: &dyn Reduce,
    shape: Shape,
    cfg: &FitConfig,
    control: &mut RunControl,
) -> Result<ApgOutcome> {
    if cfg.network.is_some() || cfg.standardize {
        return Err(Error::invalid(
            "config",
            "mlp or standardize",
            "distributed fits take the convex models on the data as given",
        ));
    }
    cfg.validate(shape.rows.max(1))?;
    if !(shape.mass.is_finite() && shape.mass > 0.0) {
        return Err(Error::invalid(
            "sample weights",
            shape.mass,
            "their sum over the partitions must be > 0",
        ));
    }
    let remote = Remote {
        reduce,
        shape,
        cfg: cfg.clone(),
    };
    let mut engine = DistributedEngine::new(&remote, false);
    crate::apg::iterate(&mut engine, &remote, cfg, control)
}
