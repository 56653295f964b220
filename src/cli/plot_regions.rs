//! `plot-regions`: the decision regions of a 2-feature classifier over its data, as PNG.

use super::check_png;
use clap::Args;
use gpu_regfit::data::{self, Dataset, Format, LoadOptions};
use gpu_regfit::predict::Predictor;
use gpu_regfit::report::{self, regions};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct PlotRegionsCmd {
    /// A classifier model file with 2 features, written by `fit --out`.
    #[arg(long)]
    model: PathBuf,
    /// The points to draw, with their labels: .csv (columns matched to the model's features by
    /// name), .npy (labels in <stem>.target.npy) or .libsvm.
    #[arg(long)]
    data: PathBuf,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
    /// Label column of a CSV file (default: the model's target column when present, else the
    /// last column).
    #[arg(long)]
    target: Option<String>,
    /// Title of the plot (default: the model kind and the data's file name).
    #[arg(long)]
    title: Option<String>,
    /// Width in pixels.
    #[arg(long, default_value_t = regions::REGIONS_SIZE.0)]
    width: u32,
    /// Height in pixels.
    #[arg(long, default_value_t = regions::REGIONS_SIZE.1)]
    height: u32,
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The data with the model's features in order and the labels as the model's class indices.
fn load_points(cmd: &PlotRegionsCmd, predictor: &Predictor) -> anyhow::Result<Dataset> {
    let format = Format::from_path(&cmd.data)?;
    let target = match (&cmd.target, format) {
        (Some(t), _) => Some(t.as_str()),
        (None, Format::Csv) => data::csv_headers(&cmd.data)?
            .contains(&predictor.target_name)
            .then_some(predictor.target_name.as_str()),
        (None, _) => None,
    };
    let options = LoadOptions {
        format: Some(format),
        target,
        target_file: None,
        text_target: predictor.model.is_classifier(),
        features: Some(predictor.feature_names.len()),
        // Two features: always dense.
        sparse: Some(false),
    };
    let mut loaded = Dataset::load(&cmd.data, &options)?;
    // A .npz is read sparse; the regions of a 2-feature model need its few columns dense.
    if let Some(csr) = loaded.x.csr() {
        if csr.ncols() != predictor.feature_names.len() {
            return Err(gpu_regfit::error::Error::Format {
                path: cmd.data.clone(),
                message: format!(
                    "has {} feature columns but the model has {}",
                    csr.ncols(),
                    predictor.feature_names.len()
                ),
            }
            .into());
        }
        let dense = csr.to_dense(&cmd.data)?;
        loaded.x = gpu_regfit::data::Matrix::from(dense);
        loaded.feature_names = predictor.feature_names.clone();
    }
    let (mut points, warning) = predictor.align(loaded)?;
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    predictor.encode_target(&mut points)?;
    Ok(points)
}

pub(crate) fn run_plot_regions(cmd: PlotRegionsCmd) -> anyhow::Result<crate::Outcome> {
    check_png(&cmd.out)?;
    let predictor = Predictor::load(&cmd.model)?;
    regions::check_predictor(&predictor)?;
    let points = load_points(&cmd, &predictor)?;
    let title = cmd.title.clone().unwrap_or_else(|| {
        format!(
            "{} decision regions on {}",
            predictor.model.name(),
            file_name(&cmd.data)
        )
    });
    let accuracy = regions::accuracy(&predictor, &points)?;
    let png = regions::regions_png(&predictor, &points, &title, cmd.width, cmd.height)?;
    report::write_atomic(&cmd.out, &png)?;
    println!(
        "wrote {} ({} model, {} classes, {} points, accuracy {accuracy:.4})",
        cmd.out.display(),
        predictor.model.name(),
        predictor.classes.as_ref().map_or(0, Vec::len),
        points.n_rows()
    );
    Ok(crate::Outcome::Done)
}
