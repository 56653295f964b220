//! Arguments shared by several subcommands: data, model and solver flags, GPU memory settings,
//! device choice and outputs, with their value parsers.

use clap::{Args, ValueEnum};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty, SolverKind};
use gpu_regfit::data::labels;
use gpu_regfit::data::weights::ClassWeight;
use gpu_regfit::data::Format;
use gpu_regfit::error::Error;
use gpu_regfit::gpu::GpuOptions;
use gpu_regfit::network::{Activation, Init, LayerPenalty, NetworkSpec};
use std::path::PathBuf;

/// Outputs shared by fit and compare: progress bar and plot.
#[derive(Args)]
pub(crate) struct ViewArgs {
    /// Draw the loss curves (train objective and validation loss) to this PNG.
    #[arg(long)]
    pub(crate) plot: Option<PathBuf>,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Args)]
pub(crate) struct DataArgs {
    /// Data file: .csv (header row), .npy (X; y from --target-file), .libsvm/.svm
    /// (label idx:value ...) or SciPy's sparse .npz (y from --target-file). Default: a built-in
    /// problem.
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// File format, when the extension does not say.
    #[arg(long, value_enum)]
    pub(crate) format: Option<FormatArg>,
    /// Target column of a CSV file (default: the last column).
    #[arg(long)]
    pub(crate) target: Option<String>,
    /// y for .npy data (default: <data stem>.target.npy).
    #[arg(long)]
    pub(crate) target_file: Option<PathBuf>,
    /// Width of LIBSVM data (default: the largest index in the file).
    #[arg(long)]
    pub(crate) features: Option<usize>,
    /// Keep LIBSVM data sparse (CSR) whatever its density (default: sparse below 10% stored).
    #[arg(long, conflicts_with = "dense")]
    pub(crate) sparse: bool,
    /// Densify LIBSVM data whatever its density.
    #[arg(long)]
    pub(crate) dense: bool,
    /// Most distinct labels a classifier's target may have.
    #[arg(long, default_value_t = labels::DEFAULT_MAX_CLASSES)]
    pub(crate) max_classes: usize,
    /// A separate validation file (same format and columns), scored at every log point.
    #[arg(long, conflicts_with = "validation_fraction")]
    pub(crate) validation: Option<PathBuf>,
    /// Hold out this fraction of the rows (seeded by --seed; stratified for classifiers).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) validation_fraction: Option<f64>,
    /// CSV: the column that holds each row's sample weight (then not a feature). The objective
    /// becomes (1/Σw) Σ wᵢ·loss; a weight of 0 drops the row.
    #[arg(long, conflicts_with = "sample_weight_file")]
    pub(crate) sample_weight: Option<String>,
    /// One sample weight per training row: a 1-D .npy (f32 or f64), or text with one number a line.
    #[arg(long)]
    pub(crate) sample_weight_file: Option<PathBuf>,
    /// Classifiers: `balanced` (class k weighs n / (K·count_k), as scikit-learn) or
    /// LABEL=W,... (labels not listed weigh 1); multiplies any sample weights.
    #[arg(long)]
    pub(crate) class_weight: Option<ClassWeight>,
}

impl DataArgs {
    /// `--sparse` / `--dense` as [`gpu_regfit::data::LoadOptions::sparse`].
    pub(crate) fn sparse_choice(&self) -> Option<bool> {
        match (self.sparse, self.dense) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    Csv,
    Npy,
    Libsvm,
    Npz,
}

impl FormatArg {
    pub(crate) fn format(self) -> Format {
        match self {
            FormatArg::Csv => Format::Csv,
            FormatArg::Npy => Format::Npy,
            FormatArg::Libsvm => Format::Libsvm,
            FormatArg::Npz => Format::Npz,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ModelArg {
    /// Least squares.
    Linear,
    /// Binary classification (two labels).
    Logistic,
    /// Multinomial classification (K labels).
    Softmax,
}

impl ModelArg {
    pub(crate) fn model(self) -> Model {
        match self {
            ModelArg::Linear => Model::Linear,
            ModelArg::Logistic => Model::Logistic,
            ModelArg::Softmax => Model::Softmax,
        }
    }
}

/// The models `fit` and `compare` train: the three of [`ModelArg`] and the network.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FitModelArg {
    /// Least squares.
    Linear,
    /// Binary classification (two labels).
    Logistic,
    /// Multinomial classification (K labels).
    Softmax,
    /// A dense network: --hidden widths, ReLU (or tanh), softmax cross-entropy or --loss squared.
    Mlp,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LossArg {
    /// Softmax over the classes of the target (two or more).
    CrossEntropy,
    /// One linear output, ½(z − y)².
    Squared,
}

#[derive(Clone, Copy, ValueEnum)]
enum ActivationArg {
    Relu,
    Tanh,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitArg {
    /// N(0, 2/fan_in).
    He,
    /// U(±√(6/(fan_in + fan_out))).
    Glorot,
    /// 0.01·N(0, 1).
    Small,
}

/// Parses LAYER:l1,l2,bias_l1,bias_l2 (missing trailing values are 0).
fn parse_layer_penalty(s: &str) -> Result<LayerPenalty, String> {
    let bad = || format!("`{s}` is not LAYER:l1,l2,bias_l1,bias_l2 (e.g. 1:0,5e-4,0,5e-4)");
    let (layer, values) = s.split_once(':').ok_or_else(bad)?;
    let layer: usize = layer.trim().parse().map_err(|_| bad())?;
    let values: Vec<f64> = values
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    if values.is_empty() || values.len() > 4 {
        return Err(bad());
    }
    let at = |i: usize| values.get(i).copied().unwrap_or(0.0);
    Ok(LayerPenalty {
        layer,
        penalty: Penalty {
            l1: at(0),
            l2: at(1),
            bias_l1: at(2),
            bias_l2: at(3),
        },
    })
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
pub(crate) struct ModelArgs {
    #[arg(long, value_enum, default_value = "linear")]
    model: FitModelArg,
    /// mlp: hidden layer widths, comma-separated [default: 128].
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// mlp: the hidden layers' nonlinearity [default: relu].
    #[arg(long, value_enum)]
    activation: Option<ActivationArg>,
    /// mlp: softmax cross-entropy over the target's classes, or one linear output [default:
    /// cross-entropy].
    #[arg(long, value_enum)]
    loss: Option<LossArg>,
    /// mlp: how the weights start, seeded by --seed [default: he].
    #[arg(long, value_enum)]
    init: Option<InitArg>,
    /// mlp: LAYER:l1,l2,bias_l1,bias_l2 sets one layer's penalties (layer 1 is the first dense
    /// layer); the other layers keep --l1, --l2, --bias-l1, --bias-l2. Repeatable.
    #[arg(long, value_parser = parse_layer_penalty)]
    layer_penalty: Vec<LayerPenalty>,
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
pub(crate) fn default_batch_fits(cfg: &mut FitConfig, args: &ModelArgs, rows: usize) {
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
    pub(crate) fn config_with(&self, sgd_implied: &[&'static str]) -> Result<FitConfig, Error> {
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
            None if !sgd_flags.is_empty() || self.model == FitModelArg::Mlp => SolverKind::Sgd,
            None => SolverKind::Apg,
        };
        let network = self.network()?;
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
                FitModelArg::Linear => Model::Linear,
                FitModelArg::Logistic => Model::Logistic,
                FitModelArg::Softmax => Model::Softmax,
                FitModelArg::Mlp => match self.loss.unwrap_or(LossArg::CrossEntropy) {
                    LossArg::CrossEntropy => Model::Softmax,
                    LossArg::Squared => Model::Linear,
                },
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
            network,
        })
    }

    /// The network of `--model mlp` (the network flags are an error without it).
    fn network(&self) -> Result<Option<NetworkSpec>, Error> {
        if self.model != FitModelArg::Mlp {
            let given = [
                ("--hidden", self.hidden.is_some()),
                ("--activation", self.activation.is_some()),
                ("--loss", self.loss.is_some()),
                ("--init", self.init.is_some()),
                ("--layer-penalty", !self.layer_penalty.is_empty()),
            ];
            if let Some((flag, _)) = given.iter().find(|g| g.1) {
                return Err(Error::invalid(
                    "model",
                    "not mlp",
                    format!("{flag} is a --model mlp setting"),
                ));
            }
            return Ok(None);
        }
        Ok(Some(NetworkSpec {
            hidden: self.hidden.clone().unwrap_or_else(|| vec![128]),
            activation: match self.activation.unwrap_or(ActivationArg::Relu) {
                ActivationArg::Relu => Activation::Relu,
                ActivationArg::Tanh => Activation::Tanh,
            },
            init: match self.init.unwrap_or(InitArg::He) {
                InitArg::He => Init::He,
                InitArg::Glorot => Init::Glorot,
                InitArg::Small => Init::Small,
            },
            layer_penalties: self.layer_penalty.clone(),
        }))
    }

    pub(crate) fn config(&self) -> Result<FitConfig, Error> {
        self.config_with(&[])
    }

    /// Says on stderr when SGD flags chose the solver (after the input checks, so an error stays
    /// one line).
    pub(crate) fn note_solver(&self, sgd_implied: &[&'static str]) {
        let mut flags = self.sgd_flags();
        flags.extend_from_slice(sgd_implied);
        if self.solver.is_none() && !flags.is_empty() && self.model != FitModelArg::Mlp {
            eprintln!(
                "note: {} implies --solver sgd (minibatch SGD); without SGD flags apg runs to the \
                 duality-gap tolerance",
                flags.join(", ")
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DeviceArg {
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
pub(crate) struct GpuArgs {
    /// Most bytes of X in one storage binding (default: the adapter's limit); X is split into row
    /// shards of at most this size. Accepts suffixes K, M, G, KiB, MiB, GiB.
    #[arg(long, value_parser = parse_bytes)]
    max_binding_bytes: Option<u64>,
    /// Device memory the training data may use; larger data is streamed from host memory each
    /// epoch in chunks, with batches drawn within chunks (see the README).
    #[arg(long, value_parser = parse_bytes)]
    gpu_memory_budget: Option<u64>,
    /// Sparse data: how a full-batch Xᵀr is taken on the GPU: `csc` (a column copy made at
    /// upload, no atomics; the default) or `atomic` (f32 atomic adds, as minibatch steps).
    #[arg(long, value_enum)]
    sparse_xt: Option<SparseXtArg>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SparseXtArg {
    Csc,
    Atomic,
}

impl GpuArgs {
    pub(crate) fn options(self) -> GpuOptions {
        GpuOptions {
            max_binding_bytes: self.max_binding_bytes,
            memory_budget: self.gpu_memory_budget,
            sparse_xt: self.sparse_xt.map(|x| match x {
                SparseXtArg::Csc => gpu_regfit::gpu::SparseXt::Csc,
                SparseXtArg::Atomic => gpu_regfit::gpu::SparseXt::Atomic,
            }),
            ..GpuOptions::default()
        }
    }
}

/// Where a fit runs: `--device`, `--adapter` and the GPU memory settings (fit, path).
#[derive(Args)]
pub(crate) struct DeviceArgs {
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) device: DeviceArg,
    /// Pick the adapter whose name contains this text, or `#N` for the N-th that `devices` lists.
    #[arg(long)]
    pub(crate) adapter: Option<String>,
    #[command(flatten)]
    pub(crate) gpu: GpuArgs,
}

impl DeviceArgs {
    /// The solver these flags ask for (see [`super::make_solver`]).
    pub(crate) fn solver(&self) -> Result<Box<dyn gpu_regfit::fit::Solver>, Error> {
        super::make_solver(self.device, self.adapter.as_deref(), self.gpu.options())
    }
}

/// The λ grid of `path` and `cv`.
#[derive(Args)]
pub(crate) struct GridArgs {
    /// Number of λ values, geometric from λ_max down [default: 100].
    #[arg(long, conflicts_with_all = ["lambdas", "lambdas_file"])]
    n_lambdas: Option<usize>,
    /// The smallest λ as a fraction of λ_max [default: 1e-4 when rows > features, else 1e-2;
    /// scikit-learn's eps is 1e-3].
    #[arg(long, allow_negative_numbers = true, conflicts_with_all = ["lambdas", "lambdas_file"])]
    lambda_min_ratio: Option<f64>,
    /// These λ values instead of the grid (comma-separated); solved from the largest down.
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        conflicts_with = "lambdas_file"
    )]
    lambdas: Option<Vec<f64>>,
    /// The λ values from a file: text with one number a line, or a 1-D .npy.
    #[arg(long)]
    lambdas_file: Option<PathBuf>,
}

impl GridArgs {
    pub(crate) fn grid(&self) -> Result<gpu_regfit::path::LambdaGrid, Error> {
        use gpu_regfit::path::{LambdaGrid, DEFAULT_N_LAMBDAS};
        Ok(match (&self.lambdas, &self.lambdas_file) {
            (Some(values), _) => LambdaGrid::Given(values.clone()),
            (None, Some(file)) => {
                LambdaGrid::Given(gpu_regfit::data::weights::read_numbers(file, "a λ value")?)
            }
            (None, None) => LambdaGrid::Auto {
                n: self.n_lambdas.unwrap_or(DEFAULT_N_LAMBDAS),
                min_ratio: self.lambda_min_ratio,
            },
        })
    }
}

/// The per-λ apg settings of `path` and `cv`.
#[derive(Args)]
pub(crate) struct ApgArgs {
    /// Weight of bias_l1·|b| at every λ.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    bias_l1: f64,
    /// Weight of bias_l2·b² at every λ.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    bias_l2: f64,
    /// Each λ runs apg until its relative duality gap G/J is at most tol [default: 1e-6].
    #[arg(long, allow_negative_numbers = true)]
    tol: Option<f64>,
    /// Most apg iterations per λ [default: 10000].
    #[arg(long)]
    max_iter: Option<usize>,
    /// Fit without an intercept (b = 0).
    #[arg(long)]
    no_intercept: bool,
    /// z-score the features; coefficients are reported on the original scale.
    #[arg(long)]
    standardize: bool,
}

impl ApgArgs {
    /// The config of `model` with these settings (the penalty on W is set per λ).
    pub(crate) fn config(&self, model: Model) -> FitConfig {
        let defaults = FitConfig::default();
        FitConfig {
            model,
            penalty: Penalty {
                bias_l1: self.bias_l1,
                bias_l2: self.bias_l2,
                ..Penalty::default()
            },
            tol: self.tol,
            max_iter: self.max_iter.unwrap_or(defaults.max_iter),
            fit_intercept: !self.no_intercept,
            standardize: self.standardize,
            ..defaults
        }
    }
}
