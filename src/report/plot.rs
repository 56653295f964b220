//! Loss curves as PNG (plotters, bitmap backend, the DejaVu Sans font embedded so a plot needs
//! nothing from the system). Drawn from a fit's history, both solvers' histories (`compare`), or a
//! history CSV saved earlier (`gpu-regfit plot`). The loss axis is logarithmic when the losses span
//! more than two decades.

use crate::error::{Error, Result};
use crate::fit::HistoryRow;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use serde::Deserialize;
use std::path::Path;
use std::sync::OnceLock;

/// Pixels of a plot.
pub const PLOT_SIZE: (u32, u32) = (960, 600);

/// Losses that span more than this ratio get a log-scale axis.
const LOG_SCALE_SPAN: f64 = 100.0;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

pub(crate) fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Format {
            path: "assets/DejaVuSans.ttf".into(),
            message: "the embedded font could not be loaded".into(),
        })
    }
}

/// "linear regression on DATA" (the source shortened to fit the width), then `suffix`.
pub fn title(model: crate::config::Model, source: &str, suffix: &str) -> String {
    const MAX: usize = 56;
    let short: String = if source.chars().count() > MAX {
        let mut s: String = source.chars().take(MAX - 1).collect();
        s.push('…');
        s
    } else {
        source.to_string()
    };
    format!("{} regression on {short}{suffix}", model.name())
}

/// An RGB bitmap of `w` × `h` as PNG bytes.
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let encode = |e: png::EncodingError| Error::invalid("plot", "png", e.to_string());
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(rgb).map_err(encode)?;
    writer.finish().map_err(encode)?;
    Ok(out)
}

/// One column of a history row, when logged.
type Column = fn(&HistoryRow) -> Option<f64>;

/// One curve: (x, loss) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Line width in pixels (an earlier run is drawn wider, so a later one on top of it shows).
    pub width: u32,
}

/// A loss plot: title, x-axis name, curves.
#[derive(Clone, Debug, PartialEq)]
pub struct LossPlot {
    pub title: String,
    pub x_label: String,
    pub series: Vec<Series>,
}

impl LossPlot {
    /// Curves from histories, each under a name ("" for a single fit): the training objective J
    /// and, when logged, the validation loss. The x axis is the epoch, or the step when some epoch
    /// was logged more than once (--log-every).
    pub fn from_histories(title: &str, runs: &[(&str, &[HistoryRow])]) -> Self {
        let per_step = runs.iter().any(|(_, h)| {
            h.windows(2).any(|w| w[0].epoch == w[1].epoch)
                || h.first().is_some_and(|r| r.epoch == 0)
        });
        let x = |r: &HistoryRow| if per_step { r.step } else { r.epoch } as f64;
        // The first runs wider, so that identical curves (GPU and CPU agree) both show.
        let mut series = Vec::new();
        for (run, (name, history)) in runs.iter().enumerate() {
            let width = if run + 1 < runs.len() { 6 } else { 2 };
            let label = |what: &str| {
                if name.is_empty() {
                    what.to_string()
                } else {
                    format!("{name} {what}")
                }
            };
            series.push(Series {
                label: label("train objective J"),
                points: history.iter().map(|r| (x(r), r.loss)).collect(),
                width,
            });
            let val: Vec<(f64, f64)> = history
                .iter()
                .filter_map(|r| r.val_loss.map(|v| (x(r), v)))
                .collect();
            if !val.is_empty() {
                series.push(Series {
                    label: label("validation loss"),
                    points: val,
                    width,
                });
            }
            // With a penalty, the two terms of J apart (the walkthrough's data and
            // regularization loss).
            if history.iter().any(|r| r.reg_loss > 0.0) {
                series.push(Series {
                    label: label("data loss"),
                    points: history.iter().map(|r| (x(r), r.data_loss)).collect(),
                    width,
                });
                series.push(Series {
                    label: label("regularization loss"),
                    points: history.iter().map(|r| (x(r), r.reg_loss)).collect(),
                    width,
                });
            }
            // A single classifier's accuracies share the axis (both lie in [0, 1]).
            if runs.len() == 1 {
                let accuracies: [(&str, Column); 2] = [
                    ("train accuracy", |r| r.train_accuracy),
                    ("validation accuracy", |r| r.val_accuracy),
                ];
                for (what, acc) in accuracies {
                    let points: Vec<(f64, f64)> = history
                        .iter()
                        .filter_map(|r| acc(r).map(|a| (x(r), a)))
                        .collect();
                    if !points.is_empty() {
                        series.push(Series {
                            label: label(what),
                            points,
                            width,
                        });
                    }
                }
            }
        }
        LossPlot {
            title: title.to_string(),
            x_label: if per_step { "step" } else { "epoch" }.into(),
            series,
        }
    }

    fn bounds(&self) -> Option<((f64, f64), (f64, f64))> {
        let points = self.series.iter().flat_map(|s| &s.points);
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        let mut any = false;
        for &(x, y) in points {
            any = true;
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        any.then_some(((x0, x1), (y0, y1)))
    }

    /// Whether the loss axis is logarithmic (positive losses spanning more than two decades).
    pub fn log_scale(&self) -> bool {
        self.bounds()
            .is_some_and(|(_, (y0, y1))| y0 > 0.0 && y1 / y0 > LOG_SCALE_SPAN)
    }

    /// The plot as PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>> {
        register_font()?;
        let Some(((x0, x1), (y0, y1))) = self.bounds() else {
            return Err(Error::invalid("plot", "empty history", "nothing to draw"));
        };
        let (w, h) = PLOT_SIZE;
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        let x_range = if x1 > x0 { x0..x1 } else { x0 - 0.5..x1 + 0.5 };
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            let drawn = if self.log_scale() {
                self.draw(&root, x_range, (y0 / 1.2..y1 * 1.2).log_scale())
            } else {
                let pad = ((y1 - y0) * 0.05).max(y1.abs() * 1e-6).max(1e-12);
                self.draw(&root, x_range, y0 - pad..y1 + pad)
            };
            drawn.map_err(|message| Error::invalid("plot", "drawing", message))?;
        }
        encode_png(&rgb, w, h)
    }

    fn draw<Y>(
        &self,
        root: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
        x: std::ops::Range<f64>,
        y: Y,
    ) -> std::result::Result<(), String>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(x, y)
            .map_err(err)?;
        let accuracy = self.series.iter().any(|s| s.label.contains("accuracy"));
        let y_desc = match (self.log_scale(), accuracy) {
            (true, true) => "loss, accuracy (log scale)",
            (true, false) => "loss (log scale)",
            (false, true) => "loss, accuracy",
            (false, false) => "loss",
        };
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(y_desc)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(err)?;
        const COLORS: [RGBColor; 6] = [
            RGBColor(31, 119, 180),
            RGBColor(255, 127, 14),
            RGBColor(44, 160, 44),
            RGBColor(214, 39, 40),
            RGBColor(148, 103, 189),
            RGBColor(140, 86, 75),
        ];
        for (i, s) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let width = s.width;
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    color.stroke_width(width),
                ))
                .map_err(err)?
                .label(s.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(width))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
        Ok(())
    }

    /// Draws the plot into `path` (PNG), atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        super::write_atomic(path, &self.png()?)
    }
}

/// The columns of a history CSV that a plot needs (`solver` only in `compare --history` files).
#[derive(Deserialize)]
struct PlotRow {
    #[serde(default)]
    solver: Option<String>,
    epoch: usize,
    step: usize,
    loss: f64,
    #[serde(default)]
    val_loss: Option<f64>,
}

/// Reads a history CSV written by `fit --history` or `compare --history` into named histories
/// (one per solver; the name is empty for a single fit).
pub fn read_history(path: &Path) -> Result<Vec<(String, Vec<HistoryRow>)>> {
    let file = crate::data::open_input(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let mut runs: Vec<(String, Vec<HistoryRow>)> = Vec::new();
    for record in reader.deserialize::<PlotRow>() {
        let row = record.map_err(|e| Error::Parse {
            path: path.into(),
            line: e.position().map_or(0, |p| p.line()),
            message: match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => format!(
                    "{err} (a history has columns epoch, step, loss and optionally val_loss, solver)"
                ),
                _ => e.to_string(),
            },
        })?;
        let line = runs.iter().map(|r| r.1.len()).sum::<usize>() as u64 + 2;
        if !row.loss.is_finite() || row.val_loss.is_some_and(|v| !v.is_finite()) {
            return Err(Error::Parse {
                path: path.into(),
                line,
                message: "non-finite loss".into(),
            });
        }
        let name = row.solver.unwrap_or_default();
        let history = HistoryRow {
            epoch: row.epoch,
            step: row.step,
            data_loss: f64::NAN,
            reg_loss: f64::NAN,
            loss: row.loss,
            train_accuracy: None,
            val_loss: row.val_loss,
            val_accuracy: None,
            lr: f64::NAN,
            seconds: f64::NAN,
            duality_gap: None,
        };
        match runs.iter_mut().find(|(n, _)| *n == name) {
            Some((_, rows)) => rows.push(history),
            None => runs.push((name, vec![history])),
        }
    }
    if runs.is_empty() {
        return Err(Error::Format {
            path: path.into(),
            message: "the history has no rows".into(),
        });
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize, step: usize, loss: f64) -> HistoryRow {
        HistoryRow {
            epoch,
            step,
            data_loss: loss,
            reg_loss: 0.0,
            loss,
            train_accuracy: None,
            val_loss: None,
            val_accuracy: None,
            lr: 0.1,
            seconds: 0.0,
            duality_gap: None,
        }
    }

    #[test]
    fn log_scale_only_past_two_decades_and_step_axis_with_log_every() {
        let narrow = [row(1, 10, 50.0), row(2, 20, 0.6)];
        let wide = [row(1, 10, 50.0), row(2, 20, 0.4)];
        assert!(!LossPlot::from_histories("t", &[("", &narrow)]).log_scale());
        assert!(LossPlot::from_histories("t", &[("", &wide)]).log_scale());
        let per_epoch = LossPlot::from_histories("t", &[("", &wide)]);
        assert_eq!(per_epoch.x_label, "epoch");
        assert_eq!(per_epoch.series[0].points, vec![(1.0, 50.0), (2.0, 0.4)]);
        let mid_epoch = [row(1, 10, 5.0), row(1, 20, 4.0), row(2, 30, 3.0)];
        let per_step = LossPlot::from_histories("t", &[("", &mid_epoch)]);
        assert_eq!(per_step.x_label, "step");
        assert_eq!(per_step.series[0].points[1], (20.0, 4.0));
        let png = per_step.png().unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
