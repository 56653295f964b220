//! What `gpu-regfit path` writes: path.json (one list per quantity, one entry per λ), an optional
//! CSV with one row per λ, and glmnet's coefficient plot (each coefficient against log λ, with
//! nnz on a top axis).

use super::{weights_json, CoefJson, InterceptJson};
use crate::config::Model;
use crate::error::{Error, Result};
use crate::path::PathResult;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// path.json: every list has one entry per λ solved, largest λ first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathJson {
    pub model: Model,
    pub l1_ratio: f64,
    pub lambda_max: f64,
    pub lambda: Vec<f64>,
    pub l1: Vec<f64>,
    pub l2: Vec<f64>,
    /// Shaped as a model's coef: a list of d, or K lists of d for softmax.
    pub coef: Vec<CoefJson>,
    pub intercept: Vec<InterceptJson>,
    pub nnz: Vec<usize>,
    pub objective: Vec<f64>,
    /// null where the problem has no penalty on W (no certificate).
    pub duality_gap: Vec<Option<f64>>,
    pub deviance_explained: Vec<f64>,
    pub iterations: Vec<usize>,
    pub converged: Vec<bool>,
    pub feature_names: Vec<String>,
    /// Why the path stopped before its last λ, if it did.
    pub stopped_early: Option<String>,
    pub device: String,
    pub seconds: f64,
}

impl PathJson {
    pub fn new(result: &PathResult, feature_names: &[String]) -> Self {
        let (coef, intercept) = result
            .points
            .iter()
            .map(|p| weights_json(result.model, &p.weights))
            .unzip();
        let list = |f: &dyn Fn(&crate::path::PathPoint) -> f64| -> Vec<f64> {
            result.points.iter().map(f).collect()
        };
        PathJson {
            model: result.model,
            l1_ratio: result.l1_ratio,
            lambda_max: result.lambda_max,
            lambda: list(&|p| p.lambda),
            l1: list(&|p| p.l1),
            l2: list(&|p| p.l2),
            coef,
            intercept,
            nnz: result.points.iter().map(|p| p.nnz).collect(),
            objective: list(&|p| p.objective),
            duality_gap: result.points.iter().map(|p| p.duality_gap).collect(),
            deviance_explained: list(&|p| p.deviance_explained),
            iterations: result.points.iter().map(|p| p.iterations).collect(),
            converged: result.points.iter().map(|p| p.converged).collect(),
            feature_names: feature_names.to_vec(),
            stopped_early: result.stopped_early.clone(),
            device: result.device.clone(),
            seconds: result.seconds,
        }
    }
}

/// One row per λ: lambda, l1, l2, nnz, objective, duality_gap, deviance_explained, iterations,
/// then the intercept(s) and the coefficients (`<feature>` or `class<k>:<feature>` for softmax).
pub fn path_csv(result: &PathResult, feature_names: &[String]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let outputs = result.points.first().map_or(1, |p| p.weights.outputs);
    let mut header: Vec<String> = [
        "lambda",
        "l1",
        "l2",
        "nnz",
        "objective",
        "duality_gap",
        "deviance_explained",
        "iterations",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let named = |k: usize, name: &str| {
        if outputs > 1 {
            format!("class{k}:{name}")
        } else {
            name.to_string()
        }
    };
    for k in 0..outputs {
        header.push(named(k, "intercept"));
    }
    for k in 0..outputs {
        header.extend(feature_names.iter().map(|f| named(k, f)));
    }
    let csv_err = |e: csv::Error| Error::invalid("csv", "path", e.to_string());
    w.write_record(&header).map_err(csv_err)?;
    for p in &result.points {
        let mut row = vec![
            p.lambda.to_string(),
            p.l1.to_string(),
            p.l2.to_string(),
            p.nnz.to_string(),
            p.objective.to_string(),
            p.duality_gap.map_or(String::new(), |g| g.to_string()),
            p.deviance_explained.to_string(),
            p.iterations.to_string(),
        ];
        row.extend(p.weights.intercepts().iter().map(|b| b.to_string()));
        for k in 0..p.weights.outputs {
            row.extend(p.weights.coef(k).iter().map(|c| c.to_string()));
        }
        w.write_record(&row).map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| Error::invalid("csv", "path", e.to_string()))
}

/// glmnet's path plot: every coefficient against log10 λ (largest λ on the left, as the path
/// runs), the number of nonzero coefficients on a top axis.
pub fn path_png(result: &PathResult, title: &str) -> Result<Vec<u8>> {
    super::plot::register_font()?;
    let points = &result.points;
    if points.is_empty() {
        return Err(Error::invalid("plot", "empty path", "no λ was solved"));
    }
    // log10 λ; λ = 0 has no place on a log axis, so it is left out of the plot.
    let shown: Vec<&crate::path::PathPoint> = points.iter().filter(|p| p.lambda > 0.0).collect();
    if shown.is_empty() {
        return Err(Error::invalid(
            "plot",
            "λ = 0",
            "a log-λ plot needs some λ > 0",
        ));
    }
    let xs: Vec<f64> = shown.iter().map(|p| p.lambda.log10()).collect();
    let (mut x0, mut x1) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    if x1 - x0 < 1e-9 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    let outputs = shown[0].weights.outputs;
    let d = shown[0].weights.features;
    let (mut y0, mut y1) = (0.0f64, 0.0f64);
    for p in &shown {
        for k in 0..outputs {
            for &c in p.weights.coef(k) {
                y0 = y0.min(c);
                y1 = y1.max(c);
            }
        }
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let (w, h) = super::plot::PLOT_SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| Error::invalid("plot", "drawing", e.to_string());
        root.fill(&WHITE).map_err(err)?;
        // x is −log10 λ, so that the largest λ is on the left; the labels give log10 λ.
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .top_x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(-x1..-x0, y0 - pad..y1 + pad)
            .map_err(err)?
            .set_secondary_coord(-x1..-x0, y0 - pad..y1 + pad);
        let neg_log = |x: &f64| format!("{:.2}", -x + 0.0);
        chart
            .configure_mesh()
            .x_desc("log10 λ")
            .y_desc("coefficient")
            .x_label_formatter(&neg_log)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(err)?;
        // The top axis: nnz of the solved λ nearest each tick.
        let nnz_at = |x: &f64| {
            let target = -x;
            let nearest = shown
                .iter()
                .min_by(|a, b| {
                    (a.lambda.log10() - target)
                        .abs()
                        .total_cmp(&(b.lambda.log10() - target).abs())
                })
                .map_or(0, |p| p.nnz);
            nearest.to_string()
        };
        chart
            .configure_secondary_axes()
            .x_desc("nonzero coefficients")
            .x_label_formatter(&nnz_at)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(err)?;
        for k in 0..outputs {
            for j in 0..d {
                let color = Palette99::pick(k * d + j).to_rgba();
                chart
                    .draw_series(LineSeries::new(
                        shown
                            .iter()
                            .map(|p| (-p.lambda.log10(), p.weights.coef(k)[j])),
                        color.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    super::plot::encode_png(&rgb, w, h)
}

/// Writes the path plot to `path` (PNG), atomically.
pub fn write_path_plot(result: &PathResult, title: &str, path: &Path) -> Result<()> {
    super::write_atomic(path, &path_png(result, title)?)
}
