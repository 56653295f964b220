//! The progress bar on stderr (indicatif): epoch, loss, rows per second and ETA. It is drawn only
//! when stderr is a terminal and `--quiet` is not given; otherwise it is hidden and costs nothing.

use crate::fit::ProgressUpdate;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Whether a progress bar should be drawn: stderr is a terminal and the user did not ask for quiet.
pub fn visible(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// The text after the bar: "epoch 3/20  loss 1.234e-2  val 1.301e-2  1.52M rows/s".
pub fn message(u: &ProgressUpdate) -> String {
    let mut s = format!(
        "epoch {}/{}  loss {:.4e}",
        u.row.epoch, u.epochs, u.row.loss
    );
    if let Some(v) = u.row.val_loss {
        s.push_str(&format!("  val {v:.4e}"));
    }
    if u.run_seconds > 0.0 {
        s.push_str(&format!(
            "  {} rows/s",
            si(u.rows_seen as f64 / u.run_seconds)
        ));
    }
    s
}

/// 1234567 -> "1.23M".
fn si(v: f64) -> String {
    let (scaled, unit) = match v {
        v if v >= 1e9 => (v / 1e9, "G"),
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e3 => (v / 1e3, "k"),
        v => (v, ""),
    };
    format!("{scaled:.2}{unit}")
}

/// A bar over a fit's steps (or a bench's sizes), labelled with `prefix`.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar of `len` units; hidden unless `visible`.
    pub fn new(prefix: &str, len: u64, visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>4} [{bar:30.cyan/blue}] {pos}/{len} {msg} ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(prefix.to_string());
        Bar { bar }
    }

    /// Moves a fit's bar to the update's step.
    pub fn fit_update(&self, u: &ProgressUpdate) {
        if self.bar.length() != Some(u.total_steps as u64) {
            self.bar.set_length(u.total_steps as u64);
        }
        self.bar.set_position(u.row.step as u64);
        self.bar.set_message(message(u));
    }

    /// Moves the bar to `pos` with `msg`.
    pub fn set(&self, pos: u64, msg: String) {
        self.bar.set_position(pos);
        self.bar.set_message(msg);
    }

    /// Prints a line above the bar (or plainly when hidden).
    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::HistoryRow;

    #[test]
    fn message_names_epoch_loss_and_rate() {
        let row = HistoryRow {
            epoch: 3,
            step: 30,
            data_loss: 0.5,
            reg_loss: 0.01,
            loss: 0.51,
            train_accuracy: None,
            val_loss: Some(0.6),
            val_accuracy: None,
            lr: 0.1,
            seconds: 2.0,
            duality_gap: None,
        };
        let u = ProgressUpdate {
            row: &row,
            epochs: 20,
            total_steps: 200,
            rows_seen: 3_000_000,
            run_seconds: 2.0,
        };
        assert_eq!(
            message(&u),
            "epoch 3/20  loss 5.1000e-1  val 6.0000e-1  1.50M rows/s"
        );
    }
}
