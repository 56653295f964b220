//! The block solver (src/block.rs): K problems sharing every pass over X give, problem by
//! problem, the answer of a plain apg fit on that problem's rows (the part's dataset, held-out
//! rows at weight 0) within the tolerance both certify; the Gram engine and the row engine (the
//! twin of the GPU block kernel) agree; folds are stratified and seeded.

mod common;

use common::problem_for;
use gpu_regfit::block::{BlockSolver, Parts, Problem};
use gpu_regfit::config::{FitConfig, Model, Penalty};
use gpu_regfit::cpu::block::{GramEngine, RowsEngine};
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::data::split::kfold;
use gpu_regfit::fit::{RunControl, Solver};
use gpu_regfit::weights::Weights;

const TOL: f64 = 1e-9;

fn config(model: Model) -> FitConfig {
    FitConfig {
        model,
        tol: Some(TOL),
        max_iter: 50_000,
        ..FitConfig::default()
    }
}

/// Every part at two penalties (one elastic net, one lasso), from zero.
fn problems(parts: &Parts, outputs: usize) -> Vec<Problem> {
    let d = parts.features();
    let mut out = Vec::new();
    for part in 0..parts.data.len() {
        for (l1, l2) in [(0.02, 0.01), (0.005, 0.0)] {
            out.push(Problem {
                part,
                penalty: Penalty {
                    l1,
                    l2,
                    ..Penalty::default()
                },
                start: Weights::zeros(outputs, d),
            });
        }
    }
    out
}

/// J of every solved problem within the certified gaps of a plain apg fit on the part's data.
fn check_against_apg(model: Model, use_gram: bool) {
    let data = problem_for(model, 600, 7, 3);
    let folds = kfold(&data, 3, 11).unwrap();
    let parts = Parts::new(&data, folds).unwrap();
    let cfg = config(model);
    let outputs = model.outputs(data.n_classes());
    let engine: Box<dyn gpu_regfit::block::BlockEngine> = if use_gram {
        Box::new(GramEngine::new(model, &parts).expect("linear, few features"))
    } else {
        Box::new(RowsEngine::new(model, &parts))
    };
    let mut block = BlockSolver::new(engine, &parts, &cfg);
    let problems = problems(&parts, outputs);
    let solved = block.solve(&problems, None).unwrap();
    assert_eq!(solved.len(), problems.len());
    for (p, s) in problems.iter().zip(&solved) {
        assert!(
            s.converged,
            "part {} {:?}: not converged",
            p.part, p.penalty
        );
        let gap = s.certificate.expect("penalized").gap;
        let cfg_p = FitConfig {
            penalty: p.penalty,
            ..cfg.clone()
        };
        let single = CpuSolver::new()
            .fit_run(
                &parts.data[p.part],
                None,
                &cfg_p,
                &mut RunControl::default(),
            )
            .unwrap();
        let single_gap = single.certificate.unwrap().gap;
        let diff = (s.objective - single.objective.total).abs();
        assert!(
            diff <= gap + single_gap + 1e-12,
            "part {} {:?}: J {} vs {} (gaps {gap:.2e}, {single_gap:.2e})",
            p.part,
            p.penalty,
            s.objective,
            single.objective.total
        );
        // Both certificates are ≥ J − J*, so J within tol of the optimum.
        assert!(gap <= TOL * s.objective.abs());
    }
    assert!(block.passes > 0);
}

#[test]
fn linear_block_on_rows_matches_single_fits() {
    check_against_apg(Model::Linear, false);
}

#[test]
fn linear_block_on_gram_matrices_matches_single_fits() {
    check_against_apg(Model::Linear, true);
}

#[test]
fn logistic_block_matches_single_fits() {
    check_against_apg(Model::Logistic, false);
}

#[test]
fn softmax_block_matches_single_fits() {
    check_against_apg(Model::Softmax, false);
}

#[test]
fn gram_and_row_engines_give_the_same_losses_and_gradients() {
    let data = problem_for(Model::Linear, 500, 6, 5);
    let parts = Parts::new(&data, kfold(&data, 4, 1).unwrap()).unwrap();
    let mut gram = GramEngine::new(Model::Linear, &parts).unwrap();
    let mut rows = RowsEngine::new(Model::Linear, &parts);
    let w = Weights::from_values(1, 6, vec![0.3, -0.2, 0.0, 1.1, 0.5, -0.7, 0.25]);
    let points: Vec<(usize, &Weights)> = (0..5).map(|p| (p, &w)).collect();
    use gpu_regfit::block::BlockEngine;
    let a = gram.gradients(&points, true).unwrap();
    let b = rows.gradients(&points, true).unwrap();
    for ((la, ga), (lb, gb)) in a.iter().zip(&b) {
        assert!((la - lb).abs() <= 1e-9 * lb.abs(), "loss {la} vs {lb}");
        for (x, y) in ga.values.iter().zip(&gb.values) {
            assert!(
                (x - y).abs() <= 1e-9 * (1.0 + y.abs()),
                "gradient {x} vs {y}"
            );
        }
    }
    // The held-out squared error from the fold's Gram matrix is the rows' own.
    let sse = gram.holdout_sse(&[(2, &w)]).unwrap()[0];
    let x = data.x_slice();
    let direct: f64 = parts.fold_rows[2]
        .iter()
        .map(|&i| {
            let mut z = [0.0];
            w.logits_into(&x[i * 6..(i + 1) * 6], &mut z);
            (z[0] - data.y[i] as f64).powi(2)
        })
        .sum();
    assert!((sse - direct).abs() <= 1e-9 * direct, "{sse} vs {direct}");
}

/// The GPU block kernel against its CPU twin (f32 against f64): losses, gradients, the dual
/// term of classifiers and the step size's λmax, for models on different parts in one pass.
#[test]
fn gpu_block_kernel_matches_its_cpu_twin() {
    use gpu_regfit::block::BlockEngine;
    use gpu_regfit::gpu::block::GpuBlockEngine;
    let Some(ctx) = common::gpu() else { return };
    for model in [Model::Linear, Model::Logistic, Model::Softmax] {
        let data = problem_for(model, 1500, 9, 21);
        let parts = Parts::new(&data, kfold(&data, 3, 2).unwrap()).unwrap();
        let outputs = model.outputs(data.n_classes());
        let weights: Vec<Weights> = (0..5)
            .map(|k| {
                let values = (0..outputs * 10)
                    .map(|i| ((i * 7 + k * 3) % 11) as f64 / 11.0 - 0.5)
                    .collect();
                Weights::from_values(outputs, 9, values)
            })
            .collect();
        let points: Vec<(usize, &Weights)> = weights
            .iter()
            .enumerate()
            .map(|(k, w)| (k % 4, w))
            .collect();
        let mut gpu = GpuBlockEngine::new(ctx.clone(), model, &parts).unwrap();
        let mut cpu = RowsEngine::new(model, &parts);
        let a = gpu.gradients(&points, true).unwrap();
        let b = cpu.gradients(&points, true).unwrap();
        for ((la, ga), (lb, gb)) in a.iter().zip(&b) {
            common::assert_close(&format!("{model:?} loss"), &[*la], &[*lb], 1e-5, 1e-6);
            common::assert_close(
                &format!("{model:?} gradient"),
                &ga.values,
                &gb.values,
                1e-4,
                1e-5,
            );
        }
        if model != Model::Linear {
            let stats = gpu_regfit::gap::DataStats::of(model, &parts.data[1]);
            let penalty = Penalty {
                l1: 0.01,
                ..Penalty::default()
            };
            let duals: Vec<_> = b
                .iter()
                .map(|(_, g)| {
                    gpu_regfit::gap::dual_point(model, &penalty, true, &stats, g).unwrap()
                })
                .collect();
            let with: Vec<_> = points
                .iter()
                .zip(&duals)
                .map(|((p, w), d)| (*p, *w, d))
                .collect();
            let da = gpu.dual_losses(&with).unwrap();
            let db = cpu.dual_losses(&with).unwrap();
            common::assert_close(&format!("{model:?} dual term"), &da, &db, 1e-4, 1e-6);
        }
        let (ta, tb) = (
            gpu.gram_top(2, true).unwrap(),
            cpu.gram_top(2, true).unwrap(),
        );
        common::assert_close("λmax", &[ta], &[tb], 1e-4, 0.0);
    }
}

#[test]
fn kfold_is_seeded_and_stratified() {
    let data = problem_for(Model::Softmax, 301, 4, 9);
    let a = kfold(&data, 5, 42).unwrap();
    assert_eq!(a, kfold(&data, 5, 42).unwrap(), "same seed, same folds");
    assert_ne!(a, kfold(&data, 5, 43).unwrap(), "another seed, other folds");
    for class in 0..3 {
        let counts: Vec<usize> = (0..5)
            .map(|f| {
                (0..data.n_rows())
                    .filter(|&i| a[i] == f && data.y[i] as usize == class)
                    .count()
            })
            .collect();
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(hi - lo <= 1, "class {class}: {counts:?} per fold");
    }
    assert!(kfold(&data, 1, 0).is_err());
    assert!(kfold(&data, 302, 0).is_err());
}
