//! Bitwise reproducibility: the same seed on the same device gives the same coefficients run to
//! run, and a fit interrupted (checkpoint written at the stop) then resumed ends with exactly the
//! weights and history of a fit that never stopped; on the CPU reference and on the GPU.

mod common;

use common::{gpu, problem_for};
use gpu_regfit::checkpoint::{Checkpoint, CheckpointPlan};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer};
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::data::{split, Dataset};
use gpu_regfit::error::Error;
use gpu_regfit::fit::{FitResult, HistoryRow, ProgressUpdate, RunControl, Solver};
use gpu_regfit::gpu::GpuSolver;
use std::sync::atomic::{AtomicBool, Ordering};

/// Configs that between them use every piece of state a checkpoint carries: momentum velocity,
/// prox, lr decay (global step), mid-epoch log points, validation and early stopping (best weights).
fn cases() -> Vec<(Model, FitConfig)> {
    let base = FitConfig {
        epochs: 6,
        batch_size: BatchSize::Rows(64),
        seed: 11,
        ..FitConfig::default()
    };
    let mut linear = base.clone();
    linear.penalty.l1 = 0.01;
    linear.decay = 1e-3;
    linear.log_every = Some(7);
    let mut logistic = base.clone();
    logistic.model = Model::Logistic;
    logistic.optimizer = Optimizer::Momentum;
    logistic.momentum = 0.8;
    logistic.l1_update = L1Update::Prox;
    logistic.penalty.l1 = 0.002;
    let mut softmax = base;
    softmax.model = Model::Softmax;
    softmax.penalty.l2 = 0.01;
    softmax.early_stopping = true;
    softmax.n_iter_no_change = 10;
    softmax.lr = 0.2;
    vec![
        (Model::Linear, linear),
        (Model::Logistic, logistic),
        (Model::Softmax, softmax),
    ]
}

fn data_for(model: Model) -> (Dataset, Dataset) {
    let data = problem_for(model, 600, 6, 3);
    split::holdout(&data, 0.2, 1).expect("valid split")
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// History without the wall-clock column.
fn curve(h: &[HistoryRow]) -> Vec<(usize, usize, u64, Option<u64>, u64)> {
    h.iter()
        .map(|r| {
            (
                r.epoch,
                r.step,
                r.loss.to_bits(),
                r.val_loss.map(f64::to_bits),
                r.lr.to_bits(),
            )
        })
        .collect()
}

/// Makes a fresh solver on one device.
type MakeSolver = Box<dyn Fn() -> Box<dyn Solver>>;

/// Every solver to test: the CPU reference, and the GPU unless skipped on purpose.
fn solvers() -> Vec<(&'static str, MakeSolver)> {
    let mut list: Vec<(&'static str, MakeSolver)> =
        vec![("cpu", Box::new(|| Box::new(CpuSolver::new())))];
    if let Some(ctx) = gpu() {
        list.push((
            "gpu",
            Box::new(move || Box::new(GpuSolver::with_context(ctx.clone()))),
        ));
    }
    list
}

/// Fits with a stop requested once the fit has logged step `stop_after` (as Ctrl-C would), with a
/// checkpoint file; returns the interrupted result and the checkpoint.
fn interrupted(
    solver: &mut dyn Solver,
    data: &Dataset,
    val: &Dataset,
    cfg: &FitConfig,
    stop_after: usize,
    path: &std::path::Path,
) -> (FitResult, Checkpoint) {
    let stop = AtomicBool::new(false);
    let mut observe = |u: &ProgressUpdate| {
        if u.row.step >= stop_after {
            stop.store(true, Ordering::SeqCst);
        }
    };
    let mut control = RunControl {
        stop: Some(&stop),
        checkpoint: Some(CheckpointPlan {
            path: path.into(),
            every: 1000,
        }),
        observer: Some(&mut observe),
        ..RunControl::default()
    };
    let r = solver
        .fit_run(data, Some(val), cfg, &mut control)
        .expect("the interrupted fit");
    (
        r,
        Checkpoint::load(path).expect("the checkpoint reads back"),
    )
}

#[test]
fn same_seed_same_device_gives_identical_coefficients() {
    for (name, make) in solvers() {
        for (model, cfg) in cases() {
            let (data, val) = data_for(model);
            let a = make().fit_raw(&data, Some(&val), &cfg).unwrap();
            let b = make().fit_raw(&data, Some(&val), &cfg).unwrap();
            assert_eq!(
                bits(&a.weights.values),
                bits(&b.weights.values),
                "{name} {model:?}: two runs with one seed differ"
            );
            assert_eq!(curve(&a.history), curve(&b.history), "{name} {model:?}");
            // And the seed matters: another one gives other weights.
            let other = FitConfig {
                seed: cfg.seed + 1,
                ..cfg.clone()
            };
            let c = make().fit_raw(&data, Some(&val), &other).unwrap();
            assert_ne!(bits(&a.weights.values), bits(&c.weights.values), "{name}");
        }
    }
}

#[test]
fn interrupted_then_resumed_matches_an_uninterrupted_fit_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    for (name, make) in solvers() {
        for (model, cfg) in cases() {
            let (data, val) = data_for(model);
            let whole = make().fit_raw(&data, Some(&val), &cfg).unwrap();
            let steps = whole.steps_run;
            for stop_after in [1, steps / 3, steps / 2 + 5] {
                let path = dir
                    .path()
                    .join(format!("{name}-{model:?}-{stop_after}.json"));
                let (first, ck) =
                    interrupted(make().as_mut(), &data, &val, &cfg, stop_after, &path);
                assert!(first.interrupted(), "{name} {model:?}: not interrupted");
                assert!(ck.interrupted);
                assert!(
                    first.steps_run < steps,
                    "{name} {model:?}: the stop came after the end"
                );
                assert_eq!(ck.position.global_step, first.steps_run);
                let mut control = RunControl {
                    resume: Some(&ck),
                    ..RunControl::default()
                };
                let resumed = make()
                    .fit_run(&data, Some(&val), &cfg, &mut control)
                    .expect("the resumed fit");
                assert_eq!(
                    bits(&resumed.weights.values),
                    bits(&whole.weights.values),
                    "{name} {model:?}: resumed after step {} differs from uninterrupted",
                    first.steps_run
                );
                assert_eq!(curve(&resumed.history), curve(&whole.history));
                assert_eq!(resumed.epochs_run, whole.epochs_run);
                assert_eq!(resumed.best_epoch, whole.best_epoch);
            }
        }
    }
}

#[test]
fn resume_refuses_another_config_or_data() {
    let dir = tempfile::tempdir().unwrap();
    let (model, cfg) = cases().remove(0);
    let (data, val) = data_for(model);
    let path = dir.path().join("ck.json");
    let (_, ck) = interrupted(&mut CpuSolver::new(), &data, &val, &cfg, 20, &path);
    let resume = |cfg: &FitConfig, data: &Dataset| {
        let mut control = RunControl {
            resume: Some(&ck),
            ..RunControl::default()
        };
        CpuSolver::new()
            .fit_run(data, Some(&val), cfg, &mut control)
            .map(|_| ())
    };
    let other_lr = FitConfig {
        lr: 0.07,
        ..cfg.clone()
    };
    match resume(&other_lr, &data) {
        Err(Error::Format { message, path: p }) => {
            assert_eq!(p, path);
            assert!(message.contains("lr = 0.05"), "{message}");
            assert!(message.contains("lr = 0.07"), "{message}");
        }
        other => panic!("expected a refusal naming lr, got {other:?}"),
    }
    let fewer = data.select(&(0..400).collect::<Vec<_>>());
    match resume(&cfg, &fewer) {
        Err(Error::Format { message, .. }) => {
            assert!(message.contains("400 rows"), "{message}")
        }
        other => panic!("expected a refusal naming the rows, got {other:?}"),
    }
    // More epochs are allowed (train further); the same number is refused as nothing to do.
    let more = FitConfig {
        epochs: cfg.epochs + 2,
        ..cfg.clone()
    };
    resume(&more, &data).expect("raising --epochs on resume is allowed");
}

/// Batches large enough for the CPU reference's parallel path (blocks summed across threads) and
/// for many GPU workgroups: still identical bits run to run.
#[test]
fn large_batches_are_reproducible_too() {
    let data = common::linear(20000, 8, 4, 0.5, 5);
    let cfg = FitConfig {
        epochs: 4,
        batch_size: BatchSize::Rows(10000),
        penalty: gpu_regfit::config::Penalty {
            l1: 0.01,
            ..Default::default()
        },
        ..FitConfig::default()
    };
    for (name, make) in solvers() {
        let runs: Vec<Vec<u64>> = (0..3)
            .map(|_| bits(&make().fit_raw(&data, None, &cfg).unwrap().weights.values))
            .collect();
        assert_eq!(runs[0], runs[1], "{name}");
        assert_eq!(runs[0], runs[2], "{name}");
    }
}

/// FNV-1a over the little-endian bytes of each f64.
fn fingerprint(values: &[f64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for b in v.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// `--solver sgd` is the minibatch SGD of earlier releases, bit for bit: the fingerprints of the
/// coefficients and intercepts were taken from the binary of commit a4b48c1 (before apg and
/// sample weights), where these flags ran sgd by default, on the CPU reference (whose reduction
/// order does not depend on the thread count). The GPU was checked against the same binary by
/// hand on lavapipe (README, Reproducibility); its bits depend on the adapter, so no fingerprint.
#[test]
fn sgd_is_bitwise_the_sgd_of_earlier_releases() {
    let cases: [(&str, &[&str], u64); 4] = [
        (
            "linear",
            &["--l1", "0.01", "--l2", "0.01", "--epochs", "3"],
            0x79cd_31f2_ee0b_76b4,
        ),
        (
            "linear, prox momentum decay",
            &[
                "--l1",
                "0.05",
                "--l1-update",
                "prox",
                "--optimizer",
                "momentum",
                "--batch-size",
                "1000",
                "--epochs",
                "4",
                "--decay",
                "0.001",
            ],
            0x4ca8_8ba0_90e0_04a4,
        ),
        (
            "logistic",
            &[
                "--model",
                "logistic",
                "--l1",
                "0.001",
                "--l1-update",
                "prox",
                "--epochs",
                "3",
            ],
            0x7b6c_25aa_834e_ecaf,
        ),
        (
            "softmax with validation",
            &[
                "--model",
                "softmax",
                "--l2",
                "0.001",
                "--epochs",
                "3",
                "--validation-fraction",
                "0.2",
            ],
            0x4e7c_0f31_b262_ec61,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    for (name, flags, expected) in cases {
        let mut args = vec!["fit", "--solver", "sgd", "--device", "cpu", "--quiet"];
        args.extend_from_slice(flags);
        args.extend(["--out", out.to_str().unwrap()]);
        let o = common::run(&args);
        assert!(o.status.success(), "{name}");
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let mut values = Vec::new();
        for key in ["coef", "intercept"] {
            let mut stack = vec![&m[key]];
            while let Some(v) = stack.pop() {
                match v {
                    serde_json::Value::Array(a) => stack.extend(a.iter().rev()),
                    serde_json::Value::Number(n) => values.push(n.as_f64().unwrap()),
                    other => panic!("{name}: {key} holds {other}"),
                }
            }
        }
        assert_eq!(
            fingerprint(&values),
            expected,
            "{name}: sgd weights changed ({} values)",
            values.len()
        );
    }
}
