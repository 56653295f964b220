//! `predict`: apply a saved model to data and write the predictions CSV.

use super::args::FormatArg;
use clap::Args;
use gpu_regfit::data::{self, Format};
use gpu_regfit::error::Error;
use gpu_regfit::predict::Predictor;
use gpu_regfit::report;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct PredictCmd {
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

pub(crate) fn run_predict(cmd: PredictCmd) -> anyhow::Result<()> {
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
            data::read_libsvm(&cmd.data, Some(predictor.feature_names.len()), None)?,
            true,
        ),
        Format::Npz => {
            // Scored when its <stem>.target.npy is there.
            let y = data::default_target_path(&cmd.data);
            if y.exists() {
                (data::read_npz(&cmd.data, &y)?, true)
            } else {
                (data::read_npz_x_only(&cmd.data)?, false)
            }
        }
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
