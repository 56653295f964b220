//! `gpu-regfit path`: the regularization path, one model per λ from λ_max down, each solved by
//! apg and warm-started from the last (src/path.rs), written as path.json, a CSV and a plot.

use super::args::{ApgArgs, DataArgs, DeviceArgs, GridArgs, ModelArg};
use super::{check_png, load_data, STOP};
use crate::Outcome;
use anyhow::Context;
use clap::Args;
use gpu_regfit::error::Error;
use gpu_regfit::path::{self, LambdaGrid, PathProgress, PathSpec};
use gpu_regfit::report;
use gpu_regfit::report::path::{path_csv, write_path_plot, PathJson};
use gpu_regfit::report::plot;
use gpu_regfit::report::progress::{self, Bar};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct PathCmd {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, value_enum, default_value = "linear")]
    model: ModelArg,
    /// The penalty's mix, scikit-learn's l1_ratio: l1 = λ·R and l2 = λ·(1 − R)/2 (1: the lasso).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    l1_ratio: f64,
    #[command(flatten)]
    grid: GridArgs,
    /// Solve every λ of the grid (by default the path stops, as glmnet's, once the deviance
    /// explained grows by less than 1e-5 of itself or passes 0.999).
    #[arg(long)]
    no_early_stop: bool,
    #[command(flatten)]
    apg: ApgArgs,
    #[command(flatten)]
    device: DeviceArgs,
    /// path.json: one list per quantity (lambda, coef, intercept, nnz, objective, duality_gap,
    /// deviance_explained, ...), one entry per λ.
    #[arg(long)]
    out: PathBuf,
    /// Also one CSV row per λ: lambda, l1, l2, nnz, objective, duality_gap, deviance_explained,
    /// iterations, intercept(s), coefficients.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Draw every coefficient against log λ, with nnz on a top axis (PNG).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, short)]
    quiet: bool,
}

impl PathCmd {
    fn spec(&self) -> Result<PathSpec, Error> {
        let spec = PathSpec {
            l1_ratio: self.l1_ratio,
            grid: self.grid.grid()?,
            early_stop: !self.no_early_stop,
        };
        spec.validate()?;
        Ok(spec)
    }
}

pub(crate) fn run_path(cmd: PathCmd) -> anyhow::Result<Outcome> {
    let cfg = cmd.apg.config(cmd.model.model());
    let spec = cmd.spec()?;
    for path in [Some(&cmd.out), cmd.csv.as_ref()].into_iter().flatten() {
        report::check_writable(path)?;
    }
    if let Some(path) = &cmd.plot {
        check_png(path)?;
    }
    if cmd.data.validation.is_some() || cmd.data.validation_fraction.is_some() {
        return Err(Error::invalid(
            "validation",
            "given",
            "a path fits every row at every λ (use `gpu-regfit cv` to score held-out rows)",
        )
        .into());
    }
    let (data, _) = load_data(&cmd.data, &cfg)?;
    let mut solver = cmd.device.solver()?;
    let total = match &spec.grid {
        LambdaGrid::Auto { n, .. } => *n,
        LambdaGrid::Given(v) => v.len(),
    };
    let bar = Bar::new("path", total as u64, progress::visible(cmd.quiet));
    let mut observe = |p: &PathProgress| {
        bar.set(
            p.done as u64,
            format!(
                "λ {:.3e}  nnz {}  deviance explained {:.4}",
                p.point.lambda, p.point.nnz, p.point.deviance_explained
            ),
        )
    };
    let result = path::run(
        solver.as_mut(),
        &data,
        &cfg,
        &spec,
        Some(&STOP),
        Some(&mut observe),
    );
    bar.finish();
    let result = result?;
    let json = PathJson::new(&result, &data.names());
    let text = serde_json::to_string_pretty(&json).context("serializing the path")?;
    report::write_atomic(&cmd.out, text.as_bytes())?;
    if let Some(path) = &cmd.csv {
        report::write_atomic(path, &path_csv(&result, &data.names())?)?;
    }
    if let Some(path) = &cmd.plot {
        let title = plot::title(cfg.model, &data.source, " — path");
        write_path_plot(&result, &title, path)?;
    }
    let unconverged = result.points.iter().filter(|p| !p.converged).count();
    if unconverged > 0 {
        eprintln!(
            "warning: {unconverged} of {} λ values stopped at --max-iter above --tol; raise \
             --max-iter or --tol",
            result.points.len()
        );
    }
    let (first, last) = match (result.points.first(), result.points.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => {
            eprintln!(
                "interrupted before the first λ was solved; wrote {}",
                cmd.out.display()
            );
            return Ok(Outcome::Interrupted);
        }
    };
    println!(
        "path: {} of {} λ from {:.4e} (λ_max {:.4e}) to {:.4e}, l1_ratio {}; nnz {} → {}, \
         deviance explained {:.4} → {:.4}; {:.2} s on {}",
        result.points.len(),
        result.grid.len(),
        first.lambda,
        result.lambda_max,
        last.lambda,
        result.l1_ratio,
        first.nnz,
        last.nnz,
        first.deviance_explained,
        last.deviance_explained,
        result.seconds,
        result.device
    );
    match result.stopped_early.as_deref() {
        Some(gpu_regfit::fit::INTERRUPTED) => {
            eprintln!(
                "interrupted after {} λ; wrote {}",
                result.points.len(),
                cmd.out.display()
            );
            return Ok(Outcome::Interrupted);
        }
        Some(why) => println!("stopped early: {why} (--no-early-stop solves every λ)"),
        None => {}
    }
    println!("wrote {}", cmd.out.display());
    Ok(Outcome::Done)
}
