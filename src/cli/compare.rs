//! `compare`: the GPU solver and the CPU reference under one config, against the exact optimum.

use super::args::{default_batch_fits, DataArgs, GpuArgs, ModelArgs, ViewArgs};
use super::{check_png, load_data, note_interrupted, note_streaming, STOP};
use crate::Outcome;
use clap::Args;
use gpu_regfit::config::FitConfig;
use gpu_regfit::cpu::{exact, CpuSolver};
use gpu_regfit::data::{self, Dataset};
use gpu_regfit::error::Error;
use gpu_regfit::fit::{self, FitResult, ProgressUpdate, RunControl, Solver};
use gpu_regfit::gpu::GpuSolver;
use gpu_regfit::report::plot::{self, LossPlot};
use gpu_regfit::report::progress::{self, Bar};
use gpu_regfit::report::{self, CompareReport};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct CompareCmd {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long)]
    adapter: Option<String>,
    #[command(flatten)]
    gpu: GpuArgs,
    /// Write the comparison as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Both solvers' histories as one CSV (first column `solver`: gpu or cpu).
    #[arg(long)]
    history: Option<PathBuf>,
    #[command(flatten)]
    view: ViewArgs,
}

/// One solver's fit for `compare`, with its own progress bar.
fn compare_fit(
    solver: &mut dyn Solver,
    label: &str,
    data: &Dataset,
    validation: Option<&Dataset>,
    cfg: &FitConfig,
    quiet: bool,
) -> Result<FitResult, Error> {
    let bar = Bar::new(label, 0, progress::visible(quiet));
    let mut observe = |u: &ProgressUpdate| bar.fit_update(u);
    let mut control = RunControl {
        stop: Some(&STOP),
        observer: Some(&mut observe),
        ..RunControl::default()
    };
    let result = solver.fit_run(data, validation, cfg, &mut control);
    bar.finish();
    result
}

pub(crate) fn run_compare(cmd: CompareCmd) -> anyhow::Result<Outcome> {
    let mut cfg = cmd.model.config()?;
    for path in [&cmd.json, &cmd.history].into_iter().flatten() {
        report::check_writable(path)?;
    }
    if let Some(path) = &cmd.view.plot {
        check_png(path)?;
    }
    let (data, validation) = load_data(&cmd.data, &cfg)?;
    default_batch_fits(&mut cfg, &cmd.model, data.n_rows());
    fit::check_inputs(&data, validation.as_ref(), &cfg)?;
    let mut gpu = GpuSolver::new(cmd.adapter.as_deref())?.with_options(cmd.gpu.options());
    let mut cpu = CpuSolver::new();
    // Standardize once; both solvers and the exact solver see the same problem, and the report
    // compares on that scale.
    let (fitted_data, fitted_val) = if cfg.standardize {
        let mut scaled = data.clone();
        let s = data::Standardizer::fit_transform(&mut scaled);
        let val = validation.clone().map(|mut v| {
            s.transform(&mut v);
            v
        });
        (scaled, val)
    } else {
        (data.clone(), validation.clone())
    };
    let quiet = cmd.view.quiet;
    let gr = &compare_fit(
        &mut gpu,
        "gpu",
        &fitted_data,
        fitted_val.as_ref(),
        &cfg,
        quiet,
    )?;
    // When the GPU streamed, the CPU reference draws the same batches within the same chunks.
    note_streaming(gr.chunk_rows, &mut cfg);
    let cr = &compare_fit(
        &mut cpu,
        "cpu",
        &fitted_data,
        fitted_val.as_ref(),
        &cfg,
        quiet,
    )?;
    // A network's objective is not convex: there is no exact optimum to measure against.
    let ex = match cfg.network {
        Some(_) => None,
        None => Some(exact::solve_model(
            cfg.model,
            &fitted_data,
            &cfg.penalty,
            cfg.fit_intercept,
        )?),
    };
    let exact_objective = ex.as_ref().map_or(f64::NAN, |e| e.objective.total);
    let rel = |a: f64, b: f64| (a - b) / b.abs().max(f64::MIN_POSITIVE);
    let report = CompareReport {
        model: match cfg.network {
            Some(_) => format!("mlp ({})", cfg.model.name()),
            None => cfg.model.name().into(),
        },
        gpu_device: gr.device.clone(),
        cpu_device: cr.device.clone(),
        exact_method: ex
            .as_ref()
            .map_or_else(|| "none (a network)".to_string(), |e| e.method.to_string()),
        epochs: gr.epochs_run,
        gpu_seconds: gr.seconds,
        cpu_seconds: cr.seconds,
        gpu_seconds_per_epoch: gr.seconds_per_epoch(),
        cpu_seconds_per_epoch: cr.seconds_per_epoch(),
        speedup: cr.seconds / gr.seconds.max(f64::MIN_POSITIVE),
        coef_max_abs_diff: gr.weights.max_abs_diff(&cr.weights),
        loss_rel_diff: rel(gr.objective.total, cr.objective.total).abs(),
        gpu_objective: gr.objective.total,
        cpu_objective: cr.objective.total,
        exact_objective,
        objective_gap: rel(gr.objective.total, exact_objective),
        cpu_objective_gap: rel(cr.objective.total, exact_objective),
        gpu_train_accuracy: gr.train.accuracy,
        cpu_train_accuracy: cr.train.accuracy,
        gpu_val_accuracy: gr.validation.and_then(|v| v.accuracy),
        cpu_val_accuracy: cr.validation.and_then(|v| v.accuracy),
        interrupted: gr.interrupted() || cr.interrupted(),
        solver: cfg.solver.name().into(),
        gpu_duality_gap: gr.certificate.map(|c| c.gap),
        gpu_relative_gap: gr.certificate.map(|c| c.relative),
        cpu_duality_gap: cr.certificate.map(|c| c.gap),
        cpu_relative_gap: cr.certificate.map(|c| c.relative),
    };
    println!(
        "data:  {} ({} rows × {} features{})",
        data.source,
        data.n_rows(),
        data.n_features(),
        data.classes
            .as_ref()
            .map(|c| format!(", {} classes", c.len()))
            .unwrap_or_default()
    );
    println!("{}", report.table());
    if let Some(path) = &cmd.json {
        report::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    let runs: [(&str, &[fit::HistoryRow]); 2] = [("gpu", &gr.history), ("cpu", &cr.history)];
    if let Some(path) = &cmd.history {
        report::write_atomic(path, &report::history_csv(&runs)?)?;
    }
    if let Some(path) = &cmd.view.plot {
        let title = plot::title(cfg.model, &data.source, ", GPU and CPU");
        LossPlot::from_histories(&title, &runs).write(path)?;
    }
    if report.interrupted {
        note_interrupted(gr, &[&cmd.json, &cmd.history, &cmd.view.plot]);
        return Ok(Outcome::Interrupted);
    }
    Ok(Outcome::Done)
}
