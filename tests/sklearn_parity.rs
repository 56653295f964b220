//! Parity with scikit-learn on its shipped datasets, X z-scored: diabetes (Lasso, ElasticNet,
//! Ridge), breast_cancer (LogisticRegression with L2 and with L1) and iris (multinomial
//! LogisticRegression with L2). The golden values come from scripts/make_sklearn_golden.py; this
//! test needs no Python.
//!
//! Tolerance: every coefficient and intercept within 1e-3 relative to the largest |coefficient|
//! of the case; for L1 the same coefficients are exactly zero. Softmax intercepts are unpenalized
//! and so determined only up to a common shift: they are compared after centring.
//!
//! One documented exception: the GPU solver (f32) on L1 logistic breast_cancer gets within 5e-3.
//! That problem has a nearly flat valley (moving the coefficients by 4e-3 changes J by 4e-10, a
//! relative 5e-9), so the f32 rounding of the gradient moves the minimizer that far; the GPU's
//! objective is within 1e-8 of the optimum, and the f64 solvers meet 1e-3 with room to spare.

mod common;

use common::{assert_close, gpu};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty};
use gpu_regfit::cpu::{exact, CpuSolver};
use gpu_regfit::data::{labels, Dataset, LoadOptions, Standardizer};
use gpu_regfit::fit::{fit, Solver};
use gpu_regfit::gpu::GpuSolver;
use gpu_regfit::weights::Weights;
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
    coef: Vec<Vec<f64>>,
    intercept: Vec<f64>,
}

/// One shipped dataset: its CSV, the golden file, the model and the full-batch schedule that
/// converges on it.
struct Suite {
    csv: &'static str,
    golden: &'static str,
    model: Model,
    lr: f64,
    momentum: f64,
    steps: usize,
}

const DIABETES: Suite = Suite {
    csv: "diabetes.csv",
    golden: "sklearn_diabetes.json",
    model: Model::Linear,
    lr: 0.1,
    momentum: 0.95,
    steps: 6000,
};
const BREAST_CANCER: Suite = Suite {
    csv: "breast_cancer.csv",
    golden: "sklearn_breast_cancer.json",
    model: Model::Logistic,
    lr: 1.0,
    momentum: 0.99,
    steps: 4000,
};
const IRIS: Suite = Suite {
    csv: "iris.csv",
    golden: "sklearn_iris.json",
    model: Model::Softmax,
    lr: 0.5,
    momentum: 0.9,
    steps: 3000,
};

fn load(suite: &Suite) -> (Dataset, Golden) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let golden: Golden =
        serde_json::from_str(&std::fs::read_to_string(dir.join(suite.golden)).unwrap()).unwrap();
    let options = LoadOptions {
        text_target: suite.model.is_classifier(),
        ..LoadOptions::default()
    };
    let mut data = Dataset::load(&dir.join(suite.csv), &options).unwrap();
    labels::encode(&mut data, suite.model, labels::DEFAULT_MAX_CLASSES).unwrap();
    assert_eq!(
        (data.n_rows(), data.n_features()),
        (golden.rows, golden.features)
    );
    Standardizer::fit_transform(&mut data);
    (data, golden)
}

/// [coef rows..., intercepts], intercepts centred for softmax.
fn comparable(model: Model, w: &Weights) -> Vec<f64> {
    let mut b = w.intercepts();
    if model == Model::Softmax {
        let mean = b.iter().sum::<f64>() / b.len() as f64;
        b.iter_mut().for_each(|v| *v -= mean);
    }
    w.all_coef().chain(b).collect()
}

/// The GPU's tolerance on the flat L1 logistic problem (see the module docs).
const GPU_FLAT_RTOL: f64 = 5e-3;

fn check(suite: &Suite, case: &Case, w: &Weights, who: &str, rtol: f64) {
    let expected = Weights::from_parts(&case.coef, &case.intercept);
    let scale = expected.all_coef().fold(0.0f64, |m, w| m.max(w.abs()));
    let worst = w
        .all_coef()
        .zip(expected.all_coef())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "{} by {who}: max |Δcoef| / max |coef| = {:.2e}",
        case.name,
        worst / scale
    );
    assert_close(
        &format!("{} by {who}", case.name),
        &comparable(suite.model, w),
        &comparable(suite.model, &expected),
        rtol,
        rtol * scale,
    );
    if case.l1 > 0.0 {
        let zeros = |w: &Weights| -> Vec<usize> {
            w.all_coef()
                .enumerate()
                .filter(|(_, v)| *v == 0.0)
                .map(|(j, _)| j)
                .collect()
        };
        assert_eq!(
            zeros(w),
            zeros(&expected),
            "{} by {who}: the zero pattern differs from scikit-learn's",
            case.name
        );
    }
}

fn penalty(case: &Case) -> Penalty {
    Penalty {
        l1: case.l1,
        l2: case.l2,
        ..Penalty::default()
    }
}

fn check_exact(suite: &Suite) {
    let (data, golden) = load(suite);
    for case in &golden.cases {
        let sol = exact::solve_model(suite.model, &data, &penalty(case), true).unwrap();
        check(suite, case, &sol.weights, sol.method, 1e-3);
    }
}

/// Full-batch momentum with the proximal l1 step, run long enough to converge on these
/// ill-conditioned problems (their features are strongly correlated).
fn gd_config(suite: &Suite, case: &Case) -> FitConfig {
    FitConfig {
        model: suite.model,
        penalty: penalty(case),
        l1_update: L1Update::Prox,
        optimizer: Optimizer::Momentum,
        momentum: suite.momentum,
        lr: suite.lr,
        epochs: suite.steps,
        batch_size: BatchSize::Full,
        log_every: Some(suite.steps),
        ..FitConfig::default()
    }
}

fn check_solver(suite: &Suite, solver: &mut dyn Solver, f32_solver: bool) {
    let (data, golden) = load(suite);
    for case in &golden.cases {
        let fitted = fit(solver, &data, None, &gd_config(suite, case)).unwrap();
        let flat = suite.model == Model::Logistic && case.l1 > 0.0;
        let rtol = if f32_solver && flat {
            GPU_FLAT_RTOL
        } else {
            1e-3
        };
        check(suite, case, &fitted.weights, &solver.device(), rtol);
    }
}

#[test]
fn exact_solvers_match_sklearn() {
    for suite in [&DIABETES, &BREAST_CANCER, &IRIS] {
        check_exact(suite);
    }
}

#[test]
fn cpu_reference_matches_sklearn() {
    for suite in [&DIABETES, &BREAST_CANCER, &IRIS] {
        check_solver(suite, &mut CpuSolver::new(), false);
    }
}

#[test]
fn gpu_solver_matches_sklearn() {
    let Some(ctx) = gpu() else { return };
    for suite in [&DIABETES, &BREAST_CANCER, &IRIS] {
        check_solver(suite, &mut GpuSolver::with_context(ctx.clone()), true);
    }
}
