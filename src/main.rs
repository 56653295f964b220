//! The `gpu-regfit` command line: parse flags into a validated config, run, map errors to exit
//! codes (2 bad input, 3 diverged, 4 device failure, 1 other). anyhow is used only here.

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use gpu_regfit::checkpoint::{Checkpoint, CheckpointPlan};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty, SolverKind};
use gpu_regfit::cpu::{exact, CpuSolver};
use gpu_regfit::data::weights::{self as sample_weights, ClassWeight};
use gpu_regfit::data::{self, generate, labels, split, Dataset, Format, LoadOptions};
use gpu_regfit::error::Error;
use gpu_regfit::fit::{self, FitResult, ProgressUpdate, RunControl, Solver};
use gpu_regfit::gpu::{list_adapters, GpuOptions, GpuSolver};
use gpu_regfit::predict::Predictor;
use gpu_regfit::report::plot::{self, LossPlot};
use gpu_regfit::report::progress::{self, Bar};
use gpu_regfit::report::{self, CompareReport, FitSummary, ModelJson};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the first Ctrl-C or SIGTERM: fits stop at their next log point and write their outputs.
static STOP: AtomicBool = AtomicBool::new(false);

/// Exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// How a command ended when it did not fail.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    Interrupted,
}

#[derive(Parser)]
#[command(
    name = "gpu-regfit",
    version,
    about = "L1/L2/elastic-net linear, logistic and softmax regression by minibatch gradient descent on any GPU (wgpu), checked against a CPU reference and the exact optimum"
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
    /// Apply a saved model to data: values, class labels, and with --proba class probabilities.
    Predict(PredictCmd),
    /// Generate synthetic data.
    #[command(subcommand)]
    Gen(GenCmd),
    /// List the GPU adapters wgpu can see.
    Devices(DevicesCmd),
    /// Convert CSV or LIBSVM data to .npy once (X to OUT.npy, y to OUT.target.npy), so large data
    /// is memory-mapped instead of parsed on every run.
    Convert(ConvertCmd),
    /// Time epochs on the GPU solver and the CPU reference over a matrix of sizes, with the
    /// device's copy bandwidth measured in the same run.
    Bench(BenchCmd),
    /// Draw the loss curves of a history CSV (from `fit --history` or `compare --history`) as PNG.
    Plot(PlotCmd),
}

#[derive(Args)]
struct PlotCmd {
    /// A history CSV written by `fit --history` or `compare --history`.
    history: PathBuf,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
    /// Title of the plot (default: the history's file name).
    #[arg(long)]
    title: Option<String>,
}

/// Outputs shared by fit and compare: progress bar and plot.
#[derive(Args)]
struct ViewArgs {
    /// Draw the loss curves (train objective and validation loss) to this PNG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct BenchCmd {
    /// Sizes to measure: ROWSxFEATURES[xBATCH][:MODEL], comma-separated (e.g.
    /// 1Mx128x4096,100kx16:logistic). Default: a matrix that takes under 2 minutes on 2 CPU cores
    /// with the software adapter.
    #[arg(long)]
    sizes: Option<String>,
    /// Seconds to time each engine per size (at least one epoch).
    #[arg(long, default_value_t = 0.5)]
    min_seconds: f64,
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

#[derive(Args)]
struct ConvertCmd {
    /// Input: .csv (header row; numeric target) or .libsvm/.svm.
    input: PathBuf,
    /// Output X, ending in .npy; y goes to <stem>.target.npy beside it.
    out: PathBuf,
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Target column of a CSV file (default: the last column).
    #[arg(long)]
    target: Option<String>,
    /// Width of LIBSVM data (default: the largest index in the file).
    #[arg(long)]
    features: Option<usize>,
}

#[derive(Args)]
struct DataArgs {
    /// Data file: .csv (header row), .npy (X; y from --target-file) or .libsvm/.svm
    /// (label idx:value ...). Default: a built-in problem.
    #[arg(long)]
    data: Option<PathBuf>,
    /// File format, when the extension does not say.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Target column of a CSV file (default: the last column).
    #[arg(long)]
    target: Option<String>,
    /// y for .npy data (default: <data stem>.target.npy).
    #[arg(long)]
    target_file: Option<PathBuf>,
    /// Width of LIBSVM data (default: the largest index in the file).
    #[arg(long)]
    features: Option<usize>,
    /// Most distinct labels a classifier's target may have.
    #[arg(long, default_value_t = labels::DEFAULT_MAX_CLASSES)]
    max_classes: usize,
    /// A separate validation file (same format and columns), scored at every log point.
    #[arg(long, conflicts_with = "validation_fraction")]
    validation: Option<PathBuf>,
    /// Hold out this fraction of the rows (seeded by --seed; stratified for classifiers).
    #[arg(long, allow_negative_numbers = true)]
    validation_fraction: Option<f64>,
    /// CSV: the column that holds each row's sample weight (then not a feature). The objective
    /// becomes (1/Σw) Σ wᵢ·loss; a weight of 0 drops the row.
    #[arg(long, conflicts_with = "sample_weight_file")]
    sample_weight: Option<String>,
    /// One sample weight per training row: a 1-D .npy (f32 or f64), or text with one number a line.
    #[arg(long)]
    sample_weight_file: Option<PathBuf>,
    /// Classifiers: `balanced` (class k weighs n / (K·count_k), as scikit-learn) or
    /// LABEL=W,... (labels not listed weigh 1); multiplies any sample weights.
    #[arg(long)]
    class_weight: Option<ClassWeight>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Csv,
    Npy,
    Libsvm,
}

impl FormatArg {
    fn format(self) -> Format {
        match self {
            FormatArg::Csv => Format::Csv,
            FormatArg::Npy => Format::Npy,
            FormatArg::Libsvm => Format::Libsvm,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelArg {
    /// Least squares.
    Linear,
    /// Binary classification (two labels).
    Logistic,
    /// Multinomial classification (K labels).
    Softmax,
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SolverArg {
    /// Full-batch accelerated proximal gradient, stopped on the duality gap (the default).
    Apg,
    /// Minibatch SGD (or momentum) over epochs, with the learning-rate flags.
    Sgd,
}

#[derive(Args)]
struct ModelArgs {
    #[arg(long, value_enum, default_value = "linear")]
    model: ModelArg,
    /// apg (default: converges to --tol without tuning) or sgd (minibatch; --lr, --epochs, ...).
    /// Any of --lr, --epochs, --batch-size, --optimizer, --momentum, --decay, --l1-update,
    /// --log-every, --early-stopping, --n-iter-no-change, --checkpoint, --resume implies sgd.
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
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
    /// apg: stop when the relative duality gap G/J is at most tol [default: 1e-6]. sgd: stop when
    /// the epoch loss (with --early-stopping: the validation loss) has not improved by tol for
    /// --n-iter-no-change epochs.
    #[arg(long, allow_negative_numbers = true)]
    tol: Option<f64>,
    /// apg: most iterations [default: 10000].
    #[arg(long)]
    max_iter: Option<usize>,
    /// sgd: l1·sign(w) in the gradient, or prox: soft-threshold after the step (exact zeros)
    /// [default: sign].
    #[arg(long, value_enum)]
    l1_update: Option<L1UpdateArg>,
    /// sgd: the update rule [default: sgd].
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerArg>,
    /// sgd: momentum μ (v ← μv − lr·g; w ← w + v) [default: 0.9].
    #[arg(long, allow_negative_numbers = true)]
    momentum: Option<f64>,
    /// sgd: learning rate; lr_t = lr / (1 + decay·t) [default: 0.05].
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// sgd: learning-rate decay [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    decay: Option<f64>,
    /// sgd: passes over the data [default: 20].
    #[arg(long)]
    epochs: Option<usize>,
    /// sgd: rows per step, or `full` for full-batch gradient descent [default: 256, or every row
    /// when the data has fewer].
    #[arg(long, value_parser = parse_batch)]
    batch_size: Option<BatchSize>,
    /// Seed of the minibatch order (and of --validation-fraction's holdout).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// sgd: steps between loss readbacks (default: once per epoch).
    #[arg(long)]
    log_every: Option<usize>,
    /// sgd: stop on the validation loss and keep the best epoch's weights (needs --validation or
    /// --validation-fraction).
    #[arg(long)]
    early_stopping: bool,
    /// sgd: epochs without improvement before --tol stops [default: 5].
    #[arg(long)]
    n_iter_no_change: Option<usize>,
    /// Fit without an intercept (b = 0).
    #[arg(long)]
    no_intercept: bool,
    /// z-score the features; coefficients are reported on the original scale.
    #[arg(long)]
    standardize: bool,
}

/// The default rows per step (clamped to the row count; an explicit larger --batch-size is an error).
const DEFAULT_BATCH: usize = 256;

/// Without --batch-size, data with fewer rows than the default runs full batch.
fn default_batch_fits(cfg: &mut FitConfig, args: &ModelArgs, rows: usize) {
    // apg always takes full-batch steps.
    if cfg.solver == SolverKind::Apg || (args.batch_size.is_none() && rows < DEFAULT_BATCH) {
        cfg.batch_size = BatchSize::Full;
    }
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
    /// The SGD-only flags given on the command line (each implies --solver sgd).
    fn sgd_flags(&self) -> Vec<&'static str> {
        let given = [
            ("--lr", self.lr.is_some()),
            ("--epochs", self.epochs.is_some()),
            ("--batch-size", self.batch_size.is_some()),
            ("--optimizer", self.optimizer.is_some()),
            ("--momentum", self.momentum.is_some()),
            ("--decay", self.decay.is_some()),
            ("--l1-update", self.l1_update.is_some()),
            ("--log-every", self.log_every.is_some()),
            ("--early-stopping", self.early_stopping),
            ("--n-iter-no-change", self.n_iter_no_change.is_some()),
        ];
        given.iter().filter(|g| g.1).map(|g| g.0).collect()
    }

    /// The config; `sgd_implied` names other flags (checkpoints) that need sgd. Says on stderr
    /// when SGD flags chose the solver.
    fn config_with(&self, sgd_implied: &[&'static str]) -> Result<FitConfig, Error> {
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
        let mut sgd_flags = self.sgd_flags();
        sgd_flags.extend_from_slice(sgd_implied);
        let solver = match self.solver {
            Some(SolverArg::Sgd) => SolverKind::Sgd,
            Some(SolverArg::Apg) => {
                if let Some(flag) = sgd_flags.first() {
                    return Err(Error::invalid(
                        "solver",
                        "apg",
                        format!("{flag} is a --solver sgd setting (apg needs no learning rate and runs to --tol)"),
                    ));
                }
                SolverKind::Apg
            }
            None if !sgd_flags.is_empty() => SolverKind::Sgd,
            None => SolverKind::Apg,
        };
        if solver == SolverKind::Sgd && self.max_iter.is_some() {
            return Err(Error::invalid(
                "max-iter",
                self.max_iter.unwrap_or(0),
                "is an apg setting; sgd runs --epochs",
            ));
        }
        let defaults = FitConfig::default();
        Ok(FitConfig {
            model: match self.model {
                ModelArg::Linear => Model::Linear,
                ModelArg::Logistic => Model::Logistic,
                ModelArg::Softmax => Model::Softmax,
            },
            penalty,
            l1_update: match self.l1_update.unwrap_or(L1UpdateArg::Sign) {
                L1UpdateArg::Sign => L1Update::Sign,
                L1UpdateArg::Prox => L1Update::Prox,
            },
            optimizer: match self.optimizer.unwrap_or(OptimizerArg::Sgd) {
                OptimizerArg::Sgd => Optimizer::Sgd,
                OptimizerArg::Momentum => Optimizer::Momentum,
            },
            momentum: self.momentum.unwrap_or(defaults.momentum),
            lr: self.lr.unwrap_or(defaults.lr),
            decay: self.decay.unwrap_or(defaults.decay),
            epochs: self.epochs.unwrap_or(defaults.epochs),
            batch_size: self.batch_size.unwrap_or(BatchSize::Rows(DEFAULT_BATCH)),
            seed: self.seed,
            log_every: self.log_every,
            tol: self.tol,
            n_iter_no_change: self.n_iter_no_change.unwrap_or(defaults.n_iter_no_change),
            fit_intercept: !self.no_intercept,
            standardize: self.standardize,
            early_stopping: self.early_stopping,
            chunk_rows: None,
            solver,
            max_iter: self.max_iter.unwrap_or(defaults.max_iter),
        })
    }

    fn config(&self) -> Result<FitConfig, Error> {
        self.config_with(&[])
    }

    /// Says on stderr when SGD flags chose the solver (after the input checks, so an error stays
    /// one line).
    fn note_solver(&self, sgd_implied: &[&'static str]) {
        let mut flags = self.sgd_flags();
        flags.extend_from_slice(sgd_implied);
        if self.solver.is_none() && !flags.is_empty() {
            eprintln!(
                "note: {} implies --solver sgd (minibatch SGD); without SGD flags apg runs to the \
                 duality-gap tolerance",
                flags.join(", ")
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DeviceArg {
    /// A hardware GPU if there is one, else the software adapter, else the CPU reference.
    Auto,
    Gpu,
    Cpu,
}

/// Parses a byte count: a number with an optional suffix K, M, G (powers of 1000) or
/// KiB, MiB, GiB (powers of 1024).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}` (use K, M, G, KiB, MiB, GiB)"
            ))
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a byte count such as 4096, 64MiB or 2G"))?;
    let bytes = value * scale as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{s}` must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

/// Memory settings of the GPU solver.
#[derive(Args, Clone, Copy)]
struct GpuArgs {
    /// Most bytes of X in one storage binding (default: the adapter's limit); X is split into row
    /// shards of at most this size. Accepts suffixes K, M, G, KiB, MiB, GiB.
    #[arg(long, value_parser = parse_bytes)]
    max_binding_bytes: Option<u64>,
    /// Device memory the training data may use; larger data is streamed from host memory each
    /// epoch in chunks, with batches drawn within chunks (see the README).
    #[arg(long, value_parser = parse_bytes)]
    gpu_memory_budget: Option<u64>,
}

impl GpuArgs {
    fn options(self) -> GpuOptions {
        GpuOptions {
            max_binding_bytes: self.max_binding_bytes,
            memory_budget: self.gpu_memory_budget,
            ..GpuOptions::default()
        }
    }
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
    #[command(flatten)]
    gpu: GpuArgs,
    /// Model JSON output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// History CSV output (epoch, step, data_loss, reg_loss, loss, train_accuracy, val_loss,
    /// val_accuracy, lr, seconds).
    #[arg(long)]
    history: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Save a checkpoint (weights, optimizer, batch-order state, config) to this file every
    /// --checkpoint-every epochs, and when interrupted.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Epochs between checkpoints.
    #[arg(long, requires = "checkpoint", default_value_t = 1)]
    checkpoint_every: usize,
    /// Go on from a checkpoint, with the same data and config (only --epochs may change).
    #[arg(long)]
    resume: Option<PathBuf>,
    #[command(flatten)]
    view: ViewArgs,
}

#[derive(Args)]
struct CompareCmd {
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

#[derive(Args)]
struct PredictCmd {
    /// A model file written by `fit --out`.
    #[arg(long)]
    model: PathBuf,
    /// Data to predict on: .csv (columns matched to the model's features by name; the model's
    /// target column, when present, is used to score), .npy (X) or .libsvm.
    #[arg(long)]
    data: PathBuf,
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Add one probability column per class (classifiers).
    #[arg(long)]
    proba: bool,
    /// Predictions CSV output.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Subcommand)]
enum GenCmd {
    /// y = X·w* + b* + noise with exactly --informative nonzero true coefficients.
    Linear(GenLinear),
    /// The classic spiral: --points per class on --classes interleaved arms (2 features).
    Spiral(GenSpiral),
    /// Gaussian clusters whose class depends on --informative features only.
    Classification(GenClassification),
}

#[derive(Args)]
struct GenSpiral {
    #[arg(long)]
    points: usize,
    #[arg(long)]
    classes: usize,
    /// Standard deviation of the angle noise.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    noise: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: .csv (x0,x1,y) or .npy (X; y in <stem>.target.npy).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct GenClassification {
    #[arg(long)]
    rows: usize,
    #[arg(long)]
    features: usize,
    #[arg(long)]
    informative: usize,
    #[arg(long)]
    classes: usize,
    /// Standard deviation of the class centres (larger: easier to separate).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    separation: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: .csv (x0..,y) or .npy. The informative columns and centres go to FILE.truth.json.
    #[arg(long)]
    out: PathBuf,
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

/// Clap's error as one line: the message, and the usage hint folded in.
fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .to_string();
    let tip = lines.find(|l| l.starts_with("tip:"));
    match tip {
        Some(t) => format!("{first} ({t})"),
        None => format!("{first} (see --help)"),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(
                e.kind(),
                K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            eprintln!("{}", clap_error_line(&e));
            return ExitCode::from(2);
        }
    };
    quiet_wsi_probe();
    // First signal: stop at the next log point and write the outputs; second: quit at once (no
    // output is ever half-written, so the old files stay whole).
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED as i32);
        }
        eprintln!(
            "\ninterrupt: stopping at the next log point and writing the outputs \
             (again to quit at once)"
        );
    });
    let done = |r: anyhow::Result<()>| r.map(|()| Outcome::Done);
    let result = match cli.command {
        Command::Fit(cmd) => run_fit(cmd),
        Command::Compare(cmd) => run_compare(cmd),
        Command::Predict(cmd) => done(run_predict(cmd)),
        Command::Gen(GenCmd::Linear(cmd)) => done(run_gen_linear(cmd)),
        Command::Gen(GenCmd::Spiral(cmd)) => done(run_gen_spiral(cmd)),
        Command::Gen(GenCmd::Classification(cmd)) => done(run_gen_classification(cmd)),
        Command::Devices(cmd) => done(run_devices(cmd)),
        Command::Convert(cmd) => done(run_convert(cmd)),
        Command::Bench(cmd) => run_bench(cmd),
        Command::Plot(cmd) => done(run_plot(cmd)),
    };
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(e) => {
            let code = e.downcast_ref::<Error>().map(Error::exit_code).unwrap_or(1);
            eprintln!("error: {e:#}");
            ExitCode::from(code as u8)
        }
    }
}

/// Mesa's Vulkan drivers probe Wayland at start-up, and libwayland prints `error: XDG_RUNTIME_DIR
/// is invalid or not set` on stderr when the variable is missing (a headless machine, a container,
/// CI). gpu-regfit draws nothing on screen, so it points the variable at a private empty folder:
/// the probe then finds no display and says nothing. Runs before any thread starts.
fn quiet_wsi_probe() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("gpu-regfit-runtime-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_ok() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
    }
}

/// The training data (labels encoded for classifiers) and the validation set, if asked for.
fn load_data(args: &DataArgs, cfg: &FitConfig) -> Result<(Dataset, Option<Dataset>), Error> {
    let options = LoadOptions {
        format: args.format.map(FormatArg::format),
        target: args.target.as_deref(),
        target_file: args.target_file.as_deref(),
        text_target: cfg.model.is_classifier(),
        features: args.features,
    };
    let mut data = match &args.data {
        Some(path) => Dataset::load(path, &options)?,
        None => {
            if args.target.is_some() || args.target_file.is_some() {
                return Err(Error::invalid(
                    "target",
                    "given",
                    "--target and --target-file need --data",
                ));
            }
            if args.validation.is_some() {
                return Err(Error::invalid(
                    "validation",
                    "given",
                    "--validation needs --data",
                ));
            }
            builtin_data(cfg.model)?
        }
    };
    if let Some(name) = &args.sample_weight {
        sample_weights::take_weight_column(&mut data, name)?;
    }
    if let Some(path) = &args.sample_weight_file {
        let w = sample_weights::read_weight_file(path)?;
        data.set_weights(w, &path.display().to_string())?;
    }
    labels::encode(&mut data, cfg.model, args.max_classes)?;
    if let Some(cw) = &args.class_weight {
        sample_weights::apply_class_weight(&mut data, cw)?;
    }
    match (&args.validation, args.validation_fraction) {
        (Some(path), _) => {
            // A validation .npy has its own <stem>.target.npy; a LIBSVM one takes the training width.
            let val_options = LoadOptions {
                target_file: None,
                features: Some(data.n_features()),
                ..options
            };
            let mut val = Dataset::load(path, &val_options)?;
            if let Some(name) = &args.sample_weight {
                // The validation loss is unweighted: the column is dropped with its weights.
                sample_weights::take_weight_column(&mut val, name)?;
                val.weights = None;
            }
            match &data.classes {
                Some(classes) => labels::encode_with(&mut val, classes)?,
                None => labels::encode(&mut val, cfg.model, args.max_classes)?,
            }
            data.check_compatible(&val)?;
            Ok((data, Some(val)))
        }
        (None, Some(fraction)) => {
            let (train, mut val) = split::holdout(&data, fraction, cfg.seed)?;
            if data.weights.is_some() && train.weights.is_none() {
                return Err(Error::invalid(
                    "validation-fraction",
                    fraction,
                    "leaves no training row with a sample weight above 0",
                ));
            }
            // The validation loss is unweighted (as on the GPU, which keeps no validation weights).
            val.weights = None;
            Ok((train, Some(val)))
        }
        (None, None) => Ok((data, None)),
    }
}

/// The built-in problem of each model (used when no --data is given).
fn builtin_data(model: Model) -> Result<Dataset, Error> {
    let data = match model {
        Model::Linear => generate::linear(&generate::LinearSpec::BUILTIN)?.0,
        Model::Logistic => generate::classification(&generate::ClassificationSpec::builtin(2))?.0,
        Model::Softmax => generate::classification(&generate::ClassificationSpec::builtin(3))?.0,
    };
    Ok(Dataset {
        source: format!("built-in: {}", data.source),
        ..data
    })
}

/// Opens the GPU solver, or for `auto` falls back to the CPU reference when there is no adapter.
fn make_solver(
    device: DeviceArg,
    adapter: Option<&str>,
    options: GpuOptions,
) -> Result<Box<dyn Solver>, Error> {
    match device {
        DeviceArg::Cpu => Ok(Box::new(CpuSolver::new())),
        DeviceArg::Gpu => Ok(Box::new(GpuSolver::new(adapter)?.with_options(options))),
        DeviceArg::Auto => match GpuSolver::new(adapter).map(|s| s.with_options(options)) {
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

/// Checks a --plot or --out path: writable, ending in .png.
fn check_png(path: &Path) -> Result<(), Error> {
    report::check_writable(path)?;
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !png {
        return Err(Error::Format {
            path: path.into(),
            message: "a plot is written as PNG: the file name must end in .png".into(),
        });
    }
    Ok(())
}

/// Says on stderr that a run was interrupted, and which of the outputs asked for were written.
fn note_interrupted(r: &FitResult, outputs: &[&Option<PathBuf>]) {
    let files: Vec<String> = outputs
        .iter()
        .copied()
        .flatten()
        .map(|p| p.display().to_string())
        .collect();
    eprintln!(
        "interrupted at epoch {}, step {}{}",
        r.epochs_run,
        r.steps_run,
        if files.is_empty() {
            String::new()
        } else {
            format!("; wrote {}", files.join(", "))
        }
    );
}

fn run_fit(cmd: FitCmd) -> anyhow::Result<Outcome> {
    let mut implied = Vec::new();
    if cmd.checkpoint.is_some() {
        implied.push("--checkpoint");
    }
    if cmd.resume.is_some() {
        implied.push("--resume");
    }
    let mut cfg = cmd.model.config_with(&implied)?;
    for path in [&cmd.out, &cmd.history, &cmd.checkpoint]
        .into_iter()
        .flatten()
    {
        report::check_writable(path)?;
    }
    if let Some(path) = &cmd.view.plot {
        check_png(path)?;
    }
    if cmd.checkpoint_every == 0 {
        return Err(Error::invalid("checkpoint-every", 0, "must be at least 1 epoch").into());
    }
    let resume = cmd.resume.as_deref().map(Checkpoint::load).transpose()?;
    let (data, validation) = load_data(&cmd.data, &cfg)?;
    default_batch_fits(&mut cfg, &cmd.model, data.n_rows());
    cfg.validate(data.n_rows())?;
    let mut solver = make_solver(cmd.device, cmd.adapter.as_deref(), cmd.gpu.options())?;
    let bar = Bar::new("fit", 0, progress::visible(cmd.view.quiet));
    let mut observe = |u: &ProgressUpdate| bar.fit_update(u);
    let mut control = RunControl {
        stop: Some(&STOP),
        checkpoint: cmd.checkpoint.clone().map(|path| CheckpointPlan {
            path,
            every: cmd.checkpoint_every,
        }),
        resume: resume.as_ref(),
        observer: Some(&mut observe),
    };
    let fitted = fit::fit_with(
        solver.as_mut(),
        &data,
        validation.as_ref(),
        &cfg,
        &mut control,
    );
    bar.finish();
    let fitted = fitted?;
    warn_constant_columns(&fitted, &data);
    note_streaming(fitted.result.chunk_rows, &mut cfg);
    let model = ModelJson::new(&fitted, &cfg, &data, validation.as_ref());
    if let Some(path) = &cmd.out {
        let text = serde_json::to_string_pretty(&model).context("serializing the model")?;
        report::write_atomic(path, text.as_bytes())?;
    }
    let history = &fitted.result.history;
    if let Some(path) = &cmd.history {
        report::write_atomic(path, &report::history_csv(&[("", history)])?)?;
    }
    if let Some(path) = &cmd.view.plot {
        let title = plot::title(cfg.model, &data.source, "");
        LossPlot::from_histories(&title, &[("", history)]).write(path)?;
    }
    cmd.model.note_solver(&implied);
    warn_not_converged(&model);
    let summary = FitSummary::new(&model);
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", summary.text());
    }
    if fitted.result.interrupted() {
        let outputs = [&cmd.out, &cmd.history, &cmd.view.plot, &cmd.checkpoint];
        note_interrupted(&fitted.result, &outputs);
        return Ok(Outcome::Interrupted);
    }
    Ok(Outcome::Done)
}

/// apg's ConvergenceWarning: one line with the gap reached and the tolerance asked for (and a
/// note when the f64 host finished what an f32 device began).
fn warn_not_converged(model: &ModelJson) {
    if let Some(apg) = model.apg.filter(|a| a.host_iterations > 0) {
        eprintln!(
            "note: the last {} of {} iterations ran in f64 on the CPU: the device's f32 gradient \
             could not take the duality gap below --tol",
            apg.host_iterations, apg.iterations
        );
    }
    if model.solver == "apg" && model.converged == Some(false) && !model.interrupted {
        if let Some(rel) = model.relative_gap {
            eprintln!(
                "warning: apg stopped after {} iterations at relative duality gap {rel:.2e} > tol \
                 {:.0e}; raise --max-iter or --tol",
                model.epochs_run,
                model.config.fit.gap_tol()
            );
        }
    }
}

/// Records the chunking a streamed fit used in `cfg` (and says so on stderr).
fn note_streaming(chunk_rows: Option<usize>, cfg: &mut FitConfig) {
    if let Some(rows) = chunk_rows {
        let how = match cfg.solver {
            SolverKind::Sgd => "minibatches drawn within chunks, chunk order seeded",
            SolverKind::Apg => "every chunk in each iteration's full-batch gradient",
        };
        eprintln!(
            "note: the data exceeds the GPU memory budget; streamed in chunks of {rows} rows \
             ({how})"
        );
        cfg.chunk_rows = Some(rows);
    }
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

fn run_compare(cmd: CompareCmd) -> anyhow::Result<Outcome> {
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
    let ex = exact::solve_model(cfg.model, &fitted_data, &cfg.penalty, cfg.fit_intercept)?;
    let rel = |a: f64, b: f64| (a - b) / b.abs().max(f64::MIN_POSITIVE);
    let report = CompareReport {
        model: cfg.model.name().into(),
        gpu_device: gr.device.clone(),
        cpu_device: cr.device.clone(),
        exact_method: ex.method.to_string(),
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
        exact_objective: ex.objective.total,
        objective_gap: rel(gr.objective.total, ex.objective.total),
        cpu_objective_gap: rel(cr.objective.total, ex.objective.total),
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

fn run_predict(cmd: PredictCmd) -> anyhow::Result<()> {
    report::check_writable(&cmd.out)?;
    let predictor = Predictor::load(&cmd.model)?;
    if cmd.proba && !predictor.model.is_classifier() {
        return Err(Error::invalid(
            "proba",
            "on",
            "probabilities need a logistic or softmax model; this one is linear",
        )
        .into());
    }
    let format = match cmd.format {
        Some(f) => f.format(),
        None => Format::from_path(&cmd.data)?,
    };
    let classifier = predictor.model.is_classifier();
    // Load with the target when the file has one (to score), else features only.
    let (data, has_target) = match format {
        Format::Csv => {
            let headers = data::csv_headers(&cmd.data)?;
            if headers.contains(&predictor.target_name) {
                let d = data::read_csv(&cmd.data, Some(&predictor.target_name), classifier)?;
                (d, true)
            } else {
                (
                    data::read_csv_with(&cmd.data, data::CsvTarget::Absent, false)?,
                    false,
                )
            }
        }
        Format::Npy => (data::read_npy_x(&cmd.data)?, false),
        Format::Libsvm => (
            data::read_libsvm(&cmd.data, Some(predictor.feature_names.len()))?,
            true,
        ),
    };
    let (mut data, warning) = predictor.align(data)?;
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    let score = if has_target {
        predictor.encode_target(&mut data)?;
        Some(predictor.score(&data))
    } else {
        None
    };
    let predictions = predictor.predict(&data);
    report::write_atomic(&cmd.out, &predictor.csv(&predictions, cmd.proba)?)?;
    println!(
        "wrote {} predictions ({} model) to {}",
        data.n_rows(),
        predictor.model.name(),
        cmd.out.display()
    );
    if let Some(m) = score {
        match m.accuracy {
            Some(a) => println!(
                "against the labels in {}: accuracy {a:.4}, log loss {:.6e}",
                cmd.data.display(),
                m.loss
            ),
            None => println!(
                "against the targets in {}: mean squared error {:.6e}",
                cmd.data.display(),
                2.0 * m.loss
            ),
        }
    }
    Ok(())
}

/// `x.csv` -> `x.csv.truth.json`.
fn truth_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".truth.json");
    PathBuf::from(s)
}

/// Checks that a generator's output is .csv or .npy (before any work).
fn check_gen_output(out: &Path) -> Result<(), Error> {
    report::check_writable(out)?;
    match Format::from_path(out) {
        Ok(Format::Csv | Format::Npy) => Ok(()),
        _ => Err(Error::Format {
            path: out.into(),
            message: "unknown output type: expected .csv or .npy".into(),
        }),
    }
}

/// Writes generated data as .csv (x0.., y) or .npy (X, and y in <stem>.target.npy).
fn write_generated(out: &Path, data: &Dataset) -> anyhow::Result<()> {
    if Format::from_path(out)? == Format::Npy {
        let y_path = data::default_target_path(out);
        data::write_npy_files(data.x.view(), &data.y, out, &y_path)?;
        println!("wrote {} (X) and {} (y)", out.display(), y_path.display());
    } else {
        report::write_atomic(out, data::format_csv(data.x.view(), &data.y).as_bytes())?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn write_truth(out: &Path, truth: &impl serde::Serialize, what: &str) -> anyhow::Result<()> {
    let truth_file = truth_path(out);
    report::write_atomic(&truth_file, serde_json::to_string_pretty(truth)?.as_bytes())?;
    println!("wrote {} ({what})", truth_file.display());
    Ok(())
}

fn run_gen_linear(cmd: GenLinear) -> anyhow::Result<()> {
    check_gen_output(&cmd.out)?;
    let (data, truth) = generate::linear(&generate::LinearSpec {
        rows: cmd.rows,
        features: cmd.features,
        informative: cmd.informative,
        noise: cmd.noise,
        seed: cmd.seed,
    })?;
    write_generated(&cmd.out, &data)?;
    write_truth(&cmd.out, &truth, "true coefficients and intercept")
}

fn run_gen_spiral(cmd: GenSpiral) -> anyhow::Result<()> {
    check_gen_output(&cmd.out)?;
    let data = generate::spiral(&generate::SpiralSpec {
        points: cmd.points,
        classes: cmd.classes,
        noise: cmd.noise,
        seed: cmd.seed,
    })?;
    write_generated(&cmd.out, &data)
}

fn run_gen_classification(cmd: GenClassification) -> anyhow::Result<()> {
    check_gen_output(&cmd.out)?;
    let (data, truth) = generate::classification(&generate::ClassificationSpec {
        rows: cmd.rows,
        features: cmd.features,
        informative: cmd.informative,
        classes: cmd.classes,
        separation: cmd.separation,
        seed: cmd.seed,
    })?;
    write_generated(&cmd.out, &data)?;
    write_truth(&cmd.out, &truth, "informative columns and class centres")
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

fn run_convert(cmd: ConvertCmd) -> anyhow::Result<()> {
    if Format::from_path(&cmd.out).ok() != Some(Format::Npy) {
        return Err(Error::Format {
            path: cmd.out,
            message: "the output must end in .npy (y is written to <stem>.target.npy)".into(),
        }
        .into());
    }
    report::check_writable(&cmd.out)?;
    let options = LoadOptions {
        format: cmd.format.map(FormatArg::format),
        target: cmd.target.as_deref(),
        features: cmd.features,
        ..LoadOptions::default()
    };
    let data = Dataset::load(&cmd.input, &options)?;
    let y_path = data::default_target_path(&cmd.out);
    data::write_npy_files(data.x.view(), &data.y, &cmd.out, &y_path)?;
    println!(
        "wrote {} ({} rows × {} features, f32) and {} (y)",
        cmd.out.display(),
        data.n_rows(),
        data.n_features(),
        y_path.display()
    );
    Ok(())
}

fn run_bench(cmd: BenchCmd) -> anyhow::Result<Outcome> {
    use gpu_regfit::bench;
    let sizes = bench::parse_sizes(cmd.sizes.as_deref().unwrap_or(bench::DEFAULT_SIZES))?;
    if !(cmd.min_seconds.is_finite() && cmd.min_seconds >= 0.0) {
        return Err(Error::invalid("min-seconds", cmd.min_seconds, "must be a number ≥ 0").into());
    }
    if let Some(path) = &cmd.json {
        report::check_writable(path)?;
    }
    let ctx = gpu_regfit::gpu::GpuContext::new(cmd.adapter.as_deref())?;
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
                size.model.name()
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
            size.model.name(),
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

fn run_plot(cmd: PlotCmd) -> anyhow::Result<()> {
    check_png(&cmd.out)?;
    let runs = plot::read_history(&cmd.history)?;
    let title = cmd.title.unwrap_or_else(|| {
        format!(
            "loss: {}",
            cmd.history
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    });
    let named: Vec<(&str, &[fit::HistoryRow])> = runs
        .iter()
        .map(|(name, rows)| (name.as_str(), rows.as_slice()))
        .collect();
    LossPlot::from_histories(&title, &named).write(&cmd.out)?;
    println!("wrote {}", cmd.out.display());
    Ok(())
}
