//! The `gpu-regfit` command line: parse flags into a validated config, run, map errors to exit
//! codes (2 bad input, 3 diverged, 4 device failure, 1 other). anyhow is used only here.

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty};
use gpu_regfit::cpu::{exact, CpuSolver};
use gpu_regfit::data::{self, generate, Dataset};
use gpu_regfit::error::Error;
use gpu_regfit::fit::{self, Solver};
use gpu_regfit::gpu::{list_adapters, GpuSolver};
use gpu_regfit::report::{self, CompareReport, FitSummary, ModelJson};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gpu-regfit",
    version,
    about = "L1/L2/elastic-net regression by minibatch gradient descent on any GPU (wgpu), checked against a CPU reference and the exact optimum"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit a model and write it (model JSON, history CSV).
    Fit(FitCmd),
    /// Fit with the GPU solver and the CPU reference under one config, plus the exact optimum.
    Compare(CompareCmd),
    /// Generate synthetic data.
    #[command(subcommand)]
    Gen(GenCmd),
    /// List the GPU adapters wgpu can see.
    Devices(DevicesCmd),
}

#[derive(Args)]
struct DataArgs {
    /// Data file: .csv (header row) or .npy (X; y from --target-file). Default: a built-in problem.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Target column of a CSV file (default: the last column).
    #[arg(long)]
    target: Option<String>,
    /// y for .npy data (default: <data stem>.target.npy).
    #[arg(long)]
    target_file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelArg {
    Linear,
}

#[derive(Clone, Copy, ValueEnum)]
enum L1UpdateArg {
    Sign,
    Prox,
}

#[derive(Clone, Copy, ValueEnum)]
enum OptimizerArg {
    Sgd,
    Momentum,
}

#[derive(Args)]
struct ModelArgs {
    #[arg(long, value_enum, default_value = "linear")]
    model: ModelArg,
    /// Weight of l1·‖w‖₁.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    l1: f64,
    /// Weight of l2·‖w‖₂².
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    l2: f64,
    /// scikit-learn spelling: l1 = alpha·l1_ratio, l2 = alpha·(1 − l1_ratio)/2.
    #[arg(long, conflicts_with_all = ["l1", "l2"], allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// scikit-learn's l1_ratio (with --alpha; default 0.5 as ElasticNet, 1 is Lasso).
    #[arg(long, requires = "alpha", allow_negative_numbers = true)]
    l1_ratio: Option<f64>,
    /// Weight of bias_l1·|b|.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    bias_l1: f64,
    /// Weight of bias_l2·b².
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    bias_l2: f64,
    /// sign: l1·sign(w) in the gradient; prox: soft-threshold after the step (exact zeros).
    #[arg(long, value_enum, default_value = "sign")]
    l1_update: L1UpdateArg,
    #[arg(long, value_enum, default_value = "sgd")]
    optimizer: OptimizerArg,
    /// Momentum μ (v ← μv − lr·g; w ← w + v).
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    momentum: f64,
    /// Learning rate; lr_t = lr / (1 + decay·t).
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    lr: f64,
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    decay: f64,
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Rows per step, or `full` for full-batch gradient descent.
    #[arg(long, default_value = "256", value_parser = parse_batch)]
    batch_size: BatchSize,
    /// Seed of the minibatch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Steps between loss readbacks (default: once per epoch).
    #[arg(long)]
    log_every: Option<usize>,
    /// Stop when the epoch loss has not improved by tol for --n-iter-no-change epochs.
    #[arg(long, allow_negative_numbers = true)]
    tol: Option<f64>,
    #[arg(long, default_value_t = 5)]
    n_iter_no_change: usize,
    /// Fit without an intercept (b = 0).
    #[arg(long)]
    no_intercept: bool,
    /// z-score the features; coefficients are reported on the original scale.
    #[arg(long)]
    standardize: bool,
}

fn parse_batch(s: &str) -> Result<BatchSize, String> {
    if s.eq_ignore_ascii_case("full") {
        return Ok(BatchSize::Full);
    }
    s.parse::<usize>()
        .map(BatchSize::Rows)
        .map_err(|_| format!("`{s}` is neither a row count nor `full`"))
}

impl ModelArgs {
    fn config(&self) -> Result<FitConfig, Error> {
        let ModelArg::Linear = self.model;
        let mut penalty = match self.alpha {
            Some(alpha) => Penalty::from_sklearn(alpha, self.l1_ratio.unwrap_or(0.5))?,
            None => Penalty {
                l1: self.l1,
                l2: self.l2,
                ..Penalty::default()
            },
        };
        penalty.bias_l1 = self.bias_l1;
        penalty.bias_l2 = self.bias_l2;
        Ok(FitConfig {
            model: Model::Linear,
            penalty,
            l1_update: match self.l1_update {
                L1UpdateArg::Sign => L1Update::Sign,
                L1UpdateArg::Prox => L1Update::Prox,
            },
            optimizer: match self.optimizer {
                OptimizerArg::Sgd => Optimizer::Sgd,
                OptimizerArg::Momentum => Optimizer::Momentum,
            },
            momentum: self.momentum,
            lr: self.lr,
            decay: self.decay,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            log_every: self.log_every,
            tol: self.tol,
            n_iter_no_change: self.n_iter_no_change,
            fit_intercept: !self.no_intercept,
            standardize: self.standardize,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DeviceArg {
    /// A hardware GPU if there is one, else the software adapter, else the CPU reference.
    Auto,
    Gpu,
    Cpu,
}

#[derive(Args)]
struct FitCmd {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Pick the adapter whose name contains this text.
    #[arg(long)]
    adapter: Option<String>,
    /// Model JSON output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// History CSV output (epoch, step, data_loss, reg_loss, loss, lr, seconds).
    #[arg(long)]
    history: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CompareCmd {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long)]
    adapter: Option<String>,
    /// Write the comparison as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Subcommand)]
enum GenCmd {
    /// y = X·w* + b* + noise with exactly --informative nonzero true coefficients.
    Linear(GenLinear),
}

#[derive(Args)]
struct GenLinear {
    #[arg(long)]
    rows: usize,
    #[arg(long)]
    features: usize,
    #[arg(long)]
    informative: usize,
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    noise: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: .csv (x0..,y) or .npy (X; y in <stem>.target.npy). The truth goes to FILE.truth.json.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct DevicesCmd {
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fit(cmd) => run_fit(cmd),
        Command::Compare(cmd) => run_compare(cmd),
        Command::Gen(GenCmd::Linear(cmd)) => run_gen_linear(cmd),
        Command::Devices(cmd) => run_devices(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = e.downcast_ref::<Error>().map(Error::exit_code).unwrap_or(1);
            eprintln!("error: {e:#}");
            ExitCode::from(code as u8)
        }
    }
}

fn load_data(args: &DataArgs) -> Result<Dataset, Error> {
    match &args.data {
        Some(path) => Dataset::load(path, args.target.as_deref(), args.target_file.as_deref()),
        None => {
            if args.target.is_some() || args.target_file.is_some() {
                return Err(Error::InvalidParam {
                    name: "target",
                    value: "given".into(),
                    reason: "--target and --target-file need --data".into(),
                });
            }
            let (data, _) = generate::linear(&generate::LinearSpec::BUILTIN)?;
            Ok(Dataset {
                source: format!("built-in: {}", data.source),
                ..data
            })
        }
    }
}

/// Opens the GPU solver, or for `auto` falls back to the CPU reference when there is no adapter.
fn make_solver(device: DeviceArg, adapter: Option<&str>) -> Result<Box<dyn Solver>, Error> {
    match device {
        DeviceArg::Cpu => Ok(Box::new(CpuSolver::new())),
        DeviceArg::Gpu => Ok(Box::new(GpuSolver::new(adapter)?)),
        DeviceArg::Auto => match GpuSolver::new(adapter) {
            Ok(solver) => {
                if solver.context().adapter.is_software() {
                    eprintln!(
                        "note: no hardware GPU found; using the software adapter {}",
                        solver.device()
                    );
                }
                Ok(Box::new(solver))
            }
            Err(Error::NoAdapter) => {
                eprintln!(
                    "note: no GPU adapter found; using the CPU reference ({})",
                    gpu_regfit::error::INSTALL_HINT
                );
                Ok(Box::new(CpuSolver::new()))
            }
            Err(e) => Err(e),
        },
    }
}

fn warn_constant_columns(fitted: &fit::Fitted, data: &Dataset) {
    if let Some(s) = &fitted.standardizer {
        let constant = s.constant_columns(&data.feature_names);
        if !constant.is_empty() {
            eprintln!(
                "warning: constant columns left at 0 by --standardize: {}",
                constant.join(", ")
            );
        }
    }
}

/// Checks before the fit that an output path can be written, so a long fit does not end in an error.
fn check_writable(path: &Path) -> Result<(), Error> {
    if path.is_dir() {
        return Err(Error::Format {
            path: path.into(),
            message: "is a directory, expected a file path".into(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::Format {
            path: path.into(),
            message: format!("folder {} does not exist", dir.display()),
        });
    }
    Ok(())
}

fn run_fit(cmd: FitCmd) -> anyhow::Result<()> {
    let cfg = cmd.model.config()?;
    for path in [&cmd.out, &cmd.history].into_iter().flatten() {
        check_writable(path)?;
    }
    let data = load_data(&cmd.data)?;
    cfg.validate(data.n_rows())?;
    let mut solver = make_solver(cmd.device, cmd.adapter.as_deref())?;
    let fitted = fit::fit(solver.as_mut(), &data, &cfg)?;
    warn_constant_columns(&fitted, &data);
    let model = ModelJson::new(&fitted, &cfg, &data);
    if let Some(path) = &cmd.out {
        let text = serde_json::to_string_pretty(&model).context("serializing the model")?;
        report::write_atomic(path, text.as_bytes())?;
    }
    if let Some(path) = &cmd.history {
        report::write_atomic(path, &report::history_csv(&fitted.result.history)?)?;
    }
    let summary = FitSummary::new(&model);
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", summary.text());
    }
    Ok(())
}

fn run_compare(cmd: CompareCmd) -> anyhow::Result<()> {
    let cfg = cmd.model.config()?;
    if let Some(path) = &cmd.json {
        check_writable(path)?;
    }
    let data = load_data(&cmd.data)?;
    cfg.validate(data.n_rows())?;
    let mut gpu = GpuSolver::new(cmd.adapter.as_deref())?;
    let mut cpu = CpuSolver::new();
    // Standardize once; both solvers and the exact solver see the same problem, and the report
    // compares on that scale.
    let fitted_data = if cfg.standardize {
        let mut scaled = data.clone();
        data::Standardizer::fit_transform(&mut scaled);
        std::borrow::Cow::Owned(scaled)
    } else {
        std::borrow::Cow::Borrowed(&data)
    };
    let gr = &gpu.fit_raw(&fitted_data, &cfg)?;
    let cr = &cpu.fit_raw(&fitted_data, &cfg)?;
    let ex = exact::solve(&fitted_data, &cfg.penalty, cfg.fit_intercept)?;
    let coef_max_abs_diff = gr
        .coef
        .iter()
        .chain([&gr.intercept])
        .zip(cr.coef.iter().chain([&cr.intercept]))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let rel = |a: f64, b: f64| (a - b) / b.abs().max(f64::MIN_POSITIVE);
    let report = CompareReport {
        gpu_device: gr.device.clone(),
        cpu_device: cr.device.clone(),
        exact_method: ex.method.to_string(),
        epochs: gr.epochs_run,
        gpu_seconds: gr.seconds,
        cpu_seconds: cr.seconds,
        gpu_seconds_per_epoch: gr.seconds_per_epoch(),
        cpu_seconds_per_epoch: cr.seconds_per_epoch(),
        speedup: cr.seconds / gr.seconds.max(f64::MIN_POSITIVE),
        coef_max_abs_diff,
        loss_rel_diff: rel(gr.objective.total, cr.objective.total).abs(),
        gpu_objective: gr.objective.total,
        cpu_objective: cr.objective.total,
        exact_objective: ex.objective.total,
        objective_gap: rel(gr.objective.total, ex.objective.total),
        cpu_objective_gap: rel(cr.objective.total, ex.objective.total),
    };
    println!(
        "data:  {} ({} rows × {} features)",
        data.source,
        data.n_rows(),
        data.n_features()
    );
    println!("{}", report.table());
    if let Some(path) = &cmd.json {
        report::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    Ok(())
}

/// `x.csv` -> `x.csv.truth.json`.
fn truth_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".truth.json");
    PathBuf::from(s)
}

fn run_gen_linear(cmd: GenLinear) -> anyhow::Result<()> {
    check_writable(&cmd.out)?;
    let ext = cmd
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("csv") | Some("npy")) {
        return Err(Error::Format {
            path: cmd.out.clone(),
            message: "unknown output type: expected .csv or .npy".into(),
        }
        .into());
    }
    let (data, truth) = generate::linear(&generate::LinearSpec {
        rows: cmd.rows,
        features: cmd.features,
        informative: cmd.informative,
        noise: cmd.noise,
        seed: cmd.seed,
    })?;
    if ext.as_deref() == Some("npy") {
        let (xb, yb) = data::write_npy_pair(&data.x, &data.y)?;
        let y_path = data::default_target_path(&cmd.out);
        report::write_atomic(&cmd.out, &xb)?;
        report::write_atomic(&y_path, &yb)?;
        println!(
            "wrote {} (X) and {} (y)",
            cmd.out.display(),
            y_path.display()
        );
    } else {
        report::write_atomic(&cmd.out, data::format_csv(&data.x, &data.y).as_bytes())?;
        println!("wrote {}", cmd.out.display());
    }
    let truth_file = truth_path(&cmd.out);
    report::write_atomic(
        &truth_file,
        serde_json::to_string_pretty(&truth)?.as_bytes(),
    )?;
    println!(
        "wrote {} (true coefficients and intercept)",
        truth_file.display()
    );
    Ok(())
}

fn run_devices(cmd: DevicesCmd) -> anyhow::Result<()> {
    let adapters = list_adapters();
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&adapters)?);
        return Ok(());
    }
    if adapters.is_empty() {
        return Err(Error::NoAdapter.into());
    }
    println!(
        "{:<44} {:<8} {:<14} {:>20} {:>16}",
        "name", "backend", "type", "max storage binding", "max buffer"
    );
    for a in &adapters {
        println!(
            "{:<44} {:<8} {:<14} {:>20} {:>16}",
            a.name, a.backend, a.device_type, a.max_storage_binding, a.max_buffer
        );
    }
    Ok(())
}
