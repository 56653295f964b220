//! The sparse gradient's compare-exchange path (adapters without f32 atomics), forced with
//! GPU_REGFIT_NO_FLOAT_ATOMICS=1 in this binary of its own (the variable is read when the GPU
//! context is made), against the CPU reference. Tolerance as tests/sparse.rs.

mod common;

use common::{assert_close, gpu};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Penalty, SolverKind};
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::data::generate;
use gpu_regfit::fit::fit;
use gpu_regfit::gpu::{GpuOptions, GpuSolver, SparseXt};

#[test]
fn compare_exchange_adds_match_the_reference() {
    std::env::set_var("GPU_REGFIT_NO_FLOAT_ATOMICS", "1");
    let Some(ctx) = gpu() else {
        return;
    };
    assert!(!ctx.float_atomics, "the variable turns f32 atomics off");
    let (data, _) = generate::sparse(&generate::SparseSpec {
        rows: 1200,
        features: 500,
        density: 0.02,
        informative: 5,
        model: generate::SparseModel::Logistic,
        noise: 0.0,
        seed: 3,
    })
    .unwrap();
    let penalty = Penalty {
        l1: 0.005,
        ..Penalty::default()
    };
    let sgd = FitConfig {
        model: Model::Logistic,
        penalty,
        l1_update: L1Update::Prox,
        lr: 0.2,
        epochs: 3,
        batch_size: BatchSize::Rows(100),
        ..FitConfig::default()
    };
    let apg = FitConfig {
        solver: SolverKind::Apg,
        tol: Some(1e-6),
        max_iter: 20_000,
        ..sgd.clone()
    };
    let mut solver = GpuSolver::with_context(ctx).with_options(GpuOptions {
        sparse_xt: Some(SparseXt::Atomic),
        ..GpuOptions::default()
    });
    let g = fit(&mut solver, &data, None, &sgd).unwrap();
    let c = fit(&mut CpuSolver::new(), &data, None, &sgd).unwrap();
    assert_close("sgd", &g.weights.values, &c.weights.values, 1e-3, 1e-4);
    let g = fit(&mut solver, &data, None, &apg).unwrap();
    let c = fit(&mut CpuSolver::new(), &data, None, &apg).unwrap();
    let (jg, jc) = (g.result.objective.total, c.result.objective.total);
    assert!((jg - jc).abs() <= 1e-5 * jc.abs(), "J gpu {jg} cpu {jc}");
}
