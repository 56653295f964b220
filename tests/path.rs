//! The regularization path against scikit-learn's `enet_path(l1_ratio=0.7)` on diabetes
//! z-scored (golden values from scripts/make_sklearn_path_golden.py; no Python needed here): the
//! same λ_max and grid, and every coefficient at every λ within 1e-4 of that λ's largest
//! |coefficient|, by the CPU solver (measured 5e-6) and the f32 GPU solver (6e-5). And the path's
//! own rules: warm starts, glmnet's early stop, λ_max zeroing every coefficient.

mod common;

use common::gpu;
use gpu_regfit::config::{FitConfig, Model, SolverKind};
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::data::{Dataset, LoadOptions};
use gpu_regfit::fit::Solver;
use gpu_regfit::gpu::GpuSolver;
use gpu_regfit::path::{self, LambdaGrid, PathSpec};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct Golden {
    l1_ratio: f64,
    alphas: Vec<f64>,
    coef: Vec<Vec<f64>>,
    intercept: Vec<f64>,
}

fn diabetes() -> (Dataset, Golden) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let golden: Golden =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sklearn_path.json")).unwrap())
            .unwrap();
    let data = Dataset::load(&dir.join("diabetes_z.csv"), &LoadOptions::default()).unwrap();
    (data, golden)
}

fn config(tol: f64) -> FitConfig {
    FitConfig {
        model: Model::Linear,
        solver: SolverKind::Apg,
        tol: Some(tol),
        max_iter: 200_000,
        ..FitConfig::default()
    }
}

/// Runs the golden grid with `solver` and returns the worst |Δcoef| / max |coef| over the λ.
fn worst_on_golden_grid(solver: &mut dyn Solver, tol: f64) -> f64 {
    let (data, golden) = diabetes();
    let spec = PathSpec {
        l1_ratio: golden.l1_ratio,
        grid: LambdaGrid::Given(golden.alphas.clone()),
        early_stop: false,
    };
    let result = path::run(solver, &data, &config(tol), &spec, None, None).unwrap();
    assert_eq!(result.points.len(), golden.alphas.len());
    let mut worst = 0.0f64;
    for (i, p) in result.points.iter().enumerate() {
        assert_eq!(p.lambda, golden.alphas[i]);
        assert!(p.converged, "λ = {} did not converge", p.lambda);
        let expected = &golden.coef[i];
        let scale = expected.iter().fold(0.0f64, |m, c| m.max(c.abs()));
        let got = p.weights.coef(0);
        let err = got
            .iter()
            .zip(expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        // At λ_max every coefficient is 0 on both sides.
        let rel = if scale > 0.0 { err / scale } else { err };
        worst = worst.max(rel);
        assert!(
            (p.weights.intercept(0) - golden.intercept[i]).abs()
                <= 1e-6 * golden.intercept[i].abs() + 1e-3 * scale.max(1.0),
            "λ = {}: intercept {} against {}",
            p.lambda,
            p.weights.intercept(0),
            golden.intercept[i]
        );
    }
    worst
}

#[test]
fn lambda_max_and_grid_are_scikit_learns() {
    let (data, golden) = diabetes();
    let top = path::lambda_max(Model::Linear, &data, golden.l1_ratio, true);
    let rel = (top - golden.alphas[0]).abs() / golden.alphas[0];
    assert!(
        rel < 1e-9,
        "λ_max {top} against scikit-learn's {}",
        golden.alphas[0]
    );
    let grid = path::geometric_grid(top, 100, 1e-3);
    for (a, b) in grid.iter().zip(&golden.alphas) {
        assert!((a - b).abs() <= 1e-9 * b, "grid {a} against {b}");
    }
}

#[test]
fn cpu_path_matches_enet_path() {
    let worst = worst_on_golden_grid(&mut CpuSolver::new(), 1e-12);
    eprintln!("cpu path: worst |Δcoef| / max |coef| = {worst:.2e}");
    assert!(worst <= 1e-4, "worst {worst:.2e} > 1e-4");
}

#[test]
fn gpu_path_matches_enet_path() {
    let Some(ctx) = gpu() else { return };
    let worst = worst_on_golden_grid(&mut GpuSolver::with_context(ctx), 1e-10);
    eprintln!("gpu path: worst |Δcoef| / max |coef| = {worst:.2e}");
    assert!(worst <= 1e-4, "worst {worst:.2e} > 1e-4");
}

/// At λ_max every coefficient is 0 and just below it one is not; the early stop ends the default
/// path before its 100th λ on diabetes, once the deviance explained stops growing.
#[test]
fn lambda_max_zeroes_every_coefficient_and_the_path_stops_early() {
    let (data, _) = diabetes();
    let top = path::lambda_max(Model::Linear, &data, 1.0, true);
    let spec = PathSpec {
        l1_ratio: 1.0,
        grid: LambdaGrid::Given(vec![top, top * 0.99]),
        early_stop: false,
    };
    let r = path::run(
        &mut CpuSolver::new(),
        &data,
        &config(1e-10),
        &spec,
        None,
        None,
    )
    .unwrap();
    assert_eq!(r.points[0].nnz, 0);
    assert_eq!(r.points[1].nnz, 1);
    assert!(r.points[0].deviance_explained.abs() < 1e-12);
    let r = path::run(
        &mut CpuSolver::new(),
        &data,
        &config(1e-8),
        &PathSpec::default(),
        None,
        None,
    )
    .unwrap();
    assert!(r.points.len() < 100, "no early stop: {} λ", r.points.len());
    assert_eq!(
        r.stopped_early.as_deref(),
        Some("deviance explained stopped growing")
    );
    let last = r.points.last().unwrap();
    // Least squares on diabetes explains about half the variance.
    assert!(
        (0.4..0.6).contains(&last.deviance_explained),
        "{}",
        last.deviance_explained
    );
}
