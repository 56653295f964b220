//! Parity with scikit-learn on its shipped diabetes dataset (z-scored). The golden values come from
//! scripts/make_sklearn_golden.py; this test needs no Python. Tolerance: every coefficient and the
//! intercept within 1e-3 relative to the largest |coefficient| of the case.

mod common;

use common::{assert_close, gpu, params};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Optimizer, Penalty};
use gpu_regfit::cpu::{exact, CpuSolver};
use gpu_regfit::data::{Dataset, Standardizer};
use gpu_regfit::fit::{fit, Solver};
use gpu_regfit::gpu::GpuSolver;
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct Golden {
    rows: usize,
    features: usize,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    l1: f64,
    l2: f64,
    coef: Vec<f64>,
    intercept: f64,
}

fn load() -> (Dataset, Golden) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let golden: Golden =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sklearn_diabetes.json")).unwrap())
            .unwrap();
    let mut data = Dataset::load(&dir.join("diabetes.csv"), Some("y"), None).unwrap();
    assert_eq!(
        (data.n_rows(), data.n_features()),
        (golden.rows, golden.features)
    );
    Standardizer::fit_transform(&mut data);
    (data, golden)
}

fn check(case: &Case, coef: &[f64], intercept: f64, who: &str) {
    let scale = case.coef.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    let worst = coef
        .iter()
        .zip(&case.coef)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "{} by {who}: max |Δcoef| / max |coef| = {:.2e}",
        case.name,
        worst / scale
    );
    assert_close(
        &format!("{} by {who}", case.name),
        &params(coef, intercept),
        &params(&case.coef, case.intercept),
        1e-3,
        1e-3 * scale,
    );
}

#[test]
fn exact_solvers_match_sklearn() {
    let (data, golden) = load();
    for case in &golden.cases {
        let penalty = Penalty {
            l1: case.l1,
            l2: case.l2,
            ..Penalty::default()
        };
        let sol = exact::solve(&data, &penalty, true).unwrap();
        check(case, &sol.coef, sol.intercept, sol.method);
    }
}

/// Full-batch momentum with the proximal l1 step, run long enough to converge on this
/// ill-conditioned problem (its features are strongly correlated).
fn gd_config(case: &Case) -> FitConfig {
    FitConfig {
        penalty: Penalty {
            l1: case.l1,
            l2: case.l2,
            ..Penalty::default()
        },
        l1_update: L1Update::Prox,
        optimizer: Optimizer::Momentum,
        momentum: 0.95,
        lr: 0.1,
        epochs: 6000,
        batch_size: BatchSize::Full,
        log_every: Some(6000),
        ..FitConfig::default()
    }
}

fn check_solver(solver: &mut dyn Solver) {
    let (data, golden) = load();
    for case in &golden.cases {
        let fitted = fit(solver, &data, &gd_config(case)).unwrap();
        check(case, &fitted.coef, fitted.intercept, &solver.device());
    }
}

#[test]
fn cpu_reference_matches_sklearn() {
    check_solver(&mut CpuSolver::new());
}

#[test]
fn gpu_solver_matches_sklearn() {
    let Some(ctx) = gpu() else { return };
    check_solver(&mut GpuSolver::with_context(ctx));
}
