//! The GPU solver against the CPU reference under one config, across sizes that cross workgroup
//! and tile boundaries, every model (linear, logistic, softmax with 3 and 7 classes), every
//! penalty, with and without intercept, minibatch and full batch, sgd and momentum; and the
//! validation metrics and early stopping of both.
//!
//! Tolerance (documented in the README): every coefficient and the intercept agree within
//! |gpu − cpu| ≤ max(1e-3·max(|gpu|, |cpu|), 1e-4). The GPU computes in f32, the reference in f64.

mod common;

use common::{assert_close, classification, gpu, linear};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty};
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::fit::fit;
use gpu_regfit::gpu::{GpuContext, GpuSolver};
use std::sync::Arc;

const RTOL: f64 = 1e-3;
const ATOL: f64 = 1e-4;

const ROWS: [usize; 5] = [1, 63, 64, 65, 4097];
const FEATURES: [usize; 4] = [1, 7, 64, 300];

#[derive(Clone, Copy, Debug)]
enum Case {
    NoPenalty,
    L1Sign,
    L1Prox,
    L2,
    ElasticNet,
}

fn penalty(case: Case) -> (Penalty, L1Update) {
    let none = Penalty::default();
    match case {
        Case::NoPenalty => (none, L1Update::Sign),
        Case::L1Sign => (Penalty { l1: 0.05, ..none }, L1Update::Sign),
        Case::L1Prox => (Penalty { l1: 0.05, ..none }, L1Update::Prox),
        Case::L2 => (
            Penalty {
                l2: 0.05,
                bias_l2: 0.01,
                ..none
            },
            L1Update::Sign,
        ),
        Case::ElasticNet => (
            Penalty {
                l1: 0.03,
                l2: 0.02,
                bias_l1: 0.01,
                bias_l2: 0.01,
            },
            L1Update::Prox,
        ),
    }
}

/// Compares GPU and CPU fits for every size and every (intercept, batch, optimizer) combination.
fn run(case: Case) {
    let Some(ctx) = gpu() else { return };
    let mut fits = 0;
    let mut worst = 0.0f64;
    for rows in ROWS {
        for features in FEATURES {
            let data = linear(
                rows,
                features,
                features.min(5),
                0.5,
                (rows * 1000 + features) as u64,
            );
            for combo in 0..8 {
                let intercept = combo & 1 == 0;
                let full = combo & 2 != 0;
                let momentum = combo & 4 != 0;
                worst = worst.max(compare(
                    &ctx,
                    &data,
                    Model::Linear,
                    case,
                    intercept,
                    full,
                    momentum,
                ));
                fits += 1;
            }
        }
    }
    eprintln!("{case:?}: {fits} GPU/CPU fits agree; largest |gpu − cpu| over all coefficients: {worst:.2e}");
}

fn compare(
    ctx: &Arc<GpuContext>,
    data: &gpu_regfit::data::Dataset,
    model: Model,
    case: Case,
    intercept: bool,
    full: bool,
    momentum: bool,
) -> f64 {
    let (rows, d) = (data.n_rows(), data.n_features());
    let (penalty, l1_update) = penalty(case);
    // A step size that is stable for every batch size here, even with momentum.
    let lr = 0.1 / (1.0 + d as f64 / 4.0);
    let batch = if full {
        BatchSize::Full
    } else {
        BatchSize::Rows(if rows < 256 { 16.min(rows) } else { 512 })
    };
    let cfg = FitConfig {
        model,
        penalty,
        l1_update,
        optimizer: if momentum {
            Optimizer::Momentum
        } else {
            Optimizer::Sgd
        },
        momentum: 0.9,
        lr,
        decay: 0.01,
        epochs: if full { 20 } else { 3 },
        batch_size: batch,
        seed: 42,
        fit_intercept: intercept,
        ..FitConfig::default()
    };
    let g = fit(&mut GpuSolver::with_context(ctx.clone()), data, None, &cfg).unwrap();
    let c = fit(&mut CpuSolver::new(), data, None, &cfg).unwrap();
    let what = format!(
        "{model:?} {case:?} rows {rows} features {d} classes {} intercept {intercept} full {full} momentum {momentum}",
        data.n_classes()
    );
    assert_close(
        &what,
        &g.weights.values.clone(),
        &c.weights.values.clone(),
        RTOL,
        ATOL,
    );
    if !intercept {
        assert_eq!(g.weights.intercept(0), 0.0, "{what}: intercept must stay 0");
    }
    // The losses read back at log points agree too.
    let gl: Vec<f64> = g.result.history.iter().map(|h| h.loss).collect();
    let cl: Vec<f64> = c.result.history.iter().map(|h| h.loss).collect();
    assert_close(&format!("{what}: history loss"), &gl, &cl, RTOL, ATOL);
    // Accuracy is a count: a row whose logit sits within rounding of the decision boundary may
    // flip, so allow one row in a thousand.
    let ga: Vec<f64> = g
        .result
        .history
        .iter()
        .filter_map(|h| h.train_accuracy)
        .collect();
    let ca: Vec<f64> = c
        .result
        .history
        .iter()
        .filter_map(|h| h.train_accuracy)
        .collect();
    assert_eq!(
        ga.len(),
        ca.len(),
        "{what}: accuracy reported by one solver only"
    );
    assert_close(&format!("{what}: history accuracy"), &ga, &ca, 0.0, 1e-3);
    g.weights
        .values
        .clone()
        .iter()
        .zip(c.weights.values.clone())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// The classifiers over the same sizes and combinations, with an elastic-net penalty (prox) and an
/// l2 + l1·sign penalty.
fn run_classifier(model: Model, classes: usize, combos: std::ops::Range<usize>) {
    let Some(ctx) = gpu() else { return };
    let mut fits = 0;
    let mut worst = 0.0f64;
    for rows in ROWS {
        for features in FEATURES {
            let seed = (rows * 1000 + features) as u64;
            let data = classification(rows, features, features.min(4), classes, seed);
            for combo in combos.clone() {
                let intercept = combo & 1 == 0;
                let full = combo & 2 != 0;
                let momentum = combo & 4 != 0;
                let case = if combo & 8 != 0 {
                    Case::ElasticNet
                } else {
                    Case::L1Sign
                };
                worst = worst.max(compare(&ctx, &data, model, case, intercept, full, momentum));
                fits += 1;
            }
        }
    }
    eprintln!("{model:?} with {classes} classes: {fits} GPU/CPU fits agree; largest |gpu − cpu| over all weights: {worst:.2e}");
}

#[test]
fn logistic() {
    run_classifier(Model::Logistic, 2, 0..16);
}

#[test]
fn softmax_3_classes() {
    run_classifier(Model::Softmax, 3, 0..16);
}

#[test]
fn softmax_7_classes() {
    // The elastic-net half of the combinations (the 3-class test covers the rest).
    run_classifier(Model::Softmax, 7, 8..16);
}

/// Validation loss and accuracy read back by the GPU equal the reference's, and early stopping
/// stops both at the same epoch with the same kept weights.
#[test]
fn validation_and_early_stopping_agree() {
    let Some(ctx) = gpu() else { return };
    let all = classification(3000, 20, 5, 3, 17);
    let (train, val) = gpu_regfit::data::split::holdout(&all, 0.3, 5).unwrap();
    let cfg = FitConfig {
        model: Model::Softmax,
        lr: 0.5,
        epochs: 40,
        batch_size: BatchSize::Rows(64),
        early_stopping: true,
        n_iter_no_change: 3,
        tol: Some(1e-4),
        ..FitConfig::default()
    };
    let g = fit(&mut GpuSolver::with_context(ctx), &train, Some(&val), &cfg).unwrap();
    let c = fit(&mut CpuSolver::new(), &train, Some(&val), &cfg).unwrap();
    let gv: Vec<f64> = g.result.history.iter().filter_map(|h| h.val_loss).collect();
    let cv: Vec<f64> = c.result.history.iter().filter_map(|h| h.val_loss).collect();
    assert_eq!(
        gv.len(),
        g.result.history.len(),
        "a validation loss at every log point"
    );
    assert_close("validation loss", &gv, &cv, RTOL, ATOL);
    assert_eq!(g.result.best_epoch, c.result.best_epoch);
    assert_eq!(g.result.epochs_run, c.result.epochs_run);
    assert!(
        g.result.epochs_run < 40,
        "early stopping never triggered ({} epochs)",
        g.result.epochs_run
    );
    let best = c.result.best_epoch.unwrap();
    let best_val = c.result.history[best - 1].val_loss.unwrap();
    assert!(
        (c.result.validation.unwrap().loss - best_val).abs() < 1e-9,
        "the kept weights are not those of the best epoch"
    );
    assert_close(
        "early-stopped weights",
        &g.weights.values,
        &c.weights.values,
        RTOL,
        ATOL,
    );
}

/// More classes than one tile row holds is a typed error on the GPU (the CPU reference fits it).
#[test]
fn too_many_classes_for_the_gpu_is_a_clear_error() {
    let Some(ctx) = gpu() else { return };
    let data = classification(600, 3, 3, 300, 1);
    let cfg = FitConfig {
        model: Model::Softmax,
        epochs: 1,
        ..FitConfig::default()
    };
    match fit(&mut GpuSolver::with_context(ctx), &data, None, &cfg) {
        Err(gpu_regfit::Error::TooManyClasses { classes: 300, .. }) => {}
        other => panic!(
            "expected TooManyClasses, got {:?}",
            other.map(|f| f.weights.outputs)
        ),
    }
    assert!(fit(&mut CpuSolver::new(), &data, None, &cfg).is_ok());
}

#[test]
fn no_penalty() {
    run(Case::NoPenalty);
}

#[test]
fn l1_sign() {
    run(Case::L1Sign);
}

#[test]
fn l1_prox() {
    run(Case::L1Prox);
}

#[test]
fn l2() {
    run(Case::L2);
}

#[test]
fn elastic_net_with_bias_penalties() {
    run(Case::ElasticNet);
}

/// More tiles than workgroups: the grad_partials grid-stride loop (d = 1500 gives 2 rows a tile,
/// so a 3000-row full batch has 1500 tiles for 1024 workgroups), and a data_loss dispatch with
/// more rows than its 1024 × 64 threads.
#[test]
fn grid_stride_loops() {
    let Some(ctx) = gpu() else { return };
    for (rows, d) in [(3000, 1500), (70_000, 2)] {
        let data = linear(rows, d, d.min(5), 0.5, 1);
        let cfg = FitConfig {
            penalty: Penalty {
                l2: 0.01,
                ..Penalty::default()
            },
            lr: 0.1 / (1.0 + d as f64 / 4.0),
            epochs: 3,
            batch_size: BatchSize::Full,
            ..FitConfig::default()
        };
        let g = fit(&mut GpuSolver::with_context(ctx.clone()), &data, None, &cfg).unwrap();
        let c = fit(&mut CpuSolver::new(), &data, None, &cfg).unwrap();
        assert_close(
            &format!("grid stride {rows}×{d}"),
            &g.weights.values.clone(),
            &c.weights.values.clone(),
            RTOL,
            ATOL,
        );
        let gl: Vec<f64> = g.result.history.iter().map(|h| h.data_loss).collect();
        let cl: Vec<f64> = c.result.history.iter().map(|h| h.data_loss).collect();
        assert_close(
            &format!("grid stride {rows}×{d} loss"),
            &gl,
            &cl,
            RTOL,
            ATOL,
        );
    }
}

/// Log points inside an epoch (`log_every`) split the steps over several submissions without
/// changing the answer, and the same seed gives bitwise-identical GPU coefficients.
#[test]
fn log_points_do_not_change_the_answer() {
    let Some(ctx) = gpu() else { return };
    let data = linear(1000, 10, 4, 0.5, 8);
    let base = FitConfig {
        penalty: Penalty {
            l1: 0.01,
            ..Penalty::default()
        },
        batch_size: BatchSize::Rows(32),
        epochs: 2,
        ..FitConfig::default()
    };
    let logged = FitConfig {
        log_every: Some(7),
        ..base.clone()
    };
    let a = fit(
        &mut GpuSolver::with_context(ctx.clone()),
        &data,
        None,
        &base,
    )
    .unwrap();
    let b = fit(
        &mut GpuSolver::with_context(ctx.clone()),
        &data,
        None,
        &logged,
    )
    .unwrap();
    let again = fit(&mut GpuSolver::with_context(ctx), &data, None, &base).unwrap();
    assert_eq!(a.weights, b.weights, "log points changed the coefficients");
    assert_eq!(
        a.weights, again.weights,
        "same seed, same device: coefficients must be bitwise equal"
    );
    // 32 steps per epoch: log points after steps 7, 14, 21, 28, 32 (epoch end), 35, ...
    let steps: Vec<usize> = b.result.history.iter().map(|h| h.step).collect();
    assert_eq!(steps, vec![7, 14, 21, 28, 32, 35, 42, 49, 56, 63, 64]);
}

/// X larger than the adapter's own storage-binding limit is split into row shards and fits as the
/// CPU reference does (tests/large_data.rs covers sharding with a lowered limit).
#[test]
fn data_beyond_one_binding_is_sharded() {
    let Some(ctx) = gpu() else { return };
    let limit = ctx.max_binding_bytes() as usize;
    let features = 16;
    let rows = limit / (4 * features) + 1000;
    if rows * features * 4 > 1 << 30 {
        eprintln!(
            "binding limit {limit} is too large to exceed in a test; see tests/large_data.rs"
        );
        return;
    }
    let data = linear(rows, features, 8, 1.0, 3);
    let cfg = FitConfig {
        epochs: 1,
        lr: 0.02,
        batch_size: BatchSize::Rows(16384),
        ..FitConfig::default()
    };
    let mut solver = GpuSolver::with_context(ctx);
    assert_eq!(
        solver.residency(&data, &cfg).unwrap(),
        gpu_regfit::gpu::Residency::Resident {
            shard_rows: limit / (4 * features)
        }
    );
    let g = fit(&mut solver, &data, None, &cfg).unwrap();
    let c = fit(&mut CpuSolver::new(), &data, None, &cfg).unwrap();
    assert_close(
        &format!("{rows} × {features} in two shards"),
        &g.weights.values,
        &c.weights.values,
        RTOL,
        ATOL,
    );
}
