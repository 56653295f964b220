//! Decision regions of a 2-feature classifier as PNG (`gpu-regfit plot-regions`): the model is
//! evaluated on a grid over the data's bounding box, each cell is tinted with its predicted class
//! (lighter where the model is less sure), and the data points are drawn on top in the colour of
//! their true class. Any model the [`Predictor`] API can apply is drawn the same way.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::predict::Predictor;
use ndarray::{Array1, Array2};
use plotters::prelude::*;
use std::path::Path;

/// Default size of a decision-region plot in pixels.
pub const REGIONS_SIZE: (u32, u32) = (900, 720);

/// Grid cells per axis on which the model is evaluated.
pub const GRID: usize = 300;

/// Smallest and largest width or height accepted, in pixels.
const MIN_SIZE: (u32, u32) = (400, 300);
const MAX_SIDE: u32 = 8192;

/// Most data points drawn (every n-th row beyond that; the accuracy counts every row).
const MAX_POINTS: usize = 20_000;

/// Margin around the data's bounding box, as a fraction of its span.
const MARGIN: f64 = 0.075;

/// Confidence bands of the region tint (lighter: less confident).
const BANDS: f64 = 4.0;

/// Class colours (matplotlib's tab10), then plotters' Palette99 beyond ten classes.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of class `k`.
pub fn class_color(k: usize) -> RGBColor {
    match COLORS.get(k) {
        Some(c) => *c,
        None => {
            let (r, g, b) = Palette99::pick(k).rgb();
            RGBColor(r, g, b)
        }
    }
}

/// `c` mixed with white: `strength` 0 is white, 1 the colour itself.
fn tint(c: RGBColor, strength: f64) -> RGBColor {
    let mix = |v: u8| (255.0 - (255.0 - v as f64) * strength).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// Checks that `predictor` can be drawn: a classifier with exactly 2 features and its class list.
pub fn check_predictor(predictor: &Predictor) -> Result<()> {
    if !predictor.model.is_classifier() {
        return Err(Error::invalid(
            "model",
            predictor.model.name(),
            "decision regions need a classifier (logistic or softmax); this model predicts numbers",
        ));
    }
    let d = predictor.feature_names.len();
    if d != 2 {
        return Err(Error::invalid(
            "model",
            format!(
                "{d} features ({})",
                crate::data::labels::preview(predictor.feature_names.iter(), 5)
            ),
            "decision regions are drawn in the plane: the model must have exactly 2 features",
        ));
    }
    match &predictor.classes {
        Some(c) if c.len() >= 2 => Ok(()),
        other => Err(Error::invalid(
            "model",
            format!("{} classes", other.as_ref().map_or(0, Vec::len)),
            "decision regions need the model's class labels (at least 2)",
        )),
    }
}

/// The true class index of every row: y must hold indices 0..K−1 (see
/// [`Predictor::encode_target`]).
fn true_classes(data: &Dataset, k: usize) -> Result<Vec<usize>> {
    data.y
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v >= 0.0 && v.fract() == 0.0 && (v as usize) < k {
                Ok(v as usize)
            } else {
                Err(Error::Format {
                    path: data.source.clone().into(),
                    message: format!(
                        "{}: target {v} is not a class index of the model (0..{})",
                        data.locate(i),
                        k - 1
                    ),
                })
            }
        })
        .collect()
}

fn check_data(data: &Dataset) -> Result<()> {
    if data.n_features() != 2 {
        return Err(Error::Format {
            path: data.source.clone().into(),
            message: format!(
                "has {} feature columns; decision regions are drawn for exactly 2",
                data.n_features()
            ),
        });
    }
    Ok(())
}

/// The fraction of rows of `data` (targets encoded as class indices) the model classifies right.
pub fn accuracy(predictor: &Predictor, data: &Dataset) -> Result<f64> {
    check_predictor(predictor)?;
    check_data(data)?;
    let k = predictor.classes.as_ref().map_or(0, Vec::len);
    let truth = true_classes(data, k)?;
    let predicted = predictor.predict(data).values;
    let right = truth
        .iter()
        .zip(&predicted)
        .filter(|(t, p)| **t as f64 == **p)
        .count();
    Ok(right as f64 / truth.len().max(1) as f64)
}

/// (low, high) of column `j` with the margin added; a constant column gets a unit-wide window.
fn axis_range(data: &Dataset, j: usize) -> (f64, f64) {
    let col = data.x.view();
    let col = col.column(j);
    let (lo, hi) = col.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| {
        (a.min(v as f64), b.max(v as f64))
    });
    let span = hi - lo;
    let pad = if span > 1e-9 * lo.abs().max(hi.abs()).max(1.0) {
        span * MARGIN
    } else {
        0.5 * lo.abs().max(1.0)
    };
    (lo - pad, hi + pad)
}

fn check_size(width: u32, height: u32) -> Result<()> {
    if !(MIN_SIZE.0..=MAX_SIDE).contains(&width) {
        return Err(Error::invalid(
            "width",
            width,
            format!("must be between {} and {MAX_SIDE} pixels", MIN_SIZE.0),
        ));
    }
    if !(MIN_SIZE.1..=MAX_SIDE).contains(&height) {
        return Err(Error::invalid(
            "height",
            height,
            format!("must be between {} and {MAX_SIDE} pixels", MIN_SIZE.1),
        ));
    }
    Ok(())
}

/// The predicted class and the tint strength of every grid cell (row-major, x fastest).
fn grid_cells(
    predictor: &Predictor,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    k: usize,
) -> Result<Vec<(usize, f64)>> {
    let (dx, dy) = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);
    let mut x = Array2::<f32>::zeros((GRID * GRID, 2));
    for j in 0..GRID {
        for i in 0..GRID {
            let row = j * GRID + i;
            x[[row, 0]] = (x0 + (i as f64 + 0.5) * dx) as f32;
            x[[row, 1]] = (y0 + (j as f64 + 0.5) * dy) as f32;
        }
    }
    let mut grid = Dataset::new(x, Array1::zeros(GRID * GRID), "decision-region grid")?;
    grid.feature_names = predictor.feature_names.clone();
    let p = predictor.predict(&grid);
    let chance = 1.0 / k as f64;
    (0..GRID * GRID)
        .map(|row| {
            let v = p.values.get(row).copied().unwrap_or(f64::NAN);
            if !(v >= 0.0 && (v as usize) < k) {
                return Err(Error::invalid(
                    "prediction",
                    v,
                    format!("the model predicted no class of 0..{}", k - 1),
                ));
            }
            let class = v as usize;
            // Confidence above chance, in [0, 1], in BANDS steps.
            let confidence = p
                .proba
                .as_ref()
                .and_then(|pr| pr.row(row).get(class).copied())
                .filter(|c| c.is_finite())
                .map_or(1.0, |c| ((c - chance) / (1.0 - chance)).clamp(0.0, 1.0));
            let band = (confidence * BANDS).floor().min(BANDS - 1.0) / (BANDS - 1.0);
            Ok((class, 0.16 + 0.26 * band))
        })
        .collect()
}

/// A tick label with the decimals the axis span needs, never "-0.0".
fn tick(v: f64, span: f64) -> String {
    let decimals = (-(span / 10.0).log10().floor()).clamp(0.0, 12.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// `s` cut to `max` characters (with an ellipsis).
fn short(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

/// The decision regions of `predictor` over the points of `data` as PNG bytes of `width` ×
/// `height` pixels. `data` holds the model's 2 features (see [`Predictor::align`]) and the true
/// class indices in y (see [`Predictor::encode_target`]).
pub fn regions_png(
    predictor: &Predictor,
    data: &Dataset,
    title: &str,
    width: u32,
    height: u32,
) -> Result<Vec<u8>> {
    check_predictor(predictor)?;
    check_data(data)?;
    check_size(width, height)?;
    super::plot::register_font()?;
    let classes = predictor.classes.as_deref().unwrap_or(&[]);
    let k = classes.len();
    let truth = true_classes(data, k)?;
    let acc = accuracy(predictor, data)?;
    let (xr, yr) = (axis_range(data, 0), axis_range(data, 1));
    let cells = grid_cells(predictor, xr, yr, k)?;
    let mut counts = vec![0usize; k];
    for &t in &truth {
        counts[t] += 1;
    }
    let n = truth.len();
    let stride = n.div_ceil(MAX_POINTS).max(1);
    let radius = if n > 5_000 { 2 } else { 4 };

    let (w, h) = (width, height);
    let mut rgb = vec![0u8; (w as usize) * (h as usize) * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| Error::invalid("plot", "drawing", e.to_string());
        root.fill(&WHITE).map_err(err)?;
        let legend_w = (w / 4).clamp(150, 240);
        let (left, right) = root.split_horizontally(w - legend_w);
        let names = &data.feature_names;
        let mut chart = ChartBuilder::on(&left)
            .caption(short(title, 80), ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
            .map_err(err)?;
        let (dx, dy) = ((xr.1 - xr.0) / GRID as f64, (yr.1 - yr.0) / GRID as f64);
        chart
            .draw_series(cells.iter().enumerate().map(|(row, &(class, strength))| {
                let (i, j) = ((row % GRID) as f64, (row / GRID) as f64);
                let a = (xr.0 + i * dx, yr.0 + j * dy);
                let b = (xr.0 + (i + 1.0) * dx, yr.0 + (j + 1.0) * dy);
                Rectangle::new([a, b], tint(class_color(class), strength).filled())
            }))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(short(&names[0], 40))
            .y_desc(short(&names[1], 40))
            .x_label_formatter(&|v| tick(*v, xr.1 - xr.0))
            .y_label_formatter(&|v| tick(*v, yr.1 - yr.0))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(err)?;
        let view = data.x.view();
        chart
            .draw_series(
                view.rows()
                    .into_iter()
                    .zip(&truth)
                    .step_by(stride)
                    .flat_map(|(p, &t)| {
                        let at = (p[0] as f64, p[1] as f64);
                        [
                            Circle::new(at, radius, class_color(t).filled()),
                            Circle::new(at, radius, BLACK.mix(0.7).stroke_width(1)),
                        ]
                    }),
            )
            .map_err(err)?;

        // The legend panel: one swatch per class, then the accuracy.
        let font = ("sans-serif", 16).into_font();
        let text = |s: String, at: (i32, i32)| Text::new(s, at, font.clone());
        let line = 24;
        let mut y = 60;
        right
            .draw(&text("classes (points)".into(), (8, y)))
            .map_err(err)?;
        y += line + 4;
        let footer = 5 * line;
        let fits = ((h as i32 - y - footer) / line).max(1) as usize;
        let shown = if k > fits { fits.saturating_sub(1) } else { k };
        for (c, label) in classes.iter().enumerate().take(shown) {
            let color = class_color(c);
            right
                .draw(&Rectangle::new(
                    [(8, y + 1), (24, y + 17)],
                    tint(color, 0.42).filled(),
                ))
                .map_err(err)?;
            right
                .draw(&Circle::new((16, y + 9), 4, color.filled()))
                .map_err(err)?;
            right
                .draw(&text(
                    format!("{} ({})", short(&label.to_string(), 14), counts[c]),
                    (32, y),
                ))
                .map_err(err)?;
            y += line;
        }
        if shown < k {
            right
                .draw(&text(format!("… {} more", k - shown), (8, y)))
                .map_err(err)?;
            y += line;
        }
        y += line / 2;
        let mut notes = vec![format!("accuracy {acc:.4}"), format!("on {n} points")];
        if stride > 1 {
            notes.push(format!("(every {stride}th drawn)"));
        }
        notes.push("tint: predicted class,".into());
        notes.push("darker = more sure".into());
        for note in notes {
            right.draw(&text(note, (8, y))).map_err(err)?;
            y += line;
        }
        root.present().map_err(err)?;
    }
    super::plot::encode_png(&rgb, w, h)
}

/// Draws the decision regions into `path` (PNG), atomically.
pub fn write_regions_plot(
    predictor: &Predictor,
    data: &Dataset,
    title: &str,
    size: (u32, u32),
    path: &Path,
) -> Result<()> {
    super::write_atomic(path, &regions_png(predictor, data, title, size.0, size.1)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Model;
    use crate::data::Label;
    use crate::weights::Weights;

    fn predictor(model: Model, d: usize, k: usize) -> Predictor {
        let outputs = if model == Model::Softmax { k } else { 1 };
        let rows: Vec<Vec<f64>> = (0..outputs)
            .map(|o| {
                (0..d)
                    .map(|j| if j == o % d { 2.0 } else { -1.0 })
                    .collect()
            })
            .collect();
        Predictor {
            model,
            weights: Weights::from_parts(&rows, &vec![0.0; outputs]),
            classes: model
                .is_classifier()
                .then(|| (0..k as i64).map(Label::Int).collect()),
            feature_names: (0..d).map(|j| format!("x{j}")).collect(),
            target_name: "y".into(),
        }
    }

    fn data(k: usize) -> Dataset {
        let x = Array2::from_shape_fn((30, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let y = Array1::from_shape_fn(30, |i| (i % k) as f32);
        Dataset::new(x, y, "test data").unwrap()
    }

    #[test]
    fn ticks_have_the_decimals_of_the_span() {
        assert_eq!(tick(-1e-17, 2.3), "0.0");
        assert_eq!(tick(-0.4, 2.3), "-0.4");
        assert_eq!(tick(40.0, 200.0), "40");
        assert_eq!(tick(0.125, 0.05), "0.125");
    }

    #[test]
    fn draws_a_png_of_the_size_asked() {
        let png = regions_png(&predictor(Model::Softmax, 2, 3), &data(3), "t", 640, 480).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (640, 480));
    }

    #[test]
    fn refuses_regression_and_other_widths() {
        let e = regions_png(&predictor(Model::Linear, 2, 1), &data(2), "t", 640, 480);
        assert!(e.unwrap_err().to_string().contains("linear"));
        let e = regions_png(&predictor(Model::Logistic, 3, 2), &data(2), "t", 640, 480);
        assert!(e.unwrap_err().to_string().contains("3 features"));
        let e = regions_png(&predictor(Model::Logistic, 2, 2), &data(2), "t", 10, 480);
        assert!(e.unwrap_err().to_string().contains("width = 10"));
        let e = regions_png(&predictor(Model::Logistic, 2, 2), &data(3), "t", 640, 480);
        assert!(e.unwrap_err().to_string().contains("target 2"));
    }
}
