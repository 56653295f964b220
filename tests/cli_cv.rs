//! `gpu-regfit cv` as a user runs it, against scikit-learn (golden values from
//! scripts/make_sklearn_cv_golden.py): with KFold(5)'s folds through --folds-file it picks
//! LassoCV's alpha on diabetes z-scored (every fold's held-out MSE at every λ within 1e-6),
//! ElasticNetCV(l1_ratio=[.1, .5, .9])'s (alpha, l1_ratio) on a default grid equal to
//! scikit-learn's, and LogisticRegressionCV(scoring="neg_log_loss")'s C on breast_cancer
//! z-scored; it writes cv.json, a model file and the plot; bad input is one line and status 2.

mod common;

use common::{gpu_args, run, stderr, write};
use serde_json::Value;
use std::path::Path;

fn golden(key: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sklearn_cv.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all[key].clone()
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn lines<T: ToString>(values: &[T]) -> String {
    values.iter().map(|v| v.to_string() + "\n").collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn lasso_cv_on_kfold_folds_picks_lassocv_alpha() {
    let g = golden("lasso");
    let dir = tempfile::tempdir().unwrap();
    let folds: Vec<u32> = serde_json::from_value(g["folds"].clone()).unwrap();
    let alphas = floats(&g["alphas"]);
    let folds_file = write(dir.path(), "folds.txt", &lines(&folds));
    let alphas_file = write(
        dir.path(),
        "alphas.txt",
        &alphas
            .iter()
            .map(|a| format!("{a:e}\n"))
            .collect::<String>(),
    );
    let (cv_json, model, png) = (
        dir.path().join("cv.json"),
        dir.path().join("model.json"),
        dir.path().join("cv.png"),
    );
    let diabetes = data("diabetes_z.csv");
    let out = run(&[
        "cv",
        "--data",
        &diabetes,
        "--device",
        "cpu",
        "--folds-file",
        &folds_file,
        "--lambdas-file",
        &alphas_file,
        // The intercept's error goes as √gap: 1e-13 puts the held-out MSE within 1e-7.
        "--tol",
        "1e-13",
        "--json",
        cv_json.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--plot",
        png.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = read_json(&cv_json);
    let alpha = g["alpha"].as_f64().unwrap();
    let lambda_min = got["lambda_min"].as_f64().unwrap();
    assert!(
        (lambda_min - alpha).abs() <= 1e-12 * alpha,
        "lambda_min {lambda_min} vs LassoCV's alpha_ {alpha}"
    );
    // Every fold's held-out MSE at every λ, against scikit-learn's mse_path_ (tol 1e-10).
    let expected: Vec<Vec<f64>> = serde_json::from_value(g["mse_path"].clone()).unwrap();
    let scores: Vec<Vec<f64>> =
        serde_json::from_value(got["curves"][0]["fold_scores"].clone()).unwrap();
    assert_eq!(scores.len(), expected.len());
    for (j, (s, e)) in scores.iter().zip(&expected).enumerate() {
        for (f, (a, b)) in s.iter().zip(e).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 * b,
                "λ {j} fold {f}: held-out MSE {a} vs scikit-learn's {b}"
            );
        }
    }
    for key in ["lambda", "cv_mean", "cv_se", "nnz"] {
        assert_eq!(
            got[key].as_array().map(Vec::len),
            Some(alphas.len()),
            "{key}"
        );
    }
    let lambda_1se = got["lambda_1se"].as_f64().unwrap();
    assert!(lambda_1se >= lambda_min);
    assert_eq!(got["selected"], "min");
    assert_eq!(got["l1_ratio_min"].as_f64(), Some(1.0));
    // The refit is a normal model file at lambda_min, which `predict` reads.
    let m = read_json(&model);
    assert_eq!(m["config"]["penalty"]["l1"].as_f64(), Some(lambda_min));
    assert_eq!(m["converged"], true);
    let coef = floats(&m["coef"]);
    let want = floats(&g["coef"]);
    for (a, b) in coef.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-4 * 30.0, "refit coef {a} vs {b}");
    }
    let preds = dir.path().join("p.csv");
    let out = run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &diabetes,
        "--out",
        preds.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&png)
        .unwrap()
        .starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[test]
fn elastic_net_cv_grid_and_choice_match_elasticnetcv() {
    let g = golden("enet");
    let dir = tempfile::tempdir().unwrap();
    let folds: Vec<u32> = serde_json::from_value(g["folds"].clone()).unwrap();
    let folds_file = write(dir.path(), "folds.txt", &lines(&folds));
    let cv_json = dir.path().join("cv.json");
    let out = run(&[
        "cv",
        "--data",
        &data("diabetes_z.csv"),
        "--device",
        "cpu",
        "--folds-file",
        &folds_file,
        "--l1-ratio",
        "0.1,0.5,0.9",
        "--lambda-min-ratio",
        "1e-3",
        "--tol",
        "1e-10",
        "--select",
        "1se",
        "--json",
        cv_json.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = read_json(&cv_json);
    // The default grid (100 λ from λ_max(R) down to 1e-3·λ_max(R)) is scikit-learn's, per ratio.
    let expected: Vec<Vec<f64>> = serde_json::from_value(g["alphas"].clone()).unwrap();
    let curves = got["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 3);
    for (c, e) in curves.iter().zip(&expected) {
        let lambda = floats(&c["lambda"]);
        assert_eq!(lambda.len(), e.len());
        for (a, b) in lambda.iter().zip(e) {
            assert!((a - b).abs() <= 1e-12 * b, "grid {a} vs scikit-learn's {b}");
        }
    }
    let alpha = g["alpha"].as_f64().unwrap();
    let lambda_min = got["lambda_min"].as_f64().unwrap();
    assert!(
        (lambda_min - alpha).abs() <= 1e-12 * alpha,
        "{lambda_min} vs {alpha}"
    );
    assert_eq!(got["l1_ratio_min"].as_f64(), g["l1_ratio"].as_f64());
    // --select 1se refits at lambda_1se, the largest λ within one se of the best.
    assert_eq!(got["selected"], "1se");
    let one_se = got["lambda_1se"].as_f64().unwrap();
    assert_eq!(got["selected_lambda"].as_f64(), Some(one_se));
    let (lambda, mean, se) = (
        floats(&got["lambda"]),
        floats(&got["cv_mean"]),
        floats(&got["cv_se"]),
    );
    let best = lambda.iter().position(|&l| l == lambda_min).unwrap();
    let first = mean
        .iter()
        .position(|&m| m <= mean[best] + se[best])
        .unwrap();
    assert_eq!(lambda[first], one_se);
    assert!(one_se > lambda_min);
}

#[test]
fn logistic_cv_picks_logisticregressioncv_c() {
    let g = golden("logistic");
    let dir = tempfile::tempdir().unwrap();
    let folds: Vec<u32> = serde_json::from_value(g["folds"].clone()).unwrap();
    let folds_file = write(dir.path(), "folds.txt", &lines(&folds));
    // λ = 1/(C·n_train): scikit-learn's C multiplies the sum of the training losses.
    let lambdas = floats(&g["lambdas"]);
    let cv_json = dir.path().join("cv.json");
    let out = run(&[
        "cv",
        "--data",
        &data("breast_cancer_z.csv"),
        "--model",
        "logistic",
        "--device",
        "cpu",
        "--folds-file",
        &folds_file,
        "--l1-ratio",
        "0",
        "--lambdas",
        &lambdas
            .iter()
            .map(|l| format!("{l:e}"))
            .collect::<Vec<_>>()
            .join(","),
        "--max-iter",
        "3000",
        "--json",
        cv_json.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = read_json(&cv_json);
    assert_eq!(got["scoring"], "deviance");
    let chosen = lambdas[g["C_index"].as_u64().unwrap() as usize];
    let lambda_min = got["lambda_min"].as_f64().unwrap();
    assert!(
        (lambda_min - chosen).abs() <= 1e-12 * chosen,
        "lambda_min {lambda_min} vs 1/(C_·n_train) {chosen}"
    );
    // The deviance is 2 × scikit-learn's log loss (−neg_log_loss), fold by fold, where both
    // solvers converge (λ ≥ 1e-3).
    let scores: Vec<Vec<f64>> = serde_json::from_value(g["scores"].clone()).unwrap();
    let ours: Vec<Vec<f64>> =
        serde_json::from_value(got["curves"][0]["fold_scores"].clone()).unwrap();
    let grid = floats(&got["lambda"]);
    for (c, &lambda) in lambdas.iter().enumerate().filter(|(_, l)| **l >= 1e-3) {
        let j = grid.iter().position(|&l| l == lambda).unwrap();
        for f in 0..scores.len() {
            let want = -2.0 * scores[f][c];
            let have = ours[j][f];
            assert!(
                (have - want).abs() <= 1e-3 * want,
                "λ {lambda} fold {f}: deviance {have} vs {want}"
            );
        }
    }
}

#[test]
fn seeded_folds_are_stratified_and_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    for out_path in [&a, &b] {
        let out = run(&[
            "cv",
            "--data",
            &data("breast_cancer_z.csv"),
            "--model",
            "logistic",
            "--device",
            "cpu",
            "--folds",
            "4",
            "--fold-seed",
            "7",
            "--n-lambdas",
            "6",
            "--lambda-min-ratio",
            "0.05",
            "--scoring",
            "auc",
            "--json",
            out_path.to_str().unwrap(),
            "-q",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (x, y) = (read_json(&a), read_json(&b));
    assert_eq!(
        x["cv_mean"], y["cv_mean"],
        "same seed, same folds, same scores"
    );
    assert_eq!(x["folds"], 4);
    let auc = floats(&x["cv_mean"]);
    // Nearly every coefficient is 0 at λ_max (of all rows); with coefficients the AUC is far
    // better.
    assert!(auc[0] < 0.9, "{auc:?}");
    assert!(auc.iter().skip(2).all(|&a| a > 0.95), "{auc:?}");
    // Higher AUC is better: lambda_min is at the best mean.
    let best = auc.iter().cloned().fold(f64::MIN, f64::max);
    let at = floats(&x["lambda"])[auc.iter().position(|&a| a == best).unwrap()];
    assert_eq!(x["lambda_min"].as_f64(), Some(at));
}

#[test]
fn bad_cv_input_is_one_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let out_json = dir.path().join("cv.json");
    let out_s = out_json.to_str().unwrap();
    let short = write(dir.path(), "short.txt", "0\n1\n");
    let frac = write(dir.path(), "frac.txt", &"0.5\n".repeat(442));
    let one = write(dir.path(), "one.txt", &"3\n".repeat(442));
    let diabetes = data("diabetes_z.csv");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--folds", "1"], "folds = 1"),
        (vec!["--folds-file", &short], "2 fold ids"),
        (vec!["--folds-file", &frac], "0.5"),
        (vec!["--folds-file", &one], "at least 2 folds"),
        (vec!["--scoring", "auc"], "scoring = auc"),
        (vec!["--block", "0"], "block = 0"),
        (vec!["--l1-ratio", "0.5,2"], "l1-ratio = 2"),
        (vec!["--validation-fraction", "0.2"], "validation"),
    ];
    for (extra, needle) in cases {
        let mut args = vec![
            "cv", "--data", &diabetes, "--device", "cpu", "--json", out_s,
        ];
        args.extend(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err} lacks {needle}");
        assert!(!out_json.exists(), "no output on bad input");
    }
}

/// The same cross-validation on the GPU (the block kernel, f32) picks the CPU's λ, with mean
/// scores within 1e-4.
#[test]
fn cv_on_the_gpu_picks_the_cpu_choice() {
    let g = golden("lasso");
    let dir = tempfile::tempdir().unwrap();
    let folds: Vec<u32> = serde_json::from_value(g["folds"].clone()).unwrap();
    let folds_file = write(dir.path(), "folds.txt", &lines(&folds));
    let diabetes = data("diabetes_z.csv");
    let mut results = Vec::new();
    for device in [gpu_args(), vec!["--device", "cpu"]] {
        let cv_json = dir.path().join(format!("cv-{}.json", device[1]));
        let mut args = vec![
            "cv",
            "--data",
            &diabetes,
            "--folds-file",
            &folds_file,
            "--n-lambdas",
            "30",
            "--json",
            cv_json.to_str().unwrap(),
            "-q",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(device.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&refs);
        assert!(out.status.success(), "{}", stderr(&out));
        results.push(read_json(&cv_json));
    }
    let (gpu, cpu) = (&results[0], &results[1]);
    assert_eq!(gpu["lambda_min"], cpu["lambda_min"]);
    assert_eq!(gpu["lambda_1se"], cpu["lambda_1se"]);
    for (a, b) in floats(&gpu["cv_mean"]).iter().zip(floats(&cpu["cv_mean"])) {
        assert!((a - b).abs() <= 1e-4 * b, "mean {a} vs {b}");
    }
}
