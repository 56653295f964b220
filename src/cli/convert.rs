//! `convert`: CSV or LIBSVM data to .npy (X and <stem>.target.npy).

use super::args::FormatArg;
use clap::Args;
use gpu_regfit::data::{self, Dataset, Format, LoadOptions};
use gpu_regfit::error::Error;
use gpu_regfit::report;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct ConvertCmd {
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

pub(crate) fn run_convert(cmd: ConvertCmd) -> anyhow::Result<()> {
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
