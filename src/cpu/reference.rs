//! The CPU reference solver: the same algorithm as the GPU solver (same batches from the shared
//! plan, same update rule), built from the kernel twins, in f64.

use super::kernels::{self, UpdateRule};
use crate::checkpoint::OptimizerState;
use crate::config::{FitConfig, L1Update, Model, Optimizer, SolverKind};
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

/// The reference's per-fit state; public so benches can time single steps.
pub struct CpuEngine<'a> {
    model: Model,
    data: &'a Dataset,
    validation: Option<&'a Dataset>,
    rule: UpdateRule,
    order: Vec<u32>,
    weights: Weights,
    velocity: Vec<f64>,
    grad: Vec<f64>,
    /// Log points computed at request time, not yet taken.
    logs: VecDeque<LogPoint>,
}

impl<'a> CpuEngine<'a> {
    pub fn new(data: &'a Dataset, validation: Option<&'a Dataset>, cfg: &FitConfig) -> Self {
        let weights = Weights::zeros(cfg.model.outputs(data.n_classes()), data.n_features());
        let width = weights.values.len();
        CpuEngine {
            model: cfg.model,
            data,
            validation,
            rule: UpdateRule {
                penalty: cfg.penalty,
                prox: cfg.l1_update == L1Update::Prox,
                momentum: (cfg.optimizer == Optimizer::Momentum).then_some(cfg.momentum),
                fit_intercept: cfg.fit_intercept,
            },
            order: Vec::with_capacity(data.n_rows()),
            weights,
            velocity: vec![0.0; width],
            grad: vec![0.0; width],
            logs: VecDeque::new(),
        }
    }
}

impl Engine for CpuEngine<'_> {
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn snapshot(&mut self) -> Result<OptimizerState> {
        Ok(OptimizerState {
            weights: self.weights.values.clone(),
            weights_lo: None,
            velocity: self.velocity.clone(),
        })
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<()> {
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

    fn set_epoch(&mut self, epoch: &Epoch) -> Result<()> {
        self.order.clear();
        self.order.extend_from_slice(&epoch.order);
        Ok(())
    }

    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()> {
        for (batch, &lr) in batches.iter().zip(lrs) {
            kernels::grad_partials(
                self.model,
                self.data,
                &self.order,
                *batch,
                &self.weights,
                &mut self.grad,
            );
            let inv_batch = 1.0 / batch.rows as f64;
            kernels::update(
                &self.grad,
                inv_batch,
                lr,
                &self.rule,
                &mut self.weights,
                &mut self.velocity,
            );
        }
        Ok(())
    }

    fn request_log(&mut self) -> Result<()> {
        self.logs.push_back(LogPoint {
            train: kernels::data_loss(self.model, self.data, &self.weights),
            validation: self
                .validation
                .map(|v| kernels::data_loss(self.model, v, &self.weights)),
            weights: self.weights.clone(),
        });
        Ok(())
    }

    fn take_log(&mut self) -> Result<LogPoint> {
        Ok(self.logs.pop_front().expect("take_log follows request_log"))
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
