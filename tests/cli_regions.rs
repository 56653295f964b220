//! `plot-regions` run as a user would: a softmax model fitted on a 3-class spiral drawn over its
//! points (a PNG of the size asked, with one region tint per class), and the bad inputs (a
//! regression model, a model of 3 features, an output that is not .png) refused with exit status
//! 2 and one line.

mod common;

use common::{run, stderr};
use std::collections::HashMap;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Generates `gen <kind> <flags> --out dir/name` and fits `model` on it on the CPU; returns the
/// data and model paths.
fn data_and_model(dir: &Path, gen: &[&str], name: &str, model: &str) -> (String, String) {
    let data = dir.join(format!("{name}.csv"));
    let mut args = vec!["gen"];
    args.extend(gen);
    args.extend(["--out", s(&data)]);
    assert!(run(&args).status.success(), "gen failed");
    let m = dir.join(format!("{name}.{model}.json"));
    let out = run(&[
        "fit",
        "--data",
        s(&data),
        "--model",
        model,
        "--device",
        "cpu",
        "--out",
        s(&m),
    ]);
    assert!(out.status.success(), "fit failed");
    (s(&data).to_string(), s(&m).to_string())
}

fn spiral(dir: &Path) -> (String, String) {
    data_and_model(
        dir,
        &["spiral", "--points", "200", "--classes", "3"],
        "s",
        "softmax",
    )
}

/// Hue in degrees of an RGB colour.
fn hue([r, g, b]: [u8; 3]) -> f64 {
    let (r, g, b) = (r as f64, g as f64, b as f64);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let c = max - min;
    let h = if max == r {
        ((g - b) / c).rem_euclid(6.0)
    } else if max == g {
        (b - r) / c + 2.0
    } else {
        (r - g) / c + 4.0
    };
    h * 60.0
}

/// Decodes a PNG into (width, height, RGB pixels).
fn decode(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let pixels = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, pixels)
}

/// The distinct hues (15° apart or more) of the light, coloured tints that each fill at least
/// 0.5% of the image: the decision regions.
fn region_hues(pixels: &[[u8; 3]]) -> Vec<f64> {
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for p in pixels {
        *counts.entry(*p).or_default() += 1;
    }
    let mut hues: Vec<f64> = Vec::new();
    for (c, n) in counts {
        let (max, min) = (*c.iter().max().unwrap(), *c.iter().min().unwrap());
        let tint = min >= 140 && max - min >= 12;
        if tint && n * 200 >= pixels.len() {
            let h = hue(c);
            let near = |a: f64| {
                let d = (a - h).abs();
                d.min(360.0 - d) < 15.0
            };
            if !hues.iter().copied().any(near) {
                hues.push(h);
            }
        }
    }
    hues
}

#[test]
fn softmax_on_a_spiral_draws_three_regions() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = spiral(dir.path());
    let png = dir.path().join("regions.png");
    let out = run(&[
        "plot-regions",
        "--model",
        &model,
        "--data",
        &data,
        "--out",
        s(&png),
        "--title",
        "spiral",
        "--width",
        "800",
        "--height",
        "600",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    assert!(stdout.contains(s(&png)) && stdout.contains("accuracy"));
    assert!(stdout.contains("3 classes") && stdout.contains("600 points"));
    let (w, h, pixels) = decode(&png);
    assert_eq!((w, h), (800, 600));
    let hues = region_hues(&pixels);
    assert!(hues.len() >= 3, "region tints of hues {hues:?}");
    // The default size, and no file left beside the PNG but the inputs.
    let png2 = dir.path().join("default.png");
    let out = run(&[
        "plot-regions",
        "--model",
        &model,
        "--data",
        &data,
        "--out",
        s(&png2),
    ]);
    assert!(out.status.success());
    assert_eq!(decode(&png2).0, 900);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["default.png", "regions.png", "s.csv", "s.softmax.json"]
    );
}

/// Runs a command that must fail on bad input: exit status 2, one line on stderr that contains
/// every word of `wanted`, no panic, no output file.
fn refused(args: &[&str], wanted: &[&str], out: &Path) {
    let o = run(args);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for w in wanted {
        assert!(err.contains(w), "stderr names `{w}`: {err}");
    }
    assert!(!out.exists(), "no {} written", out.display());
}

#[test]
fn a_regression_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = data_and_model(
        dir.path(),
        &[
            "linear",
            "--rows",
            "100",
            "--features",
            "2",
            "--informative",
            "2",
        ],
        "l",
        "linear",
    );
    let png = dir.path().join("r.png");
    refused(
        &[
            "plot-regions",
            "--model",
            &model,
            "--data",
            &data,
            "--out",
            s(&png),
        ],
        &["linear", "classifier"],
        &png,
    );
}

#[test]
fn a_model_of_three_features_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = data_and_model(
        dir.path(),
        &[
            "classification",
            "--rows",
            "150",
            "--features",
            "3",
            "--informative",
            "2",
            "--classes",
            "3",
        ],
        "c",
        "softmax",
    );
    let png = dir.path().join("r.png");
    refused(
        &[
            "plot-regions",
            "--model",
            &model,
            "--data",
            &data,
            "--out",
            s(&png),
        ],
        &["3 features", "exactly 2"],
        &png,
    );
    // The 3-column data under a 2-feature model: x2 is not a feature of the model, so only x0 and
    // x1 are drawn (with a warning), as `predict` matches columns by name.
    let (_, spiral_model) = spiral(dir.path());
    let png = dir.path().join("ok.png");
    let out = run(&[
        "plot-regions",
        "--model",
        &spiral_model,
        "--data",
        &data,
        "--out",
        s(&png),
    ]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("x2"));
    assert!(png.exists());
}

#[test]
fn bad_paths_and_sizes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = spiral(dir.path());
    let jpg = dir.path().join("r.jpg");
    refused(
        &[
            "plot-regions",
            "--model",
            &model,
            "--data",
            &data,
            "--out",
            s(&jpg),
        ],
        &["r.jpg", ".png"],
        &jpg,
    );
    let png = dir.path().join("r.png");
    let missing = dir.path().join("missing.json");
    refused(
        &[
            "plot-regions",
            "--model",
            s(&missing),
            "--data",
            &data,
            "--out",
            s(&png),
        ],
        &["missing.json"],
        &png,
    );
    let missing = dir.path().join("missing.csv");
    refused(
        &[
            "plot-regions",
            "--model",
            &model,
            "--data",
            s(&missing),
            "--out",
            s(&png),
        ],
        &["missing.csv"],
        &png,
    );
    refused(
        &[
            "plot-regions",
            "--model",
            &model,
            "--data",
            &data,
            "--out",
            s(&png),
            "--width",
            "10",
        ],
        &["width = 10"],
        &png,
    );
    refused(
        &[
            "plot-regions",
            "--model",
            &model,
            "--data",
            &data,
            "--out",
            s(&png),
            "--target",
            "label",
        ],
        &["label"],
        &png,
    );
}
