//! What `gpu-regfit cv` writes: cv.json (cv.glmnet's cvm, cvsd, nzero, lambda.min and
//! lambda.1se, per l1 ratio) and cv.glmnet's plot (the mean score ± one standard error against
//! log λ, dotted lines at the two choices, nnz on a top axis).

use crate::config::Model;
use crate::cv::{CvCurve, CvResult, Scoring, Select};
use crate::error::{Error, Result};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// cv.json. `lambda`, `cv_mean`, `cv_se` and `nnz` are those of the l1 ratio chosen
/// (`l1_ratio_min`), largest λ first; `curves` has every l1 ratio's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CvJson {
    pub model: Model,
    pub scoring: Scoring,
    pub folds: usize,
    pub lambda: Vec<f64>,
    pub cv_mean: Vec<f64>,
    pub cv_se: Vec<f64>,
    pub nnz: Vec<usize>,
    pub lambda_min: f64,
    pub l1_ratio_min: f64,
    pub lambda_1se: f64,
    /// "min" or "1se": the λ of the model written by --out.
    pub selected: Select,
    pub selected_lambda: f64,
    pub l1_ratio: Vec<f64>,
    pub curves: Vec<CvCurve>,
    /// Models per pass over X, and passes made.
    pub block: usize,
    pub passes: usize,
    pub device: String,
    pub seconds: f64,
}

impl CvJson {
    pub fn new(r: &CvResult) -> Self {
        let best = &r.curves[r.best.0];
        CvJson {
            model: r.model,
            scoring: r.scoring,
            folds: r.folds,
            lambda: best.lambda.clone(),
            cv_mean: best.cv_mean.clone(),
            cv_se: best.cv_se.clone(),
            nnz: best.nnz.clone(),
            lambda_min: r.lambda_min(),
            l1_ratio_min: r.l1_ratio_min(),
            lambda_1se: r.lambda_1se(),
            selected: r.select,
            selected_lambda: r.selected_lambda(),
            l1_ratio: r.curves.iter().map(|c| c.l1_ratio).collect(),
            curves: r.curves.clone(),
            block: r.block,
            passes: r.passes,
            device: r.device.clone(),
            seconds: r.seconds,
        }
    }
}

/// cv.glmnet's plot: each l1 ratio's mean score with ± one standard error bars against log10 λ
/// (largest λ on the left), dotted vertical lines at lambda_min and lambda_1se, and the nnz of the
/// chosen ratio's models of all rows on a top axis.
pub fn cv_png(r: &CvResult, title: &str) -> Result<Vec<u8>> {
    super::plot::register_font()?;
    let shown = |c: &CvCurve| -> Vec<(f64, f64, f64)> {
        c.lambda
            .iter()
            .zip(c.cv_mean.iter().zip(&c.cv_se))
            .filter(|(l, _)| **l > 0.0)
            .map(|(l, (m, s))| (l.log10(), *m, *s))
            .collect()
    };
    let all: Vec<(f64, f64, f64)> = r.curves.iter().flat_map(shown).collect();
    if all.is_empty() {
        return Err(Error::invalid(
            "plot",
            "λ = 0",
            "a log-λ plot needs some λ > 0",
        ));
    }
    let (mut x0, mut x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    if x1 - x0 < 1e-9 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    let (y0, y1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(p.1 - p.2), b.max(p.1 + p.2))
    });
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let (w, h) = super::plot::PLOT_SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| Error::invalid("plot", "drawing", e.to_string());
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .top_x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(-x1..-x0, y0..y1)
            .map_err(err)?
            .set_secondary_coord(-x1..-x0, y0..y1);
        let neg_log = |x: &f64| format!("{:.2}", -x + 0.0);
        let y_desc = format!("{} ({}-fold)", r.scoring.name(), r.folds);
        chart
            .configure_mesh()
            .x_desc("log10 λ")
            .y_desc(y_desc)
            .x_label_formatter(&neg_log)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(err)?;
        let best = &r.curves[r.best.0];
        let nnz_at = |x: &f64| {
            let target = -x;
            best.lambda
                .iter()
                .zip(&best.nnz)
                .filter(|(l, _)| **l > 0.0)
                .min_by(|a, b| {
                    (a.0.log10() - target)
                        .abs()
                        .total_cmp(&(b.0.log10() - target).abs())
                })
                .map_or(String::new(), |(_, n)| n.to_string())
        };
        chart
            .configure_secondary_axes()
            .x_desc("nonzero coefficients")
            .x_label_formatter(&nnz_at)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(err)?;
        for (c, curve) in r.curves.iter().enumerate() {
            let color = if r.curves.len() == 1 {
                RED.to_rgba()
            } else {
                Palette99::pick(c).to_rgba()
            };
            let pts = shown(curve);
            chart
                .draw_series(pts.iter().map(|&(x, m, s)| {
                    ErrorBar::new_vertical(-x, m - s, m, m + s, color.mix(0.5).filled(), 6)
                }))
                .map_err(err)?;
            let series = chart
                .draw_series(
                    pts.iter()
                        .map(|&(x, m, _)| Circle::new((-x, m), 3, color.filled())),
                )
                .map_err(err)?;
            if r.curves.len() > 1 {
                series
                    .label(format!("l1_ratio {}", curve.l1_ratio))
                    .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
            }
        }
        // Dotted lines at the two choices.
        for lambda in [r.lambda_min(), r.lambda_1se()] {
            if lambda > 0.0 {
                let x = -lambda.log10();
                let steps = 60;
                chart
                    .draw_series((0..steps).step_by(2).map(|i| {
                        let a = y0 + (y1 - y0) * i as f64 / steps as f64;
                        let b = y0 + (y1 - y0) * (i + 1) as f64 / steps as f64;
                        PathElement::new(vec![(x, a), (x, b)], BLACK.stroke_width(1))
                    }))
                    .map_err(err)?;
            }
        }
        if r.curves.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 16))
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    super::plot::encode_png(&rgb, w, h)
}

/// Writes the cv plot to `path` (PNG), atomically.
pub fn write_cv_plot(r: &CvResult, title: &str, path: &Path) -> Result<()> {
    super::write_atomic(path, &cv_png(r, title)?)
}
