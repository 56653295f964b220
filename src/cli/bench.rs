//! `bench`: epoch timings of the GPU solver and the CPU reference over a matrix of sizes.

use super::args::GpuArgs;
use super::STOP;
use crate::Outcome;
use clap::Args;
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::error::Error;
use gpu_regfit::fit::Solver;
use gpu_regfit::report;
use gpu_regfit::report::progress::{self, Bar};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

#[derive(Args)]
pub(crate) struct BenchCmd {
    /// Sizes to measure: ROWSxFEATURES[xBATCH][:MODEL], comma-separated (e.g.
    /// 1Mx128x4096,100kx16:logistic). Default: a matrix that takes under 2 minutes on 2 CPU cores
    /// with the software adapter.
    #[arg(long)]
    sizes: Option<String>,
    /// Seconds to time each engine per size (at least one epoch).
    #[arg(long, default_value_t = 0.5)]
    min_seconds: f64,
    /// Instead of epochs, time one block pass (the gradients of K models from one read of X, as
    /// `cv` and the path make them) at each K of this list, e.g. 1,4,16,64, for each size.
    #[arg(long, value_delimiter = ',')]
    block_models: Option<Vec<usize>>,
    /// Write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long)]
    adapter: Option<String>,
    #[command(flatten)]
    gpu: GpuArgs,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn run_bench(cmd: BenchCmd) -> anyhow::Result<Outcome> {
    use gpu_regfit::bench;
    let sizes = bench::parse_sizes(cmd.sizes.as_deref().unwrap_or(bench::DEFAULT_SIZES))?;
    if !(cmd.min_seconds.is_finite() && cmd.min_seconds >= 0.0) {
        return Err(Error::invalid("min-seconds", cmd.min_seconds, "must be a number ≥ 0").into());
    }
    if let Some(path) = &cmd.json {
        report::check_writable(path)?;
    }
    let ctx = gpu_regfit::gpu::GpuContext::new(cmd.adapter.as_deref())?;
    if let Some(models) = &cmd.block_models {
        return run_block_bench(ctx, &sizes, models, &cmd);
    }
    let options = cmd.gpu.options();
    let copy_gbps = bench::copy_bandwidth(&ctx)?;
    eprintln!(
        "{}: copy bandwidth {copy_gbps:.2} GB/s; {} sizes",
        ctx.adapter.label(),
        sizes.len()
    );
    let mut results = Vec::new();
    let bar = Bar::new("size", sizes.len() as u64, progress::visible(cmd.quiet));
    let mut interrupted = false;
    for (i, size) in sizes.iter().enumerate() {
        if STOP.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        bar.set(
            i as u64,
            format!(
                "{}x{} batch {} {}",
                size.rows,
                size.features,
                size.batch,
                size.hidden
                    .map_or_else(|| size.model.name().to_string(), |h| format!("mlp{h}"))
            ),
        );
        let data = bench::bench_data(size)?;
        let r = bench::run_one(&ctx, &options, size, &data, cmd.min_seconds, copy_gbps)?;
        bar.println(&format!(
            "[{}/{}] {}x{} batch {} {}: gpu {:.5} s/epoch, cpu {:.5} s/epoch ({:.2}x), {:.2} GB/s ({:.0}% of read)",
            i + 1,
            sizes.len(),
            size.rows,
            size.features,
            size.batch,
            r.model,
            r.gpu_epoch_seconds,
            r.cpu_epoch_seconds,
            r.speedup,
            r.gpu_gbps,
            100.0 * r.read_fraction
        ));
        results.push(r);
    }
    bar.finish();
    let report = bench::BenchReport {
        device: ctx.adapter.clone(),
        cpu: CpuSolver::new().device(),
        copy_gbps,
        results,
        interrupted,
    };
    print!("{}", report.table());
    if let Some(path) = &cmd.json {
        report::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    if interrupted {
        eprintln!(
            "interrupted after {} of {} sizes",
            report.results.len(),
            sizes.len()
        );
        return Ok(Outcome::Interrupted);
    }
    Ok(Outcome::Done)
}

/// `bench --block-models K,...`: seconds per block pass at each K, GPU and CPU, and their ratios
/// to the first K.
fn run_block_bench(
    ctx: gpu_regfit::gpu::GpuContext,
    sizes: &[gpu_regfit::bench::BenchSize],
    models: &[usize],
    cmd: &BenchCmd,
) -> anyhow::Result<Outcome> {
    use gpu_regfit::bench;
    if models.is_empty() || models.contains(&0) {
        return Err(Error::invalid("block-models", 0, "every K must be at least 1").into());
    }
    let device = ctx.adapter.clone();
    let ctx = std::sync::Arc::new(ctx);
    let mut results = Vec::new();
    println!(
        "rows\tfeatures\tmodel\tK\tgpu s/pass\tcpu s/pass\tgpu vs K={0}\tcpu vs K={0}",
        models[0]
    );
    for size in sizes {
        if STOP.load(Ordering::SeqCst) {
            return Ok(Outcome::Interrupted);
        }
        let data = bench::bench_data(size)?;
        for r in bench::block_passes(ctx.clone(), size, &data, models, cmd.min_seconds)? {
            println!(
                "{}\t{}\t{}\t{}\t{:.6}\t{:.6}\t{:.2}\t{:.2}",
                r.rows,
                r.features,
                r.model.name(),
                r.models,
                r.gpu_pass_seconds,
                r.cpu_pass_seconds,
                r.gpu_vs_first,
                r.cpu_vs_first
            );
            results.push(r);
        }
    }
    if let Some(path) = &cmd.json {
        let report = serde_json::json!({
            "device": device,
            "cpu": CpuSolver::new().device(),
            "block_passes": results,
        });
        report::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    Ok(Outcome::Done)
}
