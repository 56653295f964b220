//! The CPU reference and the exact solvers checked on their own: finite-difference gradients,
//! closed forms, optimality (KKT) conditions, convergence of full-batch prox to the exact optimum
//! (CPU and GPU), and support recovery.

mod common;

use common::{assert_close, gpu, linear, params, standardized};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Optimizer, Penalty};
use gpu_regfit::cpu::{exact, kernels, CpuSolver};
use gpu_regfit::data::Dataset;
use gpu_regfit::fit::{fit, Solver};
use gpu_regfit::gpu::GpuSolver;
use gpu_regfit::objective;
use gpu_regfit::schedule::Batch;

fn fd_check(penalty: Penalty) {
    let data = linear(50, 4, 3, 0.3, 7);
    let coef = [0.7, -1.3, 0.4, 2.1];
    let b = -0.6;
    let (g, gb) = objective::gradient(&data, &penalty, &coef, b);
    let h = 1e-6;
    let j = |c: &[f64], b: f64| objective::evaluate(&data, &penalty, c, b).total;
    let mut numeric = Vec::new();
    for k in 0..coef.len() {
        let (mut up, mut down) = (coef, coef);
        up[k] += h;
        down[k] -= h;
        numeric.push((j(&up, b) - j(&down, b)) / (2.0 * h));
    }
    numeric.push((j(&coef, b + h) - j(&coef, b - h)) / (2.0 * h));
    assert_close(
        &format!("gradient vs finite differences, {penalty:?}"),
        &params(&g, gb),
        &numeric,
        1e-6,
        1e-7,
    );
}

#[test]
fn gradient_matches_finite_differences_for_each_term() {
    let none = Penalty::default();
    fd_check(none);
    fd_check(Penalty { l1: 0.3, ..none });
    fd_check(Penalty { l2: 0.4, ..none });
    fd_check(Penalty {
        bias_l1: 0.2,
        ..none
    });
    fd_check(Penalty {
        bias_l2: 0.5,
        ..none
    });
    fd_check(Penalty {
        l1: 0.1,
        l2: 0.2,
        bias_l1: 0.3,
        bias_l2: 0.4,
    });
}

#[test]
fn kernel_twins_take_one_gradient_step() {
    // One full-batch sgd step built from the twins equals w − lr·∇J from the objective module.
    let data = linear(33, 5, 5, 0.2, 3);
    let penalty = Penalty {
        l1: 0.05,
        l2: 0.1,
        bias_l1: 0.02,
        bias_l2: 0.03,
    };
    let start = vec![0.5, -0.25, 0.0, 1.0, -2.0, 0.3];
    let mut p = start.clone();
    let mut v = vec![0.0; 6];
    let mut sum = vec![0.0; 6];
    let order: Vec<u32> = (0..33).collect();
    let x = data.x.as_slice().unwrap();
    let y = data.y.as_slice().unwrap();
    kernels::grad_partials(
        x,
        y,
        5,
        &order,
        Batch { start: 0, rows: 33 },
        &start,
        &mut sum,
    );
    let rule = kernels::UpdateRule {
        penalty,
        prox: false,
        momentum: None,
        fit_intercept: true,
    };
    kernels::update(&sum, 1.0 / 33.0, 0.1, &rule, &mut p, &mut v);
    let (g, gb) = objective::gradient(&data, &penalty, &start[..5], start[5]);
    let expected: Vec<f64> = start
        .iter()
        .zip(params(&g, gb))
        .map(|(w, g)| w - 0.1 * g)
        .collect();
    assert_close("twin step", &p, &expected, 1e-12, 1e-12);
}

#[test]
fn least_squares_closed_form_recovers_noiseless_truth() {
    let (data, truth) =
        gpu_regfit::data::generate::linear(&gpu_regfit::data::generate::LinearSpec {
            rows: 200,
            features: 6,
            informative: 4,
            noise: 0.0,
            seed: 11,
        })
        .unwrap();
    let sol = exact::solve(&data, &Penalty::default(), true).unwrap();
    assert_eq!(sol.method, "closed form (Cholesky)");
    assert_close(
        "OLS",
        &params(&sol.coef, sol.intercept),
        &params(&truth.coef, truth.intercept),
        1e-4,
        1e-4,
    );
}

/// KKT: for w_j ≠ 0, ∂smooth/∂w_j + l1·sign(w_j) = 0; for w_j = 0, |∂smooth/∂w_j| ≤ l1.
fn assert_kkt(data: &Dataset, penalty: &Penalty, coef: &[f64], b: f64) {
    let smooth = Penalty {
        l1: 0.0,
        bias_l1: 0.0,
        ..*penalty
    };
    let (g, gb) = objective::gradient(data, &smooth, coef, b);
    for (j, (&gj, &wj)) in g.iter().zip(coef).enumerate() {
        if wj != 0.0 {
            assert!(
                (gj + penalty.l1 * wj.signum()).abs() < 1e-7,
                "KKT fails at w[{j}] = {wj}: g = {gj}"
            );
        } else {
            assert!(
                gj.abs() <= penalty.l1 + 1e-7,
                "KKT fails at zero w[{j}]: |g| = {} > l1",
                gj.abs()
            );
        }
    }
    if penalty.bias_l1 == 0.0 {
        assert!(gb.abs() < 1e-7, "KKT fails for the intercept: g = {gb}");
    }
}

#[test]
fn coordinate_descent_meets_optimality_conditions() {
    let data = standardized(linear(500, 20, 5, 1.0, 5));
    for penalty in [
        Penalty {
            l1: 0.2,
            ..Penalty::default()
        },
        Penalty {
            l1: 0.05,
            l2: 0.1,
            ..Penalty::default()
        },
    ] {
        let sol = exact::solve(&data, &penalty, true).unwrap();
        assert_eq!(sol.method, "coordinate descent");
        assert!(
            sol.duality_gap <= 1e-10 * sol.objective.total,
            "gap {}",
            sol.duality_gap
        );
        assert_kkt(&data, &penalty, &sol.coef, sol.intercept);
        assert!(
            sol.coef.contains(&0.0),
            "expected exact zeros for {penalty:?}"
        );
    }
    // A penalized intercept is a column of ones with its own penalty.
    let penalty = Penalty {
        l1: 0.1,
        bias_l2: 0.5,
        ..Penalty::default()
    };
    let sol = exact::solve(&data, &penalty, true).unwrap();
    let (g, gb) = objective::gradient(
        &data,
        &Penalty { l1: 0.0, ..penalty },
        &sol.coef,
        sol.intercept,
    );
    assert!(gb.abs() < 1e-7, "penalized intercept not optimal: {gb}");
    assert!(g.len() == 20);
}

#[test]
fn ridge_closed_form_solves_the_normal_equations() {
    let data = standardized(linear(300, 12, 12, 0.5, 9));
    let penalty = Penalty {
        l2: 0.3,
        ..Penalty::default()
    };
    let sol = exact::solve(&data, &penalty, true).unwrap();
    let (g, gb) = objective::gradient(&data, &penalty, &sol.coef, sol.intercept);
    assert_close(
        "ridge gradient at the optimum",
        &params(&g, gb),
        &[0.0; 13],
        0.0,
        1e-9,
    );
}

fn prox_full_batch(penalty: Penalty, steps: usize) -> FitConfig {
    FitConfig {
        penalty,
        l1_update: L1Update::Prox,
        optimizer: Optimizer::Momentum,
        momentum: 0.5,
        lr: 0.3,
        epochs: steps,
        batch_size: BatchSize::Full,
        log_every: Some(steps), // one log point per 1 000 steps is plenty
        ..FitConfig::default()
    }
}

fn check_reaches_optimum(solver: &mut dyn Solver, data: &Dataset) {
    for (name, penalty) in [
        (
            "lasso",
            Penalty {
                l1: 0.1,
                ..Penalty::default()
            },
        ),
        (
            "elastic net",
            Penalty {
                l1: 0.05,
                l2: 0.05,
                ..Penalty::default()
            },
        ),
        (
            "ridge",
            Penalty {
                l2: 0.2,
                ..Penalty::default()
            },
        ),
    ] {
        let sol = exact::solve(data, &penalty, true).unwrap();
        let fitted = fit(solver, data, &prox_full_batch(penalty, 400)).unwrap();
        let gap = (fitted.result.objective.total - sol.objective.total) / sol.objective.total;
        eprintln!(
            "{name} on {}: relative objective gap {gap:.3e} ({})",
            solver.device(),
            sol.method
        );
        assert!(
            gap <= 1e-5,
            "{name}: relative objective gap {gap:e} > 1e-5 on {}",
            solver.device()
        );
        assert!(
            gap >= -1e-9,
            "{name}: beat the exact optimum by {gap:e}: the exact solver is wrong"
        );
    }
}

#[test]
fn full_batch_prox_reaches_the_exact_optimum_cpu() {
    let data = standardized(linear(2000, 30, 8, 1.0, 21));
    check_reaches_optimum(&mut CpuSolver::new(), &data);
}

#[test]
fn full_batch_prox_reaches_the_exact_optimum_gpu() {
    let Some(ctx) = gpu() else { return };
    let data = standardized(linear(2000, 30, 8, 1.0, 21));
    check_reaches_optimum(&mut GpuSolver::with_context(ctx), &data);
}

fn check_support(solver: &mut dyn Solver) {
    let (data, truth) =
        gpu_regfit::data::generate::linear(&gpu_regfit::data::generate::LinearSpec {
            rows: 2000,
            features: 100,
            informative: 10,
            noise: 0.5,
            seed: 4,
        })
        .unwrap();
    let cfg = FitConfig {
        penalty: Penalty {
            l1: 0.1,
            ..Penalty::default()
        },
        l1_update: L1Update::Prox,
        lr: 0.5,
        epochs: 300,
        batch_size: BatchSize::Full,
        log_every: Some(300),
        ..FitConfig::default()
    };
    let fitted = fit(solver, &data, &cfg).unwrap();
    let found: Vec<usize> = (0..100).filter(|&j| fitted.coef[j] != 0.0).collect();
    let expected: Vec<usize> = (0..100).filter(|&j| truth.coef[j] != 0.0).collect();
    assert_eq!(found, expected, "support on {}", solver.device());
}

#[test]
fn l1_prox_recovers_the_informative_support_cpu() {
    check_support(&mut CpuSolver::new());
}

#[test]
fn l1_prox_recovers_the_informative_support_gpu() {
    let Some(ctx) = gpu() else { return };
    check_support(&mut GpuSolver::with_context(ctx));
}
