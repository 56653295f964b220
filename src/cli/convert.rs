//! `convert`: CSV or LIBSVM data to .npy (X and <stem>.target.npy), or LIBSVM / .npz data to
//! SciPy's sparse .npz (X kept sparse; y in <stem>.target.npy) for fast reloads.

use super::args::FormatArg;
use clap::Args;
use gpu_regfit::data::{self, Dataset, Format, LoadOptions};
use gpu_regfit::error::Error;
use gpu_regfit::report;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct ConvertCmd {
    /// Input: .csv (header row; numeric target), .libsvm/.svm or .npz.
    input: PathBuf,
    /// Output X: .npy (dense) or .npz (sparse CSR); y goes to <stem>.target.npy beside it.
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
    let out_format = Format::from_path(&cmd.out).ok();
    if !matches!(out_format, Some(Format::Npy | Format::Npz)) {
        return Err(Error::Format {
            path: cmd.out,
            message: "the output must end in .npy (dense) or .npz (sparse); y is written to \
                      <stem>.target.npy"
                .into(),
        }
        .into());
    }
    let sparse_out = out_format == Some(Format::Npz);
    report::check_writable(&cmd.out)?;
    let options = LoadOptions {
        format: cmd.format.map(FormatArg::format),
        target: cmd.target.as_deref(),
        features: cmd.features,
        // LIBSVM into .npz stays sparse; into .npy it is densified (refused when too large).
        sparse: Some(sparse_out),
        ..LoadOptions::default()
    };
    let mut data = Dataset::load(&cmd.input, &options)?;
    let y_path = data::default_target_path(&cmd.out);
    if sparse_out {
        if !data.is_sparse() {
            let dense = data.x.view().to_owned();
            data.x = data::Matrix::sparse(data::Csr::from_dense(dense.view()));
        }
        let csr = data.x.csr().expect("made sparse above");
        data::write_npz(csr, &cmd.out)?;
        data::write_npy_files_y(&data.y, &y_path)?;
        println!(
            "wrote {} ({} rows × {} features, {} stored, CSR) and {} (y)",
            cmd.out.display(),
            data.n_rows(),
            data.n_features(),
            csr.nnz(),
            y_path.display()
        );
        return Ok(());
    }
    if let Some(csr) = data.x.csr() {
        let dense = csr.to_dense(&cmd.input)?;
        data.x = data::Matrix::from(dense);
    }
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
