//! `gpu-regfit cv`: k-fold cross-validation along the regularization path (src/cv.rs), written
//! as cv.json, a model file refitted at the chosen λ, and cv.glmnet's plot.

use super::args::{ApgArgs, DataArgs, DeviceArgs, GridArgs, ModelArg};
use super::{check_png, load_data, STOP};
use crate::Outcome;
use anyhow::Context;
use clap::{Args, ValueEnum};
use gpu_regfit::cv::{self, CvSpec, Folds, Scoring, Select};
use gpu_regfit::data::split::given_folds;
use gpu_regfit::data::weights::read_numbers;
use gpu_regfit::error::Error;
use gpu_regfit::path::LambdaGrid;
use gpu_regfit::report::cv::{write_cv_plot, CvJson};
use gpu_regfit::report::progress::{self, Bar};
use gpu_regfit::report::{self, plot, ModelJson};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
enum ScoringArg {
    Mse,
    Deviance,
    Accuracy,
    Auc,
}

#[derive(Clone, Copy, ValueEnum)]
enum SelectArg {
    Min,
    #[value(name = "1se")]
    OneSe,
}

#[derive(Args)]
pub(crate) struct CvCmd {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, value_enum, default_value = "linear")]
    model: ModelArg,
    /// Number of folds: rows shuffled by --fold-seed and dealt in turn (per class for
    /// classifiers, so the folds are stratified).
    #[arg(long, default_value_t = 5, conflicts_with = "folds_file")]
    folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 0, conflicts_with = "folds_file")]
    fold_seed: u64,
    /// One integer fold id per row (text, one a line, or a 1-D .npy), e.g. scikit-learn's
    /// KFold test indices; ids are renumbered in increasing order.
    #[arg(long)]
    folds_file: Option<PathBuf>,
    /// The penalty's mix, scikit-learn's l1_ratio (l1 = λ·R, l2 = λ·(1 − R)/2); several
    /// (comma-separated) are cross-validated together, each on its own grid.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1",
        allow_negative_numbers = true
    )]
    l1_ratio: Vec<f64>,
    #[command(flatten)]
    grid: GridArgs,
    /// Held-out score [default: mse for linear, deviance for classifiers, as glmnet].
    #[arg(long, value_enum)]
    scoring: Option<ScoringArg>,
    /// The λ of the refitted model: the best mean score (min) or the largest λ within one
    /// standard error of it (1se).
    #[arg(long, value_enum, default_value = "min")]
    select: SelectArg,
    /// Models per pass over X [default: the device's preference; at least one λ of every fold].
    #[arg(long)]
    block: Option<usize>,
    #[command(flatten)]
    apg: ApgArgs,
    #[command(flatten)]
    device: DeviceArgs,
    /// cv.json: lambda, cv_mean, cv_se, nnz, lambda_min, l1_ratio_min, lambda_1se, selected,
    /// and every l1 ratio's curve.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The model refitted on every row at the selected λ (the model file of `fit --out`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// cv.glmnet's plot: the mean score ± one standard error against log λ (PNG).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, short)]
    quiet: bool,
}

impl CvCmd {
    fn spec(&self) -> Result<CvSpec, Error> {
        let folds = match &self.folds_file {
            Some(file) => Folds::Given(given_folds(
                &read_numbers(file, "a fold id")?,
                &file.display().to_string(),
            )?),
            None => Folds::Seeded {
                k: self.folds,
                seed: self.fold_seed,
            },
        };
        Ok(CvSpec {
            folds,
            l1_ratios: self.l1_ratio.clone(),
            grid: self.grid.grid()?,
            scoring: self.scoring.map(|s| match s {
                ScoringArg::Mse => Scoring::Mse,
                ScoringArg::Deviance => Scoring::Deviance,
                ScoringArg::Accuracy => Scoring::Accuracy,
                ScoringArg::Auc => Scoring::Auc,
            }),
            select: match self.select {
                SelectArg::Min => Select::Min,
                SelectArg::OneSe => Select::OneSe,
            },
            block: self.block,
        })
    }
}

pub(crate) fn run_cv(cmd: CvCmd) -> anyhow::Result<Outcome> {
    let cfg = cmd.apg.config(cmd.model.model());
    let spec = cmd.spec()?;
    for path in [cmd.json.as_ref(), cmd.out.as_ref()].into_iter().flatten() {
        report::check_writable(path)?;
    }
    if let Some(path) = &cmd.plot {
        check_png(path)?;
    }
    if cmd.data.validation.is_some() || cmd.data.validation_fraction.is_some() {
        return Err(Error::invalid(
            "validation",
            "given",
            "cv holds out each fold in turn; --validation and --validation-fraction do not apply",
        )
        .into());
    }
    let (data, _) = load_data(&cmd.data, &cfg)?;
    if let Folds::Given(ids) = &spec.folds {
        if ids.len() != data.n_rows() {
            return Err(Error::invalid(
                "folds-file",
                format!("{} fold ids", ids.len()),
                format!("needs one per row of the data ({} rows)", data.n_rows()),
            )
            .into());
        }
    }
    let mut solver = cmd.device.solver()?;
    let total = match &spec.grid {
        LambdaGrid::Auto { n, .. } => *n,
        LambdaGrid::Given(v) => v.len(),
    };
    let bar = Bar::new("cv", total as u64, progress::visible(cmd.quiet));
    let mut observe = |done: usize, _total: usize| bar.set(done as u64, String::new());
    let result = cv::run(
        solver.as_mut(),
        &data,
        &cfg,
        &spec,
        Some(&STOP),
        Some(&mut observe),
    );
    bar.finish();
    let Some(result) = result? else {
        eprintln!("interrupted: a cross-validation needs every λ; nothing written");
        return Ok(Outcome::Interrupted);
    };
    if let Some(path) = &cmd.json {
        let text = serde_json::to_string_pretty(&CvJson::new(&result))
            .context("serializing the cross-validation")?;
        report::write_atomic(path, text.as_bytes())?;
    }
    let model = ModelJson::new(&result.refit, &result.refit_config, &data, None);
    if let Some(path) = &cmd.out {
        let text = serde_json::to_string_pretty(&model).context("serializing the model")?;
        report::write_atomic(path, text.as_bytes())?;
    }
    if let Some(path) = &cmd.plot {
        let title = plot::title(cfg.model, &data.source, " — cv");
        write_cv_plot(&result, &title, path)?;
    }
    let unconverged: usize = result.curves.iter().map(|c| c.not_converged).sum();
    if unconverged > 0 {
        eprintln!(
            "warning: {unconverged} of the (fold, λ) models stopped at --max-iter above --tol; \
             raise --max-iter or --tol"
        );
    }
    let best = &result.curves[result.best.0];
    println!(
        "cv: {} folds × {} λ{}, {} {}; lambda_min {:.6e}{} ({} {:.6}, nnz {}), lambda_1se {:.6e} \
         (nnz {}); {} block passes of up to {} models; {:.2} s on {}",
        result.folds,
        best.lambda.len(),
        if result.curves.len() > 1 {
            format!(" × {} l1 ratios", result.curves.len())
        } else {
            String::new()
        },
        result.scoring.name(),
        if result.scoring.higher_is_better() {
            "(higher is better)"
        } else {
            "(lower is better)"
        },
        result.lambda_min(),
        if result.curves.len() > 1 {
            format!(" at l1_ratio {}", result.l1_ratio_min())
        } else {
            String::new()
        },
        result.scoring.name(),
        best.cv_mean[result.best.1],
        best.nnz[result.best.1],
        result.lambda_1se(),
        best.nnz[result.one_se],
        result.passes,
        result.block,
        result.seconds,
        result.device
    );
    println!(
        "refit at lambda_{} = {:.6e} on every row: nnz {}, relative gap {}",
        result.select.name(),
        result.selected_lambda(),
        model.nnz,
        model
            .relative_gap
            .map_or("none".into(), |g| format!("{g:.2e}"))
    );
    for path in [cmd.json.as_ref(), cmd.out.as_ref(), cmd.plot.as_ref()]
        .into_iter()
        .flatten()
    {
        println!("wrote {}", path.display());
    }
    Ok(Outcome::Done)
}
