//! `plot`: the loss curves of a history CSV as PNG.

use super::check_png;
use clap::Args;
use gpu_regfit::fit;
use gpu_regfit::report::plot::{self, LossPlot};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct PlotCmd {
    /// A history CSV written by `fit --history` or `compare --history`.
    history: PathBuf,
    /// The PNG to write.
    #[arg(long)]
    out: PathBuf,
    /// Title of the plot (default: the history's file name).
    #[arg(long)]
    title: Option<String>,
}

pub(crate) fn run_plot(cmd: PlotCmd) -> anyhow::Result<()> {
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
