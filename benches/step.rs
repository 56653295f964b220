//! One step and one epoch of minibatch SGD, GPU solver and CPU reference, at a few sizes.
//! Data and device buffers are built outside the timed region; the timed region queues the work
//! and waits for the device to finish it. Correctness is checked before timing (GPU and CPU agree
//! after one epoch). `GPU_REGFIT_BENCH_QUICK=1` shrinks the sizes.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gpu_regfit::config::{BatchSize, FitConfig, Penalty};
use gpu_regfit::cpu::{CpuEngine, CpuSolver};
use gpu_regfit::data::generate::{linear, LinearSpec};
use gpu_regfit::fit::{fit, Engine};
use gpu_regfit::gpu::{GpuContext, GpuEngine, GpuSolver};
use gpu_regfit::schedule::{Batch, BatchPlan};

fn sizes() -> Vec<(usize, usize, usize)> {
    if std::env::var("GPU_REGFIT_BENCH_QUICK").as_deref() == Ok("1") {
        vec![(8192, 32, 1024)]
    } else {
        vec![
            (65_536, 32, 4096),
            (65_536, 128, 4096),
            (262_144, 128, 4096),
        ]
    }
}

fn config(batch: usize) -> FitConfig {
    FitConfig {
        penalty: Penalty {
            l1: 1e-3,
            l2: 1e-3,
            ..Penalty::default()
        },
        lr: 0.01,
        epochs: 1,
        batch_size: BatchSize::Rows(batch),
        ..FitConfig::default()
    }
}

/// Times one step and one epoch on `engine` (already holding the data).
fn time_engine(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    id: &str,
    engine: &mut dyn Engine,
    plan: &BatchPlan,
) {
    let epoch = plan.epoch(0);
    engine.set_epoch(&epoch).expect("order");
    let batches: Vec<Batch> = epoch.batches;
    let lrs = vec![plan.lr; batches.len()];
    c.bench_function(BenchmarkId::new(format!("{name}_step"), id), |b| {
        b.iter(|| {
            engine.run_steps(&batches[..1], &lrs[..1]).expect("step");
            engine.finish().expect("finish");
        })
    });
    c.bench_function(BenchmarkId::new(format!("{name}_epoch"), id), |b| {
        b.iter(|| {
            engine.run_steps(&batches, &lrs).expect("epoch");
            engine.finish().expect("finish");
        })
    });
}

fn bench(c: &mut Criterion) {
    let ctx = match GpuContext::new(None) {
        Ok(ctx) => Some(std::sync::Arc::new(ctx)),
        Err(e) => {
            eprintln!("GPU benches skipped: {e}");
            None
        }
    };
    let mut group = c.benchmark_group("sgd");
    group.sample_size(10);
    for (rows, features, batch) in sizes() {
        let (data, _) = linear(&LinearSpec {
            rows,
            features,
            informative: 8,
            noise: 1.0,
            seed: 0,
        })
        .expect("valid spec");
        let id = format!("{rows}x{features}/batch{batch}");
        let cfg = config(batch);
        let plan = BatchPlan::new(&cfg, rows);
        if let Some(ctx) = &ctx {
            let g =
                fit(&mut GpuSolver::with_context(ctx.clone()), &data, None, &cfg).expect("gpu fit");
            let cpu = fit(&mut CpuSolver::new(), &data, None, &cfg).expect("cpu fit");
            let worst = g.weights.max_abs_diff(&cpu.weights);
            assert!(worst < 1e-3, "GPU and CPU disagree by {worst} at {id}");
            let residency = GpuSolver::with_context(ctx.clone())
                .residency(&data, &cfg)
                .expect("residency");
            let mut engine = GpuEngine::new(ctx, &data, None, &cfg, residency).expect("gpu engine");
            time_engine(&mut group, "gpu", &id, &mut engine, &plan);
        }
        let mut engine = CpuEngine::new(&data, None, &cfg);
        time_engine(&mut group, "cpu", &id, &mut engine, &plan);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
