//! Data beyond one binding and beyond the memory budget, on small data: `max_binding_bytes` forces
//! X into many row shards, `memory_budget` forces streaming in chunks. Sharded fits must match the
//! unsharded fit and the CPU reference; streamed fits must match the CPU reference run on the same
//! chunked order. Also: every gradient path (kernel, one or two dispatches per step) matches the
//! CPU, the software adapter's loop budget holds, and the adapter's policy picks the kernel. Tolerance as in gpu_vs_cpu.rs: max(1e-3·max(|gpu|, |cpu|), 1e-4).

mod common;

use common::{assert_close, gpu, problem_for};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty, SolverKind};
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::data::Dataset;
use gpu_regfit::error::Error;
use gpu_regfit::fit::{fit, Engine, Solver};
use gpu_regfit::gpu::layout::{self, GradKernel};
use gpu_regfit::gpu::{GpuContext, GpuEngine, GpuOptions, GpuSolver, Residency};
use std::sync::Arc;

const RTOL: f64 = 1e-3;
const ATOL: f64 = 1e-4;

fn config(model: Model, batch: BatchSize) -> FitConfig {
    FitConfig {
        model,
        penalty: Penalty {
            l1: 1e-3,
            l2: 1e-3,
            ..Penalty::default()
        },
        l1_update: L1Update::Prox,
        optimizer: Optimizer::Momentum,
        momentum: 0.5,
        lr: 0.05,
        epochs: 3,
        batch_size: batch,
        seed: 11,
        log_every: Some(7),
        ..FitConfig::default()
    }
}

fn solver(ctx: &Arc<GpuContext>, options: GpuOptions) -> GpuSolver {
    GpuSolver::with_context(ctx.clone()).with_options(options)
}

fn weights_of(
    s: &mut dyn Solver,
    data: &Dataset,
    val: Option<&Dataset>,
    cfg: &FitConfig,
) -> Vec<f64> {
    s.fit_raw(data, val, cfg).unwrap().weights.values
}

/// The training and validation loss of every log point.
fn losses(r: &gpu_regfit::fit::FitResult) -> Vec<f64> {
    r.history
        .iter()
        .flat_map(|h| [h.data_loss, h.val_loss.unwrap()])
        .collect()
}

/// X split into shards of 37 rows (a binding of 37 rows × d × 4 bytes): the same answer as one
/// shard and as the CPU, for every model, minibatch and full batch, with a sharded validation set.
#[test]
fn sharded_fits_match_unsharded_and_cpu() {
    let Some(ctx) = gpu() else { return };
    for model in [Model::Linear, Model::Logistic, Model::Softmax] {
        for (d, batch) in [
            (5, BatchSize::Rows(64)),
            (40, BatchSize::Rows(100)),
            (5, BatchSize::Full),
        ] {
            let data = problem_for(model, 500, d, 3);
            let val = problem_for(model, 90, d, 4);
            let cfg = config(model, batch);
            let options = GpuOptions {
                max_binding_bytes: Some(37 * d as u64 * 4),
                ..GpuOptions::default()
            };
            let sharded = solver(&ctx, options);
            assert_eq!(
                sharded.residency(&data, &cfg).unwrap(),
                Residency::Resident { shard_rows: 37 }
            );
            let what = format!("{model:?} d {d} batch {batch:?}");
            let mut sharded = sharded;
            let gs = sharded.fit_raw(&data, Some(&val), &cfg).unwrap();
            let g1 = solver(&ctx, GpuOptions::default())
                .fit_raw(&data, Some(&val), &cfg)
                .unwrap();
            let c = CpuSolver::new().fit_raw(&data, Some(&val), &cfg).unwrap();
            assert_close(
                &format!("{what}: sharded vs one shard"),
                &gs.weights.values,
                &g1.weights.values,
                RTOL,
                ATOL,
            );
            assert_close(
                &format!("{what}: sharded vs cpu"),
                &gs.weights.values,
                &c.weights.values,
                RTOL,
                ATOL,
            );
            assert_close(
                &format!("{what}: logged losses"),
                &losses(&gs),
                &losses(&c),
                RTOL,
                ATOL,
            );
            assert_eq!(
                gs.chunk_rows, None,
                "sharding must not change the sample order"
            );
            eprintln!("{what}: sharded/one-shard/cpu agree");
        }
    }
}

/// A budget of a quarter of the data streams it in chunks; the CPU reference run on the same
/// chunked order gives the same weights and logged losses.
#[test]
fn streamed_fits_match_cpu_on_the_same_order() {
    let Some(ctx) = gpu() else { return };
    for model in [Model::Linear, Model::Logistic, Model::Softmax] {
        for (rows, d, batch) in [(1000, 6, 32), (777, 50, 25)] {
            let data = problem_for(model, rows, d, 5);
            let val = problem_for(model, 100, d, 6);
            let mut cfg = config(model, BatchSize::Rows(batch));
            let budget = rows as u64 * (d as u64 + 2) * 4 / 4;
            let mut streamed = solver(
                &ctx,
                GpuOptions {
                    memory_budget: Some(budget),
                    ..GpuOptions::default()
                },
            );
            let Residency::Streamed { chunk_rows } = streamed.residency(&data, &cfg).unwrap()
            else {
                panic!("a budget of {budget} bytes must stream {rows} × {d}");
            };
            assert!(chunk_rows % batch == 0 && chunk_rows < rows / 4);
            let g = streamed.fit_raw(&data, Some(&val), &cfg).unwrap();
            assert_eq!(g.chunk_rows, Some(chunk_rows));
            cfg.chunk_rows = Some(chunk_rows);
            let c = CpuSolver::new().fit_raw(&data, Some(&val), &cfg).unwrap();
            let what = format!("{model:?} {rows} × {d} batch {batch} chunks of {chunk_rows}");
            assert_close(
                &format!("{what}: weights"),
                &g.weights.values,
                &c.weights.values,
                RTOL,
                ATOL,
            );
            assert_eq!(g.history.len(), c.history.len());
            assert_close(
                &format!("{what}: logged losses"),
                &losses(&g),
                &losses(&c),
                RTOL,
                ATOL,
            );
            // The chunked order is a different sample order from the unchunked one.
            cfg.chunk_rows = None;
            let unchunked = weights_of(&mut CpuSolver::new(), &data, Some(&val), &cfg);
            assert!(
                unchunked != c.weights.values,
                "{what}: chunking did not change the order"
            );
            eprintln!("{what}: streamed GPU and CPU agree");
        }
    }
}

/// Streaming with too small a budget, or with full-batch steps, is a clear error.
#[test]
fn streaming_limits_are_errors() {
    let Some(ctx) = gpu() else { return };
    let data = problem_for(Model::Linear, 1000, 6, 5);
    let tiny = solver(
        &ctx,
        GpuOptions {
            memory_budget: Some(1000),
            ..GpuOptions::default()
        },
    );
    for batch in [BatchSize::Rows(64), BatchSize::Full] {
        let cfg = config(Model::Linear, batch);
        match fit(
            &mut solver(
                &ctx,
                GpuOptions {
                    memory_budget: Some(1000),
                    ..GpuOptions::default()
                },
            ),
            &data,
            None,
            &cfg,
        ) {
            Err(Error::InvalidParam { name, value, .. }) => {
                assert_eq!(name, "gpu-memory-budget");
                assert_eq!(value, "1000");
            }
            other => panic!("expected an invalid budget error, got {other:?}"),
        }
        assert!(tiny.residency(&data, &cfg).is_err());
    }
}

/// Every gradient path gives the same fit as the CPU reference: the adapter's own choice, the
/// tiled kernel forced, the one-row-per-thread kernel forced, and two dispatches per step where
/// the policy takes one; at a small batch (one dispatch per step) and at full batch.
#[test]
fn every_gradient_path_matches_the_cpu() {
    let Some(ctx) = gpu() else { return };
    for model in [Model::Linear, Model::Logistic, Model::Softmax] {
        let data = problem_for(model, 700, 6, 9);
        for batch in [BatchSize::Rows(200), BatchSize::Full] {
            let cfg = config(model, batch);
            let cpu = weights_of(&mut CpuSolver::new(), &data, None, &cfg);
            for (name, options) in [
                ("policy", GpuOptions::default()),
                (
                    "tiles",
                    GpuOptions {
                        grad_kernel: Some(GradKernel::Tiles),
                        ..GpuOptions::default()
                    },
                ),
                (
                    "rows",
                    GpuOptions {
                        grad_kernel: Some(GradKernel::Rows),
                        ..GpuOptions::default()
                    },
                ),
                (
                    "two dispatches",
                    GpuOptions {
                        two_dispatch_steps: true,
                        ..GpuOptions::default()
                    },
                ),
            ] {
                let got = weights_of(&mut solver(&ctx, options), &data, None, &cfg);
                assert_close(
                    &format!("{model:?} {batch:?} {name} vs cpu"),
                    &got,
                    &cpu,
                    RTOL,
                    ATOL,
                );
            }
        }
    }
}

/// llvmpipe stops every loop of an invocation after 65 535 iterations in all; the software policy
/// spreads rows over enough workgroups to stay below it. A full batch whose rows would give one
/// workgroup per host thread far more than that (20 000 rows × ~400 iterations / 128 threads)
/// must still match the CPU, with each kernel, at a width whose row work is unrolled (d = 128)
/// and one where it loops (d = 400). On a hardware GPU this is one more size check.
#[test]
fn long_running_threads_stay_within_the_loop_budget() {
    let Some(ctx) = gpu() else { return };
    for (d, unrolled) in [(128, true), (400, false)] {
        assert_eq!(
            layout::unrolls_rows(d, 1),
            unrolled,
            "d = {d}: pick another width"
        );
        let data = problem_for(Model::Linear, 20_000, d, 4);
        let cfg = FitConfig {
            epochs: 1,
            log_every: None,
            ..config(Model::Linear, BatchSize::Full)
        };
        let cpu = weights_of(&mut CpuSolver::new(), &data, None, &cfg);
        for kernel in [GradKernel::Rows, GradKernel::Tiles] {
            let options = GpuOptions {
                grad_kernel: Some(kernel),
                ..GpuOptions::default()
            };
            let got = weights_of(&mut solver(&ctx, options), &data, None, &cfg);
            assert_close(
                &format!("d = {d}, {kernel:?} vs cpu"),
                &got,
                &cpu,
                RTOL,
                ATOL,
            );
        }
    }
}

/// The adapter's policy picks the kernel by shape: one row per thread up to its width, tiles
/// beyond; one dispatch per step when one workgroup can take the batch (sgd only), two when
/// asked; forcing rows past the policy's width is a typed error naming the value.
#[test]
fn kernel_is_picked_by_shape() {
    let Some(ctx) = gpu() else { return };
    let policy = ctx.policy();
    let wide = policy.rows_width; // d + 1 > rows_width: tiles on every adapter
    for (model, d) in [
        (Model::Linear, 8),
        (Model::Linear, 31),
        (Model::Linear, 32),
        (Model::Softmax, 7),
        (Model::Softmax, 12),
        (Model::Linear, wide),
    ] {
        let data = problem_for(model, 100, d, 1);
        let k = model.outputs(data.n_classes());
        let expected = if k * (d + 1) <= policy.rows_width && k <= policy.rows_outputs {
            GradKernel::Rows
        } else {
            GradKernel::Tiles
        };
        for (batch, two, solver_kind) in [
            (10, false, SolverKind::Sgd),
            (10, true, SolverKind::Sgd),
            (10, false, SolverKind::Apg),
        ] {
            let cfg = FitConfig {
                solver: solver_kind,
                ..config(model, BatchSize::Rows(batch))
            };
            let options = GpuOptions {
                two_dispatch_steps: two,
                ..GpuOptions::default()
            };
            let residency = solver(&ctx, options).residency(&data, &cfg).unwrap();
            let mut engine = GpuEngine::new(&ctx, &data, None, &cfg, residency, &options).unwrap();
            let (kernel, one_dispatch) = engine.grad_kernel();
            assert_eq!(kernel, expected, "{model:?} with {d} features");
            assert_eq!(
                one_dispatch,
                expected == GradKernel::Rows && !two && solver_kind == SolverKind::Sgd,
                "{model:?} with {d} features, two dispatches asked: {two}, {solver_kind:?}"
            );
            engine.finish().unwrap();
        }
    }
    let data = problem_for(Model::Linear, 100, wide, 1);
    let cfg = config(Model::Linear, BatchSize::Rows(10));
    let options = GpuOptions {
        grad_kernel: Some(GradKernel::Rows),
        ..GpuOptions::default()
    };
    let residency = solver(&ctx, options).residency(&data, &cfg).unwrap();
    match GpuEngine::new(&ctx, &data, None, &cfg, residency, &options) {
        Err(Error::InvalidParam { name, value, .. }) => {
            assert_eq!((name, &*value), ("grad-kernel", "rows"));
        }
        Err(e) => panic!("expected an invalid kernel error, got {e}"),
        Ok(_) => panic!("rows was accepted for {wide} features"),
    }
}
