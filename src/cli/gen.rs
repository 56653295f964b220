//! `gen`: synthetic data (linear, spiral, classification) as .csv or .npy, with the truth as JSON.

use clap::{Args, Subcommand};
use gpu_regfit::data::{self, generate, Dataset, Format};
use gpu_regfit::error::Error;
use gpu_regfit::report;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum GenCmd {
    /// y = X·w* + b* + noise with exactly --informative nonzero true coefficients.
    Linear(GenLinear),
    /// The classic spiral: --points per class on --classes interleaved arms (2 features).
    Spiral(GenSpiral),
    /// Gaussian clusters whose class depends on --informative features only.
    Classification(GenClassification),
    /// Sparse X with power-law column frequencies (as words in text), written as .libsvm or
    /// SciPy .npz; y linear or logistic (0/1) from --informative true coefficients.
    Sparse(GenSparse),
}

#[derive(Args)]
pub(crate) struct GenSparse {
    #[arg(long)]
    rows: usize,
    #[arg(long)]
    features: usize,
    /// Expected fraction of rows × features stored (e.g. 1e-4).
    #[arg(long)]
    density: f64,
    #[arg(long)]
    informative: usize,
    #[arg(long, value_enum, default_value = "linear")]
    model: SparseModelArg,
    /// Standard deviation of the noise on a linear target.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    noise: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: .libsvm/.svm, or .npz (y in <stem>.target.npy). The true coefficients (by LIBSVM
    /// index) go to FILE.truth.json.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum SparseModelArg {
    Linear,
    Logistic,
}

#[derive(Args)]
pub(crate) struct GenSpiral {
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
pub(crate) struct GenClassification {
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
pub(crate) struct GenLinear {
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

pub(crate) fn run_gen_linear(cmd: GenLinear) -> anyhow::Result<()> {
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

pub(crate) fn run_gen_spiral(cmd: GenSpiral) -> anyhow::Result<()> {
    check_gen_output(&cmd.out)?;
    let data = generate::spiral(&generate::SpiralSpec {
        points: cmd.points,
        classes: cmd.classes,
        noise: cmd.noise,
        seed: cmd.seed,
    })?;
    write_generated(&cmd.out, &data)
}

pub(crate) fn run_gen_sparse(cmd: GenSparse) -> anyhow::Result<()> {
    report::check_writable(&cmd.out)?;
    let format = Format::from_path(&cmd.out).ok();
    if !matches!(format, Some(Format::Libsvm | Format::Npz)) {
        return Err(Error::Format {
            path: cmd.out,
            message: "unknown output type: expected .libsvm/.svm or .npz".into(),
        }
        .into());
    }
    let (data, truth) = generate::sparse(&generate::SparseSpec {
        rows: cmd.rows,
        features: cmd.features,
        density: cmd.density,
        informative: cmd.informative,
        model: match cmd.model {
            SparseModelArg::Linear => generate::SparseModel::Linear,
            SparseModelArg::Logistic => generate::SparseModel::Logistic,
        },
        noise: cmd.noise,
        seed: cmd.seed,
    })?;
    let csr = data.x.csr().expect("gen sparse keeps X sparse");
    if format == Some(Format::Npz) {
        let y_path = data::default_target_path(&cmd.out);
        data::write_npz(csr, &cmd.out)?;
        data::write_npy_files_y(&data.y, &y_path)?;
        println!(
            "wrote {} (X: {} × {}, {} stored) and {} (y)",
            cmd.out.display(),
            data.n_rows(),
            data.n_features(),
            csr.nnz(),
            y_path.display()
        );
    } else {
        data::write_libsvm(&data, &cmd.out)?;
        println!(
            "wrote {} ({} × {}, {} stored)",
            cmd.out.display(),
            data.n_rows(),
            data.n_features(),
            csr.nnz()
        );
    }
    write_truth(
        &cmd.out,
        &truth,
        "nonzero true coefficients by LIBSVM index",
    )
}

pub(crate) fn run_gen_classification(cmd: GenClassification) -> anyhow::Result<()> {
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
