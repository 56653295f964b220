//! `gpu-regfit bench`: epochs of minibatch SGD timed on the GPU solver and the CPU reference over a
//! matrix of sizes, with the device's own copy bandwidth measured in the same run, so every speed
//! is quoted next to what the hardware can do. Before any timing, one epoch of both engines from
//! the same start must agree (the numbers are worthless otherwise).

use crate::config::{BatchSize, FitConfig, L1Update, Model, Penalty};
use crate::cpu::{kernels, CpuEngine};
use crate::data::generate::{self, ClassificationSpec, LinearSpec};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::Engine;
use crate::gpu::buffers::plan_fit;
use crate::gpu::{GpuContext, GpuEngine, GpuOptions, Residency};
use crate::schedule::BatchPlan;
use serde::Serialize;
use std::time::Instant;

/// The default matrix: finishes in under 2 minutes on a 2-core CPU with lavapipe.
pub const DEFAULT_SIZES: &str = "50000x16x512,50000x16x8192,50000x128x512,50000x128x8192,\
200000x32x4096,50000x16x512:logistic,50000x128x8192:logistic,50000x16x512:softmax";

/// One entry of the matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BenchSize {
    pub rows: usize,
    pub features: usize,
    pub batch: usize,
    pub model: Model,
    /// `:mlp` (or `:mlpH`): a network with one hidden layer of H units (default 256) and a
    /// softmax over 3 classes.
    pub hidden: Option<usize>,
}

/// Hidden units of `:mlp` without a width.
pub const DEFAULT_BENCH_HIDDEN: usize = 256;

fn parse_count(s: &str) -> Option<usize> {
    let lower = s.trim().to_ascii_lowercase();
    let (num, scale) = match lower.strip_suffix('k') {
        Some(n) => (n, 1_000),
        None => match lower.strip_suffix('m') {
            Some(n) => (n, 1_000_000),
            None => (lower.as_str(), 1),
        },
    };
    let value: f64 = num.parse().ok()?;
    let v = value * scale as f64;
    (v >= 1.0 && v.fract() == 0.0 && v < 1e15).then_some(v as usize)
}

/// Parses `ROWSxFEATURES[xBATCH][:MODEL],...` (e.g. `1Mx128x4096,100kx16:logistic`); the batch
/// defaults to 4096 (or all rows when fewer) and the model to linear.
pub fn parse_sizes(spec: &str) -> Result<Vec<BenchSize>> {
    let bad = |entry: &str, why: &str| {
        Error::invalid(
            "sizes",
            entry,
            format!("{why}; expected ROWSxFEATURES[xBATCH][:MODEL], e.g. 100000x32x4096:logistic"),
        )
    };
    let mut sizes = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (dims, model) = match entry.split_once(':') {
            Some((d, m)) => (d, m),
            None => (entry, "linear"),
        };
        let mut hidden = None;
        let model = match model {
            "linear" => Model::Linear,
            "logistic" => Model::Logistic,
            "softmax" => Model::Softmax,
            m if m.starts_with("mlp") => {
                let width = match &m[3..] {
                    "" => DEFAULT_BENCH_HIDDEN,
                    w => parse_count(w)
                        .filter(|&h| h <= crate::network::MAX_WIDTH)
                        .ok_or_else(|| bad(entry, "mlpH takes a hidden width H ≥ 1"))?,
                };
                hidden = Some(width);
                Model::Softmax
            }
            _ => {
                return Err(bad(
                    entry,
                    "the model must be linear, logistic, softmax or mlp[H]",
                ))
            }
        };
        let parts: Vec<usize> = dims
            .split('x')
            .map(parse_count)
            .collect::<Option<_>>()
            .ok_or_else(|| bad(entry, "sizes must be whole numbers ≥ 1"))?;
        let (rows, features, batch) = match parts[..] {
            [r, f] => (r, f, 4096.min(r)),
            [r, f, b] => (r, f, b),
            _ => return Err(bad(entry, "two or three sizes")),
        };
        if batch > rows {
            return Err(bad(entry, "the batch is larger than the rows"));
        }
        sizes.push(BenchSize {
            rows,
            features,
            batch,
            model,
            hidden,
        });
    }
    if sizes.is_empty() {
        return Err(bad(spec, "no sizes"));
    }
    Ok(sizes)
}

/// One row of the report (the keys of `--json`).
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub rows: usize,
    pub features: usize,
    pub batch: usize,
    pub model: String,
    /// Wall-clock seconds of one epoch (order upload, steps, wait for the device).
    pub gpu_epoch_seconds: f64,
    pub cpu_epoch_seconds: f64,
    /// Bytes of X read per epoch (rows × features × 4) per GPU epoch second, in GB/s.
    pub gpu_gbps: f64,
    /// gpu_gbps / copy_gbps.
    pub copy_fraction: f64,
    /// cpu_epoch_seconds / gpu_epoch_seconds.
    pub speedup: f64,
    /// Device time of the epoch's compute passes from timestamp queries, when supported.
    pub gpu_kernel_seconds: Option<f64>,
    /// One full-batch gradient Xᵀr on the CPU reference (f64 accumulation, all threads).
    pub cpu_gradient_seconds: f64,
    /// The gradient kernel used: "rows" (one row per thread) or "tiles"; ", 1 dispatch" when
    /// each step is a single dispatch (step_rows).
    pub kernel: String,
    /// Seconds of one epoch of the read-only kernel: the same rows of X, in the same order and
    /// dispatch shape, only summed (the roofline of this size on this adapter).
    pub read_epoch_seconds: f64,
    /// Bytes of X per read-only epoch second, in GB/s.
    pub read_gbps: f64,
    /// gpu_gbps / read_gbps: how close the fused step comes to a plain read of its bytes.
    pub read_fraction: f64,
    /// With one dispatch per step: the same epochs with two (gradient, then update), timed in
    /// the same run; `gpu_epoch_seconds` / this is the gain in steps per second.
    pub two_dispatch_epoch_seconds: Option<f64>,
    /// Device time per step by kind of dispatch, from one dispatch per timed pass (timestamp
    /// queries), and the rest of the wall time per step (recording, submission, waits).
    pub step_breakdown: Option<StepBreakdown>,
    /// Training data streamed in chunks (it exceeds --gpu-memory-budget).
    pub streamed: bool,
    /// Row shards of X on the device (2 chunk slots when streamed).
    pub shards: usize,
}

/// Microseconds per step of one profiled run (`BenchResult::step_breakdown`).
#[derive(Clone, Debug, Serialize)]
pub struct StepBreakdown {
    /// Steps timed.
    pub steps: usize,
    /// Wall-clock microseconds per step of the profiled run.
    pub wall_us: f64,
    /// Device microseconds per step, by kind: "gradient", "update", "step" (both in one).
    pub kernels_us: Vec<(String, f64)>,
    /// wall_us minus every kernel's time: recording, submission, waits, launch gaps.
    pub other_us: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub device: crate::gpu::AdapterDesc,
    pub cpu: String,
    /// Device-to-device buffer copy, bytes copied per second, in GB/s.
    pub copy_gbps: f64,
    pub results: Vec<BenchResult>,
    /// Stopped by Ctrl-C or SIGTERM before every size was measured.
    #[serde(default)]
    pub interrupted: bool,
}

/// Bytes copied per second by one device buffer copy (the best of several rounds of 8 copies).
pub fn copy_bandwidth(ctx: &GpuContext) -> Result<f64> {
    let bytes = (256u64 << 20).min(ctx.limits.max_buffer_size / 2) & !3;
    use wgpu::BufferUsages as U;
    let make = |label| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: U::COPY_SRC | U::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let (a, b) = (make("copy source"), make("copy target"));
    let wait = || {
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::gpu(format!("waiting for the device failed: {e}")))
    };
    let mut best = f64::INFINITY;
    for round in 0..4 {
        let copies = if round == 0 { 1 } else { 8 };
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        for _ in 0..copies {
            encoder.copy_buffer_to_buffer(&a, 0, &b, 0, bytes);
        }
        let t = Instant::now();
        ctx.queue.submit([encoder.finish()]);
        wait()?;
        if round > 0 {
            best = best.min(t.elapsed().as_secs_f64() / copies as f64);
        }
    }
    ctx.check()?;
    Ok(bytes as f64 / best / 1e9)
}

/// The data of one entry: `gen linear` or `gen classification` with a fixed seed.
pub fn bench_data(size: &BenchSize) -> Result<Dataset> {
    let informative = size.features.min(8);
    Ok(match size.model {
        Model::Linear => {
            generate::linear(&LinearSpec {
                rows: size.rows,
                features: size.features,
                informative,
                noise: 1.0,
                seed: 0,
            })?
            .0
        }
        Model::Logistic | Model::Softmax => {
            generate::classification(&ClassificationSpec {
                rows: size.rows,
                features: size.features,
                informative,
                classes: if size.model == Model::Logistic { 2 } else { 3 },
                separation: 1.0,
                seed: 0,
            })?
            .0
        }
    })
}

/// The config every entry runs: SGD with elastic net, l1 by prox; a network: SGD with momentum
/// 0.9 and L2 1e-4 on every layer (the PyTorch baseline's setup).
pub fn bench_config(size: &BenchSize) -> FitConfig {
    if let Some(h) = size.hidden {
        return FitConfig {
            model: Model::Softmax,
            penalty: Penalty {
                l2: 1e-4,
                ..Penalty::default()
            },
            optimizer: crate::config::Optimizer::Momentum,
            momentum: 0.9,
            lr: 0.01,
            batch_size: BatchSize::Rows(size.batch),
            network: Some(crate::network::NetworkSpec {
                hidden: vec![h],
                activation: crate::network::Activation::Relu,
                init: crate::network::Init::He,
                layer_penalties: Vec::new(),
            }),
            ..FitConfig::default()
        };
    }
    FitConfig {
        model: size.model,
        penalty: Penalty {
            l1: 1e-4,
            l2: 1e-4,
            ..Penalty::default()
        },
        l1_update: L1Update::Prox,
        lr: 0.01,
        batch_size: BatchSize::Rows(size.batch),
        ..FitConfig::default()
    }
}

/// Runs epochs `first..` on `engine` until `min_seconds` have passed (at least one, at most 20)
/// and returns the mean seconds per epoch.
fn time_epochs(
    engine: &mut dyn Engine,
    plan: &BatchPlan,
    first: usize,
    min_seconds: f64,
) -> Result<(f64, usize)> {
    let start = Instant::now();
    let mut epochs = 0;
    while epochs == 0 || (start.elapsed().as_secs_f64() < min_seconds && epochs < 20) {
        let epoch = plan.epoch(first + epochs);
        engine.set_epoch(&epoch)?;
        let lrs = vec![plan.lr; epoch.batches.len()];
        engine.run_steps(&epoch.batches, &lrs)?;
        engine.finish()?;
        epochs += 1;
    }
    Ok((start.elapsed().as_secs_f64() / epochs as f64, epochs))
}

/// Mean seconds of one epoch of the read-only kernel (after one untimed epoch), for at least
/// `min_seconds` (at most 20 epochs).
fn time_reads(gpu: &mut GpuEngine, plan: &BatchPlan, min_seconds: f64) -> Result<f64> {
    let mut run = |e: usize| -> Result<()> {
        let epoch = plan.epoch(e);
        gpu.set_epoch(&epoch)?;
        gpu.run_reads(&epoch.batches)?;
        gpu.finish()
    };
    run(0)?;
    let start = Instant::now();
    let mut epochs = 0;
    while epochs == 0 || (start.elapsed().as_secs_f64() < min_seconds && epochs < 20) {
        run(1 + epochs)?;
        epochs += 1;
    }
    Ok(start.elapsed().as_secs_f64() / epochs as f64)
}

/// Steps of the profiled run: few enough that every pass fits one query set.
const PROFILED_STEPS: usize = 400;

/// Times up to PROFILED_STEPS steps with one dispatch per timed pass and splits each step's
/// time by kind of dispatch (None without timestamp queries).
fn profile_steps(gpu: &mut GpuEngine, plan: &BatchPlan) -> Result<Option<StepBreakdown>> {
    if !gpu.enable_timer(true) {
        return Ok(None);
    }
    let epoch = plan.epoch(1);
    let steps = epoch.batches.len().min(PROFILED_STEPS);
    gpu.set_epoch(&epoch)?;
    gpu.finish()?;
    gpu.gpu_seconds_by_kind()?;
    let start = Instant::now();
    gpu.run_steps(&epoch.batches[..steps], &vec![plan.lr; steps])?;
    gpu.finish()?;
    let wall = start.elapsed().as_secs_f64();
    let Some(kinds) = gpu.gpu_seconds_by_kind()? else {
        return Ok(None);
    };
    let per_step = |s: f64| s * 1e6 / steps as f64;
    let kernels: f64 = kinds.iter().map(|(_, s)| s).sum();
    Ok(Some(StepBreakdown {
        steps,
        wall_us: per_step(wall),
        other_us: per_step(wall - kernels),
        kernels_us: kinds
            .into_iter()
            .map(|(k, s)| (k.to_string(), per_step(s)))
            .collect(),
    }))
}

/// One warm-up epoch on an engine, then its weights.
fn warm_up(engine: &mut dyn Engine, plan: &BatchPlan) -> Result<crate::weights::Weights> {
    let epoch = plan.epoch(0);
    engine.set_epoch(&epoch)?;
    engine.run_steps(&epoch.batches, &vec![plan.lr; epoch.batches.len()])?;
    Ok(engine.log_point()?.weights)
}

/// The check before any timing: one epoch from zero on the GPU and the CPU engine must agree
/// within 1e-3 of the largest weight. Returns the largest difference, or an error naming `what`.
pub fn check_one_epoch(
    gpu: &mut dyn Engine,
    cpu: &mut dyn Engine,
    plan: &BatchPlan,
    what: &str,
) -> Result<f64> {
    let gw = warm_up(gpu, plan)?;
    let cw = warm_up(cpu, plan)?;
    let scale = cw.values.iter().fold(1e-3, |m: f64, v| m.max(v.abs()));
    let diff = gw.max_abs_diff(&cw);
    if diff.is_nan() || diff > 1e-3 * scale {
        return Err(Error::gpu(format!(
            "bench {what}: GPU and CPU weights differ by {diff:e} after one epoch; not timing"
        )));
    }
    Ok(diff)
}

/// Seconds of one full-batch gradient on the CPU reference (the best of 3).
pub fn cpu_gradient_seconds(data: &Dataset, model: Model) -> f64 {
    let n = data.n_rows();
    let w = crate::weights::Weights::zeros(model.outputs(data.n_classes()), data.n_features());
    let order: Vec<u32> = (0..n as u32).collect();
    let mut out = vec![0.0; w.values.len()];
    (0..3)
        .map(|_| {
            let t = Instant::now();
            kernels::grad_partials(
                model,
                data,
                &order,
                crate::schedule::Batch { start: 0, rows: n },
                &w,
                &mut out,
            );
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Measures one entry: correctness first (one epoch of GPU and CPU from zero agree within
/// 1e-3 relative), then GPU and CPU epochs for at least `min_seconds` each.
pub fn run_one(
    ctx: &GpuContext,
    options: &GpuOptions,
    size: &BenchSize,
    data: &Dataset,
    min_seconds: f64,
    copy_gbps: f64,
) -> Result<BenchResult> {
    if size.hidden.is_some() {
        return run_one_network(ctx, size, data, min_seconds, copy_gbps);
    }
    let (residency, cfg) = plan_fit(ctx, options, data, &bench_config(size))?;
    let plan = BatchPlan::new(&cfg, data.n_rows());
    let mut gpu = GpuEngine::new(ctx, data, None, &cfg, residency, options)?;
    let mut cpu = CpuEngine::new(data, None, &cfg);
    let what = format!(
        "{}x{}x{} {}",
        size.rows,
        size.features,
        size.batch,
        size.model.name()
    );
    check_one_epoch(&mut gpu, &mut cpu, &plan, &what)?;
    let timed = gpu.enable_timer(false);
    let (gpu_s, gpu_epochs) = time_epochs(&mut gpu, &plan, 1, min_seconds)?;
    let kernel_s = if timed {
        gpu.gpu_seconds()?.map(|s| s / gpu_epochs as f64)
    } else {
        None
    };
    let read_s = time_reads(&mut gpu, &plan, min_seconds)?;
    let step_breakdown = profile_steps(&mut gpu, &plan)?;
    let (kernel, one_dispatch) = gpu.grad_kernel();
    let shards = gpu.train_shards();
    drop(gpu);
    // The same epochs with two dispatches per step, for the single-dispatch gain.
    let two_dispatch_s = if one_dispatch {
        let two = GpuOptions {
            two_dispatch_steps: true,
            ..*options
        };
        let mut gpu2 = GpuEngine::new(ctx, data, None, &cfg, residency, &two)?;
        warm_up(&mut gpu2, &plan)?;
        Some(time_epochs(&mut gpu2, &plan, 1, min_seconds)?.0)
    } else {
        None
    };
    let (cpu_s, _) = time_epochs(&mut cpu, &plan, 1, min_seconds)?;
    let bytes = (data.n_rows() * data.n_features() * 4) as f64;
    let gbps = bytes / gpu_s / 1e9;
    let read_gbps = bytes / read_s / 1e9;
    Ok(BenchResult {
        rows: size.rows,
        features: size.features,
        batch: size.batch,
        model: size.model.name().into(),
        gpu_epoch_seconds: gpu_s,
        cpu_epoch_seconds: cpu_s,
        gpu_gbps: gbps,
        copy_fraction: gbps / copy_gbps,
        speedup: cpu_s / gpu_s,
        gpu_kernel_seconds: kernel_s,
        cpu_gradient_seconds: cpu_gradient_seconds(data, size.model),
        kernel: format!(
            "{}{}",
            match kernel {
                crate::gpu::layout::GradKernel::Tiles => "tiles",
                crate::gpu::layout::GradKernel::Rows => "rows",
            },
            if one_dispatch { ", 1 dispatch" } else { "" }
        ),
        read_epoch_seconds: read_s,
        read_gbps,
        read_fraction: gbps / read_gbps,
        two_dispatch_epoch_seconds: two_dispatch_s,
        step_breakdown,
        streamed: matches!(residency, Residency::Streamed { .. }),
        shards,
    })
}

/// A network entry: the same check (one epoch of GPU and CPU from the same initialization agree
/// within 1e-3 of the largest weight), then epochs of each. GB/s counts X once per epoch, the
/// activations stay on the device.
fn run_one_network(
    ctx: &GpuContext,
    size: &BenchSize,
    data: &Dataset,
    min_seconds: f64,
    copy_gbps: f64,
) -> Result<BenchResult> {
    let cfg = bench_config(size);
    cfg.validate(data.n_rows())?;
    let plan = BatchPlan::new(&cfg, data.n_rows());
    let mut gpu = crate::gpu::mlp::GpuMlpEngine::new(ctx, data, None, &cfg, size.batch)?;
    let mut cpu = crate::cpu::mlp::MlpCpuEngine::new(data, None, &cfg);
    let what = format!(
        "{}x{}x{} mlp{}",
        size.rows,
        size.features,
        size.batch,
        size.hidden.unwrap_or_default()
    );
    check_one_epoch(&mut gpu, &mut cpu, &plan, &what)?;
    let (gpu_s, _) = time_epochs(&mut gpu, &plan, 1, min_seconds)?;
    let (cpu_s, _) = time_epochs(&mut cpu, &plan, 1, min_seconds)?;
    let bytes = (data.n_rows() * data.n_features() * 4) as f64;
    let gbps = bytes / gpu_s / 1e9;
    Ok(BenchResult {
        rows: size.rows,
        features: size.features,
        batch: size.batch,
        model: format!("mlp{}", size.hidden.unwrap_or_default()),
        gpu_epoch_seconds: gpu_s,
        cpu_epoch_seconds: cpu_s,
        gpu_gbps: gbps,
        copy_fraction: gbps / copy_gbps,
        speedup: cpu_s / gpu_s,
        gpu_kernel_seconds: None,
        cpu_gradient_seconds: f64::NAN,
        kernel: "mlp tiles".into(),
        read_epoch_seconds: f64::NAN,
        read_gbps: f64::NAN,
        read_fraction: f64::NAN,
        two_dispatch_epoch_seconds: None,
        step_breakdown: None,
        streamed: false,
        shards: 1,
    })
}

impl BenchReport {
    /// The table `gpu-regfit bench` prints.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "device: {}", self.device.label());
        let _ = writeln!(out, "cpu:    {}", self.cpu);
        let _ = writeln!(out, "copy bandwidth: {:.2} GB/s\n", self.copy_gbps);
        let _ = writeln!(
            out,
            "{:>9} {:>5} {:>6} {:<9} {:>12} {:>12} {:>8} {:>7} {:>8} {:>7} {:>7} {:<16}",
            "rows",
            "d",
            "batch",
            "model",
            "gpu s/epoch",
            "cpu s/epoch",
            "speedup",
            "GB/s",
            "of copy",
            "read",
            "of read",
            "kernel"
        );
        for r in &self.results {
            let _ = writeln!(
                out,
                "{:>9} {:>5} {:>6} {:<9} {:>12.5} {:>12.5} {:>7.2}x {:>7.2} {:>7.1}% {:>7.2} {:>6.0}% {:<16}",
                r.rows,
                r.features,
                r.batch,
                r.model,
                r.gpu_epoch_seconds,
                r.cpu_epoch_seconds,
                r.speedup,
                r.gpu_gbps,
                100.0 * r.copy_fraction,
                r.read_gbps,
                100.0 * r.read_fraction,
                format!("{}{}", r.kernel, if r.streamed { ", streamed" } else { "" })
            );
        }
        let gains: Vec<String> = self
            .results
            .iter()
            .filter_map(|r| {
                r.two_dispatch_epoch_seconds.map(|two| {
                    format!(
                        "{}x{}x{}: {:.2}x",
                        r.rows,
                        r.features,
                        r.batch,
                        two / r.gpu_epoch_seconds
                    )
                })
            })
            .collect();
        if !gains.is_empty() {
            let _ = writeln!(
                out,
                "\none dispatch per step vs two (steps per second): {}",
                gains.join(", ")
            );
        }
        let split: Vec<String> = self
            .results
            .iter()
            .filter_map(|r| {
                r.step_breakdown.as_ref().map(|b| {
                    let kernels: Vec<String> = b
                        .kernels_us
                        .iter()
                        .map(|(k, us)| format!("{k} {us:.0}"))
                        .collect();
                    format!(
                        "  {}x{}x{} {}: {:.0} µs = {}, other {:.0}",
                        r.rows,
                        r.features,
                        r.batch,
                        r.model,
                        b.wall_us,
                        kernels.join(", "),
                        b.other_us
                    )
                })
            })
            .collect();
        if !split.is_empty() {
            let _ = writeln!(
                out,
                "\nper step, one dispatch per timed pass (µs):\n{}",
                split.join("\n")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_sizes_name_the_entry() {
        let s = parse_sizes("1Mx128x4096, 100kx16:logistic,10x3").unwrap();
        assert_eq!(
            s[0],
            BenchSize {
                rows: 1_000_000,
                features: 128,
                batch: 4096,
                model: Model::Linear,
                hidden: None,
            }
        );
        assert_eq!(
            (s[1].rows, s[1].batch, s[1].model),
            (100_000, 4096, Model::Logistic)
        );
        assert_eq!(s[2].batch, 10);
        assert_eq!(parse_sizes(DEFAULT_SIZES).unwrap().len(), 8);
        for bad in ["", "10", "10x0", "10x3x20", "10x3:ridge", "axb"] {
            let e = parse_sizes(bad).unwrap_err().to_string();
            assert!(e.contains("sizes"), "{bad}: {e}");
        }
    }
}

/// The cost of one block pass (src/block.rs): the losses and gradients of K models, each on a
/// part of a 5-fold split, from one read of X; on the GPU (shaders/block_rows.wgsl, with its
/// uploads of the K weight vectors and readback of their sums) and on the CPU (its twin).
#[derive(Clone, Debug, Serialize)]
pub struct BlockPassResult {
    pub rows: usize,
    pub features: usize,
    pub model: Model,
    pub models: usize,
    pub gpu_pass_seconds: f64,
    pub cpu_pass_seconds: f64,
    /// Seconds per pass over those of K = the first K measured (1 in the default list).
    pub gpu_vs_first: f64,
    pub cpu_vs_first: f64,
}

/// Times one block pass at each K of `models` (each at least `min_seconds`, after a warm-up).
pub fn block_passes(
    ctx: std::sync::Arc<GpuContext>,
    size: &BenchSize,
    data: &Dataset,
    models: &[usize],
    min_seconds: f64,
) -> Result<Vec<BlockPassResult>> {
    use crate::block::{BlockEngine, Parts};
    use crate::weights::Weights;
    let parts = Parts::new(data, crate::data::split::kfold(data, 5, 0)?)?;
    let outputs = size.model.outputs(data.n_classes());
    let d = data.n_features();
    let mut gpu = crate::gpu::block::GpuBlockEngine::new(ctx, size.model, &parts)?;
    let mut cpu = crate::cpu::block::RowsEngine::new(size.model, &parts);
    let time = |engine: &mut dyn BlockEngine, points: &[(usize, &Weights)]| -> Result<f64> {
        engine.gradients(points, false)?;
        let (start, mut n) = (Instant::now(), 0u32);
        while n == 0 || start.elapsed().as_secs_f64() < min_seconds {
            engine.gradients(points, false)?;
            n += 1;
        }
        Ok(start.elapsed().as_secs_f64() / n as f64)
    };
    let mut out: Vec<BlockPassResult> = Vec::new();
    for &k in models {
        let weights: Vec<Weights> = (0..k)
            .map(|m| {
                let values = (0..outputs * (d + 1))
                    .map(|i| (((i + 3 * m) % 13) as f64 - 6.0) / 60.0)
                    .collect();
                Weights::from_values(outputs, d, values)
            })
            .collect();
        let points: Vec<(usize, &Weights)> = weights
            .iter()
            .enumerate()
            .map(|(m, w)| (m % parts.data.len(), w))
            .collect();
        let g = time(&mut gpu, &points)?;
        let c = time(&mut cpu, &points)?;
        let (g1, c1) = out
            .first()
            .map_or((g, c), |f| (f.gpu_pass_seconds, f.cpu_pass_seconds));
        out.push(BlockPassResult {
            rows: size.rows,
            features: size.features,
            model: size.model,
            models: k,
            gpu_pass_seconds: g,
            cpu_pass_seconds: c,
            gpu_vs_first: g / g1,
            cpu_vs_first: c / c1,
        });
    }
    Ok(out)
}
