//! One step and one epoch of minibatch SGD, GPU solver and CPU reference, at a few sizes: narrow
//! and wide, full batch, a small batch that takes one dispatch per step (timed also with two), a
//! classifier, and X streamed at twice the memory budget. The GPU is timed with the adapter's own
//! kernel choice, with the tiled kernel forced, and with the read-only roofline kernel. Data and device buffers are built outside the timed region; the
//! timed region queues the work and waits for the device to finish it. Correctness is checked
//! before timing: one epoch of GPU and CPU from zero agree within 1e-3. Sizes are in the
//! BenchmarkId. `GPU_REGFIT_BENCH_QUICK=1` shrinks them; without an adapter the bench fails with
//! the install hint unless GPU_REGFIT_SKIP_GPU=1 (then only the CPU is timed).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gpu_regfit::bench::{bench_config, bench_data, check_one_epoch, BenchSize};
use gpu_regfit::config::Model;
use gpu_regfit::cpu::CpuEngine;
use gpu_regfit::fit::Engine;
use gpu_regfit::gpu::buffers::{device_row_bytes, plan_fit};
use gpu_regfit::gpu::layout::GradKernel;
use gpu_regfit::gpu::{GpuContext, GpuEngine, GpuOptions};
use gpu_regfit::schedule::BatchPlan;

/// (rows, features, batch, model, streamed)
fn sizes() -> Vec<(usize, usize, usize, Model, bool)> {
    if std::env::var("GPU_REGFIT_BENCH_QUICK").as_deref() == Ok("1") {
        vec![
            (8192, 16, 1024, Model::Linear, false),
            (8192, 64, 8192, Model::Linear, false),
            (8192, 16, 256, Model::Linear, false),
            (8192, 16, 1024, Model::Linear, true),
        ]
    } else {
        vec![
            (65_536, 16, 4096, Model::Linear, false),
            (65_536, 128, 4096, Model::Linear, false),
            (65_536, 128, 65_536, Model::Linear, false),
            (65_536, 16, 256, Model::Linear, false),
            (262_144, 32, 4096, Model::Linear, false),
            (65_536, 16, 4096, Model::Logistic, false),
            (65_536, 16, 4096, Model::Linear, true),
        ]
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
    let epoch = plan.epoch(1);
    engine.set_epoch(&epoch).expect("order");
    let lrs = vec![plan.lr; epoch.batches.len()];
    c.bench_function(BenchmarkId::new(format!("{name}_step"), id), |b| {
        b.iter(|| {
            engine
                .run_steps(&epoch.batches[..1], &lrs[..1])
                .expect("step");
            engine.finish().expect("finish");
        })
    });
    c.bench_function(BenchmarkId::new(format!("{name}_epoch"), id), |b| {
        b.iter(|| {
            engine.set_epoch(&epoch).expect("order");
            engine.run_steps(&epoch.batches, &lrs).expect("epoch");
            engine.finish().expect("finish");
        })
    });
}

/// Times one epoch of the read-only kernel (read_rows.wgsl) over the same rows and order.
fn time_reads(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    gpu: &mut GpuEngine,
    plan: &BatchPlan,
) {
    let epoch = plan.epoch(1);
    c.bench_function(BenchmarkId::new("gpu_read_epoch", id), |b| {
        b.iter(|| {
            gpu.set_epoch(&epoch).expect("order");
            gpu.run_reads(&epoch.batches).expect("reads");
            gpu.finish().expect("finish");
        })
    });
}

fn bench(c: &mut Criterion) {
    let ctx = if std::env::var("GPU_REGFIT_SKIP_GPU").as_deref() == Ok("1") {
        eprintln!("GPU_REGFIT_SKIP_GPU=1: timing the CPU reference only");
        None
    } else {
        Some(GpuContext::new(None).unwrap_or_else(|e| {
            panic!(
                "the GPU benches need an adapter: {e} (GPU_REGFIT_SKIP_GPU=1 times the CPU only)"
            )
        }))
    };
    let mut group = c.benchmark_group("sgd");
    group.sample_size(10);
    for (rows, features, batch, model, streamed) in sizes() {
        let size = BenchSize {
            rows,
            features,
            batch,
            model,
            hidden: None,
        };
        let data = bench_data(&size).expect("valid size");
        let mut cfg = bench_config(&size);
        let id = format!(
            "{rows}x{features}/batch{batch}/{}{}",
            model.name(),
            if streamed { "/streamed" } else { "" }
        );
        let options = GpuOptions {
            // Twice the budget: the data streams through two chunk buffers.
            memory_budget: streamed.then(|| rows as u64 * device_row_bytes(features) / 2),
            ..GpuOptions::default()
        };
        if let Some(ctx) = &ctx {
            // Streamed: the CPU reference is timed on the same chunked order.
            let residency;
            (residency, cfg) = plan_fit(ctx, &options, &data, &cfg).expect("residency");
            let plan = BatchPlan::new(&cfg, rows);
            let mut gpu =
                GpuEngine::new(ctx, &data, None, &cfg, residency, &options).expect("gpu engine");
            let mut cpu = CpuEngine::new(&data, None, &cfg);
            check_one_epoch(&mut gpu, &mut cpu, &plan, &id).expect("GPU and CPU agree");
            time_engine(&mut group, "gpu", &id, &mut gpu, &plan);
            let one_dispatch = gpu.grad_kernel().1;
            time_reads(&mut group, &id, &mut gpu, &plan);
            drop(gpu);
            // The same steps with the kernel or the dispatch count that the policy did not pick.
            let mut variants = vec![(
                "gpu_tiles",
                GpuOptions {
                    grad_kernel: Some(GradKernel::Tiles),
                    ..options
                },
            )];
            if one_dispatch {
                variants.push((
                    "gpu_two_dispatch",
                    GpuOptions {
                        two_dispatch_steps: true,
                        ..options
                    },
                ));
            }
            for (name, variant) in variants {
                let mut gpu = GpuEngine::new(ctx, &data, None, &cfg, residency, &variant)
                    .expect("gpu engine");
                let mut cpu = CpuEngine::new(&data, None, &cfg);
                check_one_epoch(&mut gpu, &mut cpu, &plan, &id).expect("GPU and CPU agree");
                time_engine(&mut group, name, &id, &mut gpu, &plan);
            }
        }
        let plan = BatchPlan::new(&cfg, rows);
        let mut cpu = CpuEngine::new(&data, None, &cfg);
        time_engine(&mut group, "cpu", &id, &mut cpu, &plan);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
