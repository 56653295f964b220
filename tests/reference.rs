//! The CPU reference and the exact solvers checked on their own: finite-difference gradients of
//! every model and penalty term, one step of the kernel twins, closed forms, optimality (KKT)
//! conditions, convergence of full-batch prox to the exact optimum (CPU and GPU, every model), and
//! support recovery.

mod common;

use common::{assert_close, gpu, linear, params, problem_for, standardized};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty};
use gpu_regfit::cpu::{exact, kernels, CpuSolver};
use gpu_regfit::data::Dataset;
use gpu_regfit::fit::{fit, Solver};
use gpu_regfit::gpu::GpuSolver;
use gpu_regfit::objective;
use gpu_regfit::schedule::Batch;
use gpu_regfit::weights::Weights;

const MODELS: [Model; 3] = [Model::Linear, Model::Logistic, Model::Softmax];

/// Deterministic, nonzero, varied weights of the right shape.
fn some_weights(data: &Dataset, model: Model) -> Weights {
    let k = model.outputs(data.n_classes());
    let d = data.n_features();
    let values = (0..k * (d + 1))
        .map(|i| ((i * 7 + 3) % 11) as f64 / 5.0 - 1.1)
        .collect();
    Weights::from_values(k, d, values)
}

fn fd_check(model: Model, penalty: Penalty) {
    let data = problem_for(model, 50, 4, 7);
    let w = some_weights(&data, model);
    let g = objective::gradient(model, &data, &penalty, &w);
    let h = 1e-6;
    let j = |w: &Weights| objective::evaluate(model, &data, &penalty, w).total;
    let numeric: Vec<f64> = (0..w.values.len())
        .map(|k| {
            let (mut up, mut down) = (w.clone(), w.clone());
            up.values[k] += h;
            down.values[k] -= h;
            (j(&up) - j(&down)) / (2.0 * h)
        })
        .collect();
    assert_close(
        &format!("{model:?} gradient vs finite differences, {penalty:?}"),
        &g.values,
        &numeric,
        1e-6,
        1e-7,
    );
}

#[test]
fn gradient_matches_finite_differences_for_each_model_and_term() {
    let none = Penalty::default();
    for model in MODELS {
        fd_check(model, none);
        fd_check(model, Penalty { l1: 0.3, ..none });
        fd_check(model, Penalty { l2: 0.4, ..none });
        fd_check(
            model,
            Penalty {
                bias_l1: 0.2,
                ..none
            },
        );
        fd_check(
            model,
            Penalty {
                bias_l2: 0.5,
                ..none
            },
        );
        fd_check(
            model,
            Penalty {
                l1: 0.1,
                l2: 0.2,
                bias_l1: 0.3,
                bias_l2: 0.4,
            },
        );
    }
}

#[test]
fn losses_are_stable_for_large_logits() {
    // log(1 + e^z) − y·z and the softmax cross-entropy must not overflow.
    let big = 800.0;
    assert_eq!(objective::row_loss(Model::Logistic, &[big], 1.0), 0.0);
    assert_eq!(objective::row_loss(Model::Logistic, &[-big], 0.0), 0.0);
    assert_eq!(objective::row_loss(Model::Logistic, &[big], 0.0), big);
    assert_eq!(
        objective::row_loss(Model::Softmax, &[big, 0.0, -big], 0.0),
        0.0
    );
    assert_eq!(
        objective::row_loss(Model::Softmax, &[big, 0.0, -big], 2.0),
        2.0 * big
    );
    let mut r = [big];
    objective::residuals(Model::Logistic, &mut r, 0.0);
    assert_eq!(r, [1.0]);
    let mut r = [-big, big];
    objective::residuals(Model::Softmax, &mut r, 1.0);
    assert_eq!(r, [0.0, 0.0]);
}

#[test]
fn kernel_twins_take_one_gradient_step() {
    // One full-batch sgd step built from the twins equals w − lr·∇J from the objective module.
    let penalty = Penalty {
        l1: 0.05,
        l2: 0.1,
        bias_l1: 0.02,
        bias_l2: 0.03,
    };
    for model in MODELS {
        let data = problem_for(model, 33, 5, 3);
        let start = some_weights(&data, model);
        let mut w = start.clone();
        let mut v = vec![0.0; w.values.len()];
        let mut sum = vec![0.0; w.values.len()];
        let order: Vec<u32> = (0..33).collect();
        kernels::grad_partials(
            model,
            &data,
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
        kernels::update(&sum, 1.0 / 33.0, 0.1, &rule, &mut w, &mut v);
        let g = objective::gradient(model, &data, &penalty, &start);
        let expected: Vec<f64> = start
            .values
            .iter()
            .zip(&g.values)
            .map(|(w, g)| w - 0.1 * g)
            .collect();
        assert_close(
            &format!("{model:?} twin step"),
            &w.values,
            &expected,
            1e-12,
            1e-12,
        );
    }
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
        &sol.weights.values,
        &params(&truth.coef, truth.intercept),
        1e-4,
        1e-4,
    );
}

/// KKT: for w ≠ 0, ∂smooth/∂w + l1·sign(w) = 0; for w = 0, |∂smooth/∂w| ≤ l1 (each weight, with
/// the intercept's own penalties).
fn assert_kkt(model: Model, data: &Dataset, penalty: &Penalty, w: &Weights, tol: f64) {
    let smooth = Penalty {
        l1: 0.0,
        bias_l1: 0.0,
        ..*penalty
    };
    let g = objective::gradient(model, data, &smooth, w);
    let d = w.features;
    for (k, (&gk, &wk)) in g.values.iter().zip(&w.values).enumerate() {
        let l1 = if k % (d + 1) == d {
            penalty.bias_l1
        } else {
            penalty.l1
        };
        if wk != 0.0 {
            assert!(
                (gk + l1 * wk.signum()).abs() < tol,
                "{model:?}: KKT fails at weight {k} = {wk}: g = {gk}"
            );
        } else {
            assert!(
                gk.abs() <= l1 + tol,
                "{model:?}: KKT fails at zero weight {k}: |g| = {} > l1 {l1}",
                gk.abs()
            );
        }
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
        // A penalized intercept is a column of ones with its own penalty.
        Penalty {
            l1: 0.1,
            bias_l2: 0.5,
            ..Penalty::default()
        },
    ] {
        let sol = exact::solve(&data, &penalty, true).unwrap();
        assert_eq!(sol.method, "coordinate descent");
        assert!(
            sol.optimality <= 1e-10 * sol.objective.total,
            "gap {}",
            sol.optimality
        );
        assert_kkt(Model::Linear, &data, &penalty, &sol.weights, 1e-7);
        assert!(
            sol.weights.coef(0).contains(&0.0),
            "expected exact zeros for {penalty:?}"
        );
    }
}

#[test]
fn proximal_gradient_meets_optimality_conditions_for_classifiers() {
    for model in [Model::Logistic, Model::Softmax] {
        let data = standardized(problem_for(model, 400, 12, 5));
        for penalty in [
            Penalty {
                l2: 0.01,
                ..Penalty::default()
            },
            Penalty {
                l1: 0.02,
                ..Penalty::default()
            },
            Penalty {
                l1: 0.01,
                l2: 0.01,
                bias_l1: 0.005,
                bias_l2: 0.0,
            },
        ] {
            let sol = exact::solve_model(model, &data, &penalty, true).unwrap();
            assert!(
                sol.optimality <= 1e-10,
                "{model:?} {penalty:?}: residual {} after {} iterations",
                sol.optimality,
                sol.iterations
            );
            assert_kkt(model, &data, &penalty, &sol.weights, 1e-8);
            if penalty.l1 > 0.0 {
                assert!(
                    sol.weights.nnz() < sol.weights.outputs * 12,
                    "{model:?} {penalty:?}: expected exact zeros"
                );
            }
        }
    }
}

#[test]
fn ridge_closed_form_solves_the_normal_equations() {
    let data = standardized(linear(300, 12, 12, 0.5, 9));
    let penalty = Penalty {
        l2: 0.3,
        ..Penalty::default()
    };
    let sol = exact::solve(&data, &penalty, true).unwrap();
    let g = objective::gradient(Model::Linear, &data, &penalty, &sol.weights);
    assert_close(
        "ridge gradient at the optimum",
        &g.values,
        &[0.0; 13],
        0.0,
        1e-9,
    );
}

fn prox_full_batch(model: Model, penalty: Penalty, steps: usize) -> FitConfig {
    FitConfig {
        model,
        penalty,
        l1_update: L1Update::Prox,
        optimizer: Optimizer::Momentum,
        momentum: if model == Model::Linear { 0.5 } else { 0.8 },
        lr: if model == Model::Linear { 0.3 } else { 1.0 },
        epochs: steps,
        batch_size: BatchSize::Full,
        log_every: Some(steps), // one log point per run is plenty
        ..FitConfig::default()
    }
}

fn check_reaches_optimum(solver: &mut dyn Solver, model: Model, data: &Dataset, steps: usize) {
    let none = Penalty::default();
    let cases: Vec<(&str, Penalty)> = match model {
        Model::Linear => vec![
            ("lasso", Penalty { l1: 0.1, ..none }),
            (
                "elastic net",
                Penalty {
                    l1: 0.05,
                    l2: 0.05,
                    ..none
                },
            ),
            ("ridge", Penalty { l2: 0.2, ..none }),
        ],
        _ => vec![
            ("l1", Penalty { l1: 0.01, ..none }),
            (
                "elastic net",
                Penalty {
                    l1: 0.005,
                    l2: 0.005,
                    ..none
                },
            ),
            ("l2", Penalty { l2: 0.01, ..none }),
        ],
    };
    for (name, penalty) in cases {
        let sol = exact::solve_model(model, data, &penalty, true).unwrap();
        let fitted = fit(solver, data, None, &prox_full_batch(model, penalty, steps)).unwrap();
        let gap = (fitted.result.objective.total - sol.objective.total) / sol.objective.total;
        eprintln!(
            "{model:?} {name} on {}: relative objective gap {gap:.3e} ({})",
            solver.device(),
            sol.method
        );
        assert!(
            gap <= 1e-5,
            "{model:?} {name}: relative objective gap {gap:e} > 1e-5 on {}",
            solver.device()
        );
        assert!(
            gap >= -1e-9,
            "{model:?} {name}: beat the exact optimum by {gap:e}: the exact solver is wrong"
        );
    }
}

fn optimum_problems() -> Vec<(Model, Dataset, usize)> {
    vec![
        (
            Model::Linear,
            standardized(linear(2000, 30, 8, 1.0, 21)),
            400,
        ),
        (
            Model::Logistic,
            standardized(problem_for(Model::Logistic, 2000, 20, 21)),
            1500,
        ),
        (
            Model::Softmax,
            standardized(problem_for(Model::Softmax, 2000, 20, 21)),
            1500,
        ),
    ]
}

#[test]
fn full_batch_prox_reaches_the_exact_optimum_cpu() {
    for (model, data, steps) in optimum_problems() {
        check_reaches_optimum(&mut CpuSolver::new(), model, &data, steps);
    }
}

#[test]
fn full_batch_prox_reaches_the_exact_optimum_gpu() {
    let Some(ctx) = gpu() else { return };
    for (model, data, steps) in optimum_problems() {
        check_reaches_optimum(
            &mut GpuSolver::with_context(ctx.clone()),
            model,
            &data,
            steps,
        );
    }
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
    let fitted = fit(solver, &data, None, &cfg).unwrap();
    let found: Vec<usize> = (0..100)
        .filter(|&j| fitted.weights.coef(0)[j] != 0.0)
        .collect();
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
