//! One error type for the whole library. Every variant carries the bad value or path so the CLI can
//! print one line that names it; `main` maps the variants to exit codes (see [`Error::exit_code`]).

use std::path::PathBuf;

/// Install hint printed whenever no GPU adapter can be found.
pub const INSTALL_HINT: &str = "install a GPU driver; on Linux without a GPU run `apt-get install -y mesa-vulkan-drivers` (software Vulkan)";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path}: file is empty")]
    EmptyFile { path: PathBuf },
    #[error("{path}: line {line}: {message}")]
    Parse {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: non-finite value {value} in {what} at row {row}, column {column}")]
    NonFinite {
        path: PathBuf,
        what: &'static str,
        row: usize,
        column: usize,
        value: f64,
    },
    #[error("{path}: target column `{name}` not found (columns: {available})")]
    UnknownColumn {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error("{path}: {location}: label `{value}` {reason}")]
    Label {
        path: PathBuf,
        location: String,
        value: String,
        reason: String,
    },
    #[error("X has {x_rows} rows but y has {y_rows} ({path})")]
    LengthMismatch {
        path: PathBuf,
        x_rows: usize,
        y_rows: usize,
    },
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParam {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("no GPU adapter found: {hint}", hint = INSTALL_HINT)]
    NoAdapter,
    #[error("no adapter matches `{wanted}` (available: {available})")]
    AdapterNotFound { wanted: String, available: String },
    #[error("{features} features exceed the fused kernel's limit of {limit}")]
    TooManyFeatures { features: usize, limit: usize },
    #[error("{classes} classes exceed the GPU kernel's limit of {limit}; use --device cpu")]
    TooManyClasses { classes: usize, limit: usize },
    #[error("the fit diverged at epoch {epoch}, step {step}: {what} = {value}; lower --lr, or use --standardize")]
    Diverged {
        epoch: usize,
        step: usize,
        what: String,
        value: f64,
    },
    #[error("out of device memory for the {bytes} bytes of data: {message}; pass --gpu-memory-budget to stream it")]
    DeviceMemory { bytes: u64, message: String },
    #[error("GPU error: {0}; check the adapter with `gpu-regfit devices`, or use --device cpu")]
    Gpu(String),
    #[error("the GPU device was lost ({0}): it was reset, removed or ran out of time; run again, or use --device cpu")]
    DeviceLost(String),
    #[error("exact solver failed: {0}")]
    Solver(String),
}

impl Error {
    /// Exit status for the CLI: 2 for bad input, 4 for device failures, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NoAdapter
            | Error::AdapterNotFound { .. }
            | Error::Gpu(_)
            | Error::DeviceLost(_)
            | Error::DeviceMemory { .. } => 4,
            Error::Solver(_) => 1,
            Error::Diverged { .. } => 3,
            _ => 2,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            err,
        }
    }

    /// `Error::Gpu` with wgpu's multi-line report ("Validation Error\n\nCaused by:\n  ...")
    /// folded into one line.
    pub fn gpu(message: impl AsRef<str>) -> Self {
        Error::Gpu(one_line(message.as_ref()))
    }

    pub fn invalid(name: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Error::InvalidParam {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Folds a multi-line message into one line: "A\n\nCaused by:\n  B" becomes "A: B".
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .map(|l| l.trim_end_matches(':'))
        .collect::<Vec<_>>()
        .join(": ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
