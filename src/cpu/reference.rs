//! The CPU reference solver: the same algorithm as the GPU solver (same batches from the shared
//! plan, same update rule), built from the kernel twins, in f64.

use super::kernels::{self, UpdateRule};
use crate::checkpoint::OptimizerState;
use crate::config::{FitConfig, Model, SolverKind};
use crate::data::Dataset;
use crate::error::Error;
use crate::error::Result;
use crate::fit::{run_engine, Engine, EngineRun, FitResult, LogPoint, RunControl, Solver};
use crate::schedule::{Batch, Epoch};
use crate::weights::Weights;
use std::collections::VecDeque;
use std::time::Instant;

#[derive(Default)]
pub struct CpuSolver;

impl CpuSolver {
    pub fn new() -> Self {
        CpuSolver
    }
}

/// What both CPU engines (this one and the network's) keep between steps: the f64 weights and
/// velocity, the epoch's order, and the log points computed at request time, not yet taken.
pub(crate) struct HostState<'a> {
    pub model: Model,
    pub data: &'a Dataset,
    pub validation: Option<&'a Dataset>,
    pub order: Vec<u32>,
    pub weights: Weights,
    pub velocity: Vec<f64>,
    logs: VecDeque<LogPoint>,
}

impl<'a> HostState<'a> {
    pub fn new(
        model: Model,
        data: &'a Dataset,
        validation: Option<&'a Dataset>,
        weights: Weights,
    ) -> Self {
        HostState {
            model,
            data,
            validation,
            order: Vec::with_capacity(data.n_rows()),
            velocity: vec![0.0; weights.values.len()],
            weights,
            logs: VecDeque::new(),
        }
    }

    pub fn snapshot(&self) -> OptimizerState {
        OptimizerState {
            weights: self.weights.values.clone(),
            weights_lo: None,
            velocity: self.velocity.clone(),
        }
    }

    pub fn restore(&mut self, state: &OptimizerState) -> Result<()> {
        let weights = state.combined_weights();
        if weights.len() != self.weights.values.len() || state.velocity.len() != weights.len() {
            return Err(Error::invalid(
                "checkpoint",
                format!("{} weights", weights.len()),
                format!("this fit has {}", self.weights.values.len()),
            ));
        }
        self.weights.values = weights;
        self.velocity.clone_from(&state.velocity);
        Ok(())
    }

    pub fn set_epoch(&mut self, epoch: &Epoch) {
        self.order.clear();
        self.order.extend_from_slice(&epoch.order);
    }

    /// The log point of the current weights (twin of the GPU's loss kernels).
    pub fn request_log(&mut self) {
        self.logs.push_back(LogPoint {
            train: kernels::data_loss(self.model, self.data, &self.weights),
            validation: self
                .validation
                .map(|v| kernels::data_loss(self.model, v, &self.weights)),
            weights: self.weights.clone(),
        });
    }

    pub fn take_log(&mut self) -> Result<LogPoint> {
        self.logs
            .pop_front()
            .ok_or_else(|| Error::invalid("log point", "none", "take_log follows request_log"))
    }
}

/// The reference's per-fit state; public so benches can time single steps.
pub struct CpuEngine<'a> {
    state: HostState<'a>,
    rule: UpdateRule,
    grad: Vec<f64>,
}

impl<'a> CpuEngine<'a> {
    pub fn new(data: &'a Dataset, validation: Option<&'a Dataset>, cfg: &FitConfig) -> Self {
        let weights = Weights::zeros(cfg.model.outputs(data.n_classes()), data.n_features());
        let width = weights.values.len();
        CpuEngine {
            state: HostState::new(cfg.model, data, validation, weights),
            rule: UpdateRule::new(cfg, cfg.penalty),
            grad: vec![0.0; width],
        }
    }
}

impl Engine for CpuEngine<'_> {
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn snapshot(&mut self) -> Result<OptimizerState> {
        Ok(self.state.snapshot())
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<()> {
        self.state.restore(state)
    }

    fn set_epoch(&mut self, epoch: &Epoch) -> Result<()> {
        self.state.set_epoch(epoch);
        Ok(())
    }

    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()> {
        let s = &mut self.state;
        for (batch, &lr) in batches.iter().zip(lrs) {
            kernels::grad_partials(
                s.model,
                s.data,
                &s.order,
                *batch,
                &s.weights,
                &mut self.grad,
            );
            let inv_batch = 1.0 / batch.rows as f64;
            kernels::update(
                &self.grad,
                inv_batch,
                lr,
                &self.rule,
                &mut s.weights,
                &mut s.velocity,
            );
        }
        Ok(())
    }

    fn request_log(&mut self) -> Result<()> {
        self.state.request_log();
        Ok(())
    }

    fn take_log(&mut self) -> Result<LogPoint> {
        self.state.take_log()
    }
}

/// "cpu reference (f64, N threads)".
pub(crate) fn cpu_description() -> String {
    format!(
        "cpu reference (f64, {} threads)",
        rayon::current_num_threads()
    )
}

impl Solver for CpuSolver {
    fn device(&self) -> String {
        cpu_description()
    }

    fn block_engine<'a>(
        &'a mut self,
        model: crate::config::Model,
        parts: &'a crate::block::Parts,
    ) -> Result<Box<dyn crate::block::BlockEngine + 'a>> {
        Ok(match super::block::GramEngine::new(model, parts) {
            Some(gram) => Box::new(gram),
            None => Box::new(super::block::RowsEngine::new(model, parts)),
        })
    }

    fn fit_run(
        &mut self,
        data: &Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
        control: &mut RunControl,
    ) -> Result<FitResult> {
        let setup = Instant::now();
        let (mut sgd, mut apg, mut mlp);
        let engine = if cfg.network.is_some() {
            mlp = super::mlp::MlpCpuEngine::new(data, validation, cfg);
            EngineRun::Sgd(&mut mlp)
        } else if cfg.solver == SolverKind::Apg {
            apg = crate::apg::CpuApg::new(data, cfg);
            EngineRun::Apg(&mut apg)
        } else {
            sgd = CpuEngine::new(data, validation, cfg);
            EngineRun::Sgd(&mut sgd)
        };
        run_engine(
            engine,
            data,
            validation,
            cfg,
            self.device(),
            setup.elapsed().as_secs_f64(),
            control,
        )
    }
}
