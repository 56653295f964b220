//! `gpu-regfit path` as a user runs it: on diabetes z-scored, scikit-learn's enet_path grid
//! (l1_ratio 0.7) passed through --lambdas-file gives every coefficient at every λ within 1e-4 of
//! that λ's largest |coefficient| (golden values from scripts/make_sklearn_path_golden.py); the
//! CSV and the plot are written; bad input is one line and exit status 2.

mod common;

use common::{gpu_args, run, stderr, write};
use serde_json::Value;
use std::path::Path;

fn golden() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sklearn_path.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn diabetes() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/diabetes_z.csv")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn path_on_scikit_learns_grid_matches_enet_path() {
    let dir = tempfile::tempdir().unwrap();
    let golden = golden();
    let alphas: Vec<f64> = serde_json::from_value(golden["alphas"].clone()).unwrap();
    let expected: Vec<Vec<f64>> = serde_json::from_value(golden["coef"].clone()).unwrap();
    let text: String = alphas.iter().map(|a| format!("{a:e}\n")).collect();
    let lambdas = write(dir.path(), "alphas.txt", &text);
    let out_json = dir.path().join("path.json");
    let out_csv = dir.path().join("path.csv");
    let out_png = dir.path().join("path.png");
    let data = diabetes();
    let mut args = vec![
        "path",
        "--data",
        &data,
        "--l1-ratio",
        "0.7",
        "--lambdas-file",
        &lambdas,
        "--tol",
        "1e-10",
        "--max-iter",
        "200000",
        "--out",
        out_json.to_str().unwrap(),
        "--csv",
        out_csv.to_str().unwrap(),
        "--plot",
        out_png.to_str().unwrap(),
    ];
    args.extend(gpu_args());
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&out_json).unwrap()).unwrap();
    let lambda: Vec<f64> = serde_json::from_value(got["lambda"].clone()).unwrap();
    let coef: Vec<Vec<f64>> = serde_json::from_value(got["coef"].clone()).unwrap();
    assert_eq!(
        lambda.len(),
        alphas.len(),
        "every λ solved (a given grid has no early stop?)"
    );
    for (i, (c, e)) in coef.iter().zip(&expected).enumerate() {
        assert!((lambda[i] - alphas[i]).abs() <= 1e-12 * alphas[i]);
        let scale = e.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = c
            .iter()
            .zip(e)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= 1e-4 * scale.max(f64::MIN_POSITIVE) || (scale == 0.0 && worst == 0.0),
            "λ = {}: max |Δcoef| {worst:.3e} against max |coef| {scale:.3e}",
            lambda[i]
        );
    }
    for key in [
        "intercept",
        "nnz",
        "objective",
        "duality_gap",
        "deviance_explained",
    ] {
        assert_eq!(
            got[key].as_array().map(Vec::len),
            Some(alphas.len()),
            "{key}"
        );
    }
    let gaps = got["duality_gap"].as_array().unwrap();
    assert!(gaps.iter().all(|g| g.as_f64().is_some_and(|g| g >= 0.0)));
    let csv = std::fs::read_to_string(&out_csv).unwrap();
    assert_eq!(csv.lines().count(), alphas.len() + 1);
    assert!(csv.starts_with(
        "lambda,l1,l2,nnz,objective,duality_gap,deviance_explained,iterations,intercept,x0"
    ));
    let png = std::fs::read(&out_png).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
}

/// The default grid on diabetes: 100 λ from λ_max, stopped early by glmnet's rule,
/// nnz from 0 upwards; --no-early-stop solves all of a short grid.
#[test]
fn default_path_starts_at_zero_and_stops_early() {
    let dir = tempfile::tempdir().unwrap();
    let out_json = dir.path().join("p.json");
    let data = diabetes();
    let out = run(&[
        "path",
        "--data",
        &data,
        "--device",
        "cpu",
        "-q",
        "--out",
        out_json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&out_json).unwrap()).unwrap();
    let nnz = got["nnz"].as_array().unwrap();
    assert_eq!(nnz[0], 0);
    assert!(nnz.len() < 100, "glmnet's early stop");
    assert!(got["stopped_early"].is_string());
    let out = run(&[
        "path",
        "--data",
        &data,
        "--device",
        "cpu",
        "--n-lambdas",
        "7",
        "--no-early-stop",
        "--out",
        out_json.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&out_json).unwrap()).unwrap();
    assert_eq!(got["lambda"].as_array().unwrap().len(), 7);
}

#[test]
fn bad_path_input_is_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let out_json = dir.path().join("p.json");
    let out_s = out_json.to_str().unwrap();
    let bad_file = write(dir.path(), "l.txt", "1\nabc\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--l1-ratio", "2"], "l1-ratio = 2"),
        (vec!["--lambdas", "1,-2"], "lambdas = -2"),
        (vec!["--n-lambdas", "0"], "n-lambdas = 0"),
        (vec!["--lambda-min-ratio", "1.5"], "lambda-min-ratio = 1.5"),
        (vec!["--lambdas-file", &bad_file], "line 2"),
        (
            vec!["--lambdas", "1", "--n-lambdas", "5"],
            "cannot be used with",
        ),
        (vec!["--validation-fraction", "0.2"], "cv"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["path", "--device", "cpu", "--out", out_s];
        args.extend(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err} lacks {needle}");
        assert!(!out_json.exists(), "no output on bad input");
    }
}
