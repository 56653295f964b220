//! `fit`: fit one model and write it (model JSON, history CSV, plot, checkpoints).

use super::args::{default_batch_fits, DataArgs, DeviceArgs, ModelArgs, ViewArgs};
use super::{
    check_png, load_data, note_interrupted, note_streaming, warn_constant_columns,
    warn_not_converged, STOP,
};
use crate::Outcome;
use anyhow::Context;
use clap::Args;
use gpu_regfit::checkpoint::{Checkpoint, CheckpointPlan};
use gpu_regfit::error::Error;
use gpu_regfit::fit::{self, ProgressUpdate, RunControl};
use gpu_regfit::report::plot::{self, LossPlot};
use gpu_regfit::report::progress::{self, Bar};
use gpu_regfit::report::{self, FitSummary, ModelJson};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct FitCmd {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    device: DeviceArgs,
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

pub(crate) fn run_fit(cmd: FitCmd) -> anyhow::Result<Outcome> {
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
    let mut solver = cmd.device.solver()?;
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
        ..RunControl::default()
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
        let title = match &fitted.weights.net {
            Some(_) => format!(
                "network {} on {}",
                gpu_regfit::network::shape_text(&fitted.weights),
                data.source
            ),
            None => plot::title(cfg.model, &data.source, ""),
        };
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
