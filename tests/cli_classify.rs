//! Classification from the command line, as a user runs it: gen spiral / classification, logistic
//! with text labels, softmax, LIBSVM input, validation and early stopping, predict (with and
//! without --proba, on models of every kind, version 0.1's linear files included), and the bad
//! inputs of classification (exit status 2, one clear line).

mod common;

use common::{gpu_args, run, stderr, write};
use std::path::Path;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn spiral_softmax_with_validation_then_predict() {
    let dir = tempfile::tempdir().unwrap();
    let data = s(&dir.path().join("spiral.csv"));
    let out = run(&[
        "gen",
        "spiral",
        "--points",
        "300",
        "--classes",
        "3",
        "--seed",
        "1",
        "--out",
        &data,
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&data).unwrap();
    assert_eq!(text.lines().next().unwrap(), "x0,x1,y");
    assert_eq!(text.lines().count(), 901);

    let model = dir.path().join("m.json");
    let history = dir.path().join("h.csv");
    let mut args = vec![
        "fit",
        "--data",
        &data,
        "--model",
        "softmax",
        "--l2",
        "0.001",
        "--validation-fraction",
        "0.2",
        "--lr",
        "0.5",
        "--epochs",
        "10",
        "--batch-size",
        "32",
        "--json",
        "--out",
        model.to_str().unwrap(),
        "--history",
        history.to_str().unwrap(),
    ];
    args.extend(gpu_args());
    let out = run(&args);
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["classes"], 3);
    assert_eq!(
        summary["rows"], 720,
        "a stratified 20 % holdout of 900 rows"
    );
    assert_eq!(summary["validation_rows"], 180);
    let acc = summary["train_accuracy"].as_f64().unwrap();
    assert!(acc > 0.4 && acc < 0.8, "a linear model on a spiral: {acc}");
    assert!(summary["val_accuracy"].as_f64().is_some());

    let m = json(&model);
    assert_eq!(m["format"], "gpu-regfit model");
    assert_eq!(m["model"], "softmax");
    assert_eq!(m["classes"], serde_json::json!([0, 1, 2]));
    let coef: Vec<Vec<f64>> = serde_json::from_value(m["coef"].clone()).unwrap();
    assert_eq!((coef.len(), coef[0].len()), (3, 2), "K rows of d, as coef_");
    let intercept: Vec<f64> = serde_json::from_value(m["intercept"].clone()).unwrap();
    assert_eq!(intercept.len(), 3);
    assert!(m["metrics"]["validation"]["accuracy"].as_f64().is_some());
    let h = std::fs::read_to_string(&history).unwrap();
    let last = h.lines().last().unwrap();
    assert_eq!(last.split(',').count(), 11);
    assert!(
        !last.contains(",,"),
        "accuracy and validation cells filled: {last}"
    );

    let pred = dir.path().join("p.csv");
    let out = run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &data,
        "--proba",
        "--out",
        pred.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("accuracy"));
    let p = std::fs::read_to_string(&pred).unwrap();
    let mut lines = p.lines();
    assert_eq!(lines.next().unwrap(), "prediction,proba_0,proba_1,proba_2");
    let mut rows = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let k: usize = cells[0].parse().unwrap();
        let probs: Vec<f64> = cells[1..].iter().map(|c| c.parse().unwrap()).collect();
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let argmax = (0..3).fold(0, |b, i| if probs[i] > probs[b] { i } else { b });
        assert_eq!(k, argmax, "the label is the most probable class: {line}");
        rows += 1;
    }
    assert_eq!(rows, 900);
}

#[test]
fn logistic_with_text_labels_and_a_validation_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Cats are light and short, dogs heavy and tall; one feature is pure noise.
    let mut train = String::from("weight,noise,height,kind\n");
    let mut val = train.clone();
    for i in 0..200 {
        let dog = i % 2 == 0;
        let jitter = ((i * 37) % 17) as f64 / 17.0;
        let (w, h) = if dog {
            (20.0 + 3.0 * jitter, 50.0 - 4.0 * jitter)
        } else {
            (4.0 + jitter, 25.0 + 5.0 * jitter)
        };
        let line = format!(
            "{w},{},{h},{}\n",
            (i * 13 % 7) as f64,
            if dog { "dog" } else { "cat" }
        );
        if i % 5 == 0 {
            val.push_str(&line);
        } else {
            train.push_str(&line);
        }
    }
    let train = write(d, "pets.csv", &train);
    let val = write(d, "pets_val.csv", &val);
    let model = s(&d.join("pets.json"));
    let out = run(&[
        "fit",
        "--data",
        &train,
        "--target",
        "kind",
        "--model",
        "logistic",
        "--standardize",
        "--validation",
        &val,
        "--early-stopping",
        "--n-iter-no-change",
        "3",
        "--tol",
        "0.001",
        "--epochs",
        "200",
        "--batch-size",
        "16",
        "--device",
        "cpu",
        "--out",
        &model,
    ]);
    assert!(out.status.success());
    let m = json(Path::new(&model));
    assert_eq!(m["classes"], serde_json::json!(["cat", "dog"]));
    let coef: Vec<f64> = serde_json::from_value(m["coef"].clone()).unwrap();
    assert_eq!(coef.len(), 3, "d numbers for logistic");
    assert!(m["intercept"].is_number());
    assert!(coef[0] > 0.0 && coef[2] > 0.0, "heavier and taller: dog");
    assert_eq!(m["metrics"]["validation"]["accuracy"], 1.0);
    assert_eq!(m["stop_reason"], "early stopping");
    let best = m["best_epoch"].as_u64().unwrap();
    let run_for = m["epochs_run"].as_u64().unwrap();
    assert!(
        best <= run_for && run_for < 200,
        "best {best}, ran {run_for}"
    );

    let pred = s(&d.join("pred.csv"));
    let out = run(&[
        "predict", "--model", &model, "--data", &val, "--proba", "--out", &pred,
    ]);
    assert!(out.status.success());
    let p = std::fs::read_to_string(&pred).unwrap();
    assert_eq!(p.lines().next().unwrap(), "prediction,proba_cat,proba_dog");
    let truth: Vec<&str> = std::fs::read_to_string(&val)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| if l.ends_with("dog") { "dog" } else { "cat" })
        .collect();
    let predicted: Vec<String> = p
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(predicted, truth);
}

#[test]
fn libsvm_input_and_gen_classification() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = String::from("# a comment line\n");
    for i in 0..120 {
        let y = if i % 3 == 0 { "+1" } else { "-1" };
        let v = if i % 3 == 0 { 1.5 } else { -1.5 } + (i % 5) as f64 * 0.1;
        text.push_str(&format!("{y} 2:{v} 5:{} # row {i}\n", (i % 4) as f64));
    }
    let svm = write(d, "train.svm", &text);
    let model = s(&d.join("svm.json"));
    let out = run(&[
        "fit",
        "--data",
        &svm,
        "--model",
        "logistic",
        "--features",
        "6",
        "--epochs",
        "40",
        "--device",
        "cpu",
        "--out",
        &model,
    ]);
    assert!(out.status.success());
    let m = json(Path::new(&model));
    assert_eq!(m["classes"], serde_json::json!([-1, 1]));
    assert_eq!(
        m["feature_names"],
        serde_json::json!(["f1", "f2", "f3", "f4", "f5", "f6"])
    );
    assert_eq!(m["metrics"]["train"]["accuracy"], 1.0);
    let coef: Vec<f64> = serde_json::from_value(m["coef"].clone()).unwrap();
    assert_eq!(coef[0], 0.0, "an all-zero column stays at 0");
    assert!(coef[1] > 0.0);

    let csv = s(&d.join("cls.csv"));
    let out = run(&[
        "gen",
        "classification",
        "--rows",
        "500",
        "--features",
        "10",
        "--informative",
        "3",
        "--classes",
        "4",
        "--seed",
        "2",
        "--out",
        &csv,
    ]);
    assert!(out.status.success());
    let truth = json(Path::new(&format!("{csv}.truth.json")));
    assert_eq!(truth["informative"].as_array().unwrap().len(), 3);
    assert_eq!(truth["centres"].as_array().unwrap().len(), 4);
    let out = run(&[
        "fit", "--data", &csv, "--model", "softmax", "--device", "cpu", "--json",
    ]);
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["classes"], 4);
    assert_eq!(summary["coefficients"], 40);
}

#[test]
fn predict_works_for_linear_models_including_version_0_1_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A model file as version 0.1 wrote it: no format, metrics or classes.
    let old = write(
        d,
        "old.json",
        r#"{"model": "linear", "coef": [2.0, -1.0], "intercept": 0.5, "nnz": 2,
            "objective": {"data_loss": 0.1, "reg_loss": 0.0, "total": 0.1},
            "feature_names": ["a", "b"], "target_name": "y", "config": {}, "device": "x",
            "epochs_run": 1, "steps_run": 1, "seconds": 0.1, "stopped_early": false}"#,
    );
    let data = write(d, "new.csv", "b,a\n1,1\n0,2\n");
    let pred = s(&d.join("p.csv"));
    let out = run(&["predict", "--model", &old, "--data", &data, "--out", &pred]);
    assert!(out.status.success());
    // Columns are matched by name: a = 1, b = 1 -> 2 − 1 + 0.5; a = 2, b = 0 -> 4.5.
    assert_eq!(
        std::fs::read_to_string(&pred).unwrap(),
        "prediction\n1.5\n4.5\n"
    );
    let scored = write(d, "scored.csv", "a,b,y\n1,1,1.5\n2,0,4.0\n");
    let out = run(&[
        "predict", "--model", &old, "--data", &scored, "--out", &pred,
    ]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("mean squared error 1.25"),
        "scored against y: ((4.5 − 4)²)/2"
    );
}

/// Each bad input of classification: exit status 2, one line on stderr containing `needle`.
#[test]
fn classification_bad_inputs_exit_2_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let three = write(d, "three.csv", "a,y\n1,0\n2,1\n3,2\n");
    let one = write(d, "one.csv", "a,y\n1,5\n2,5\n");
    let frac = write(d, "frac.csv", "a,y\n1,0\n2,0.5\n");
    let words = write(d, "words.csv", "a,y\n1,cat\n2,dog\n3,cow\n");
    let pets = write(d, "pets.csv", "a,b,y\n1,2,cat\n3,4,dog\n5,6,cat\n");
    let unseen = write(d, "unseen.csv", "a,b,y\n1,2,cat\n3,4,cow\n");
    let wide = write(d, "wide.csv", "p,q,r,s\n1,2,3,4\n");
    let foreign = write(d, "foreign.json", r#"{"hello": 1}"#);
    let not_json = write(d, "broken.json", "{\"model\": \"linear\", \"coef\": [1,");
    let wrong_shape = write(
        d,
        "shape.json",
        r#"{"model": "softmax", "coef": [1.0], "intercept": 0.0, "feature_names": ["a"]}"#,
    );
    let idx0 = write(d, "idx0.svm", "1 0:1\n");
    let unsorted = write(d, "unsorted.svm", "1 1:1\n0 3:1 2:1\n");
    let repeated = write(d, "repeated.svm", "1 1:1\n0 2:1 2:1\n");
    let non_numeric = write(d, "nonnum.svm", "1 1:1\n0 2:abc\n");
    let bad_label = write(d, "label.svm", "1 1:1\nyes 2:1\n");
    let beyond = write(d, "beyond.svm", "1 1:1\n0 9:1\n");
    let model = s(&d.join("pets.json"));
    assert!(run(&[
        "fit", "--data", &pets, "--model", "logistic", "--device", "cpu", "--out", &model
    ])
    .status
    .success());
    let out_csv = s(&d.join("o.csv"));

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["fit", "--data", &three, "--model", "logistic"],
            "3 distinct labels",
        ),
        (
            vec!["fit", "--data", &one, "--model", "softmax"],
            "needs at least two",
        ),
        (
            vec![
                "fit",
                "--data",
                &words,
                "--model",
                "softmax",
                "--max-classes",
                "2",
            ],
            "more than 2 distinct labels",
        ),
        (
            vec!["fit", "--data", &frac, "--model", "logistic"],
            "line 3: label `0.5` is not an integer",
        ),
        (
            vec!["fit", "--data", &words, "--model", "linear"],
            "cannot parse `cat`",
        ),
        (
            vec!["fit", "--data", &idx0, "--model", "logistic"],
            "line 1: index 0",
        ),
        (
            vec!["fit", "--data", &unsorted, "--model", "logistic"],
            "line 2: index 2 after 3",
        ),
        (
            vec!["fit", "--data", &repeated, "--model", "logistic"],
            "line 2: index 2 is repeated",
        ),
        (
            vec!["fit", "--data", &non_numeric],
            "line 2: index 2: cannot parse `abc`",
        ),
        (
            vec!["fit", "--data", &bad_label],
            "line 2: cannot parse the label `yes`",
        ),
        (
            vec!["fit", "--data", &beyond, "--features", "4"],
            "line 2: index 9 exceeds the feature count 4",
        ),
        (
            vec![
                "fit",
                "--data",
                &pets,
                "--model",
                "logistic",
                "--validation",
                &unseen,
            ],
            "line 3: label `cow` is not one of the model's classes",
        ),
        (
            vec![
                "fit",
                "--data",
                &pets,
                "--model",
                "logistic",
                "--early-stopping",
            ],
            "needs a validation set",
        ),
        (
            vec![
                "fit",
                "--data",
                &pets,
                "--model",
                "logistic",
                "--validation-fraction",
                "1.5",
            ],
            "validation-fraction = 1.5",
        ),
        (
            vec![
                "predict", "--model", &model, "--data", &wide, "--out", &out_csv,
            ],
            "has 4 feature columns but the model was fitted on 2",
        ),
        (
            vec![
                "predict", "--model", &foreign, "--data", &pets, "--out", &out_csv,
            ],
            "not a gpu-regfit model",
        ),
        (
            vec![
                "predict", "--model", &not_json, "--data", &pets, "--out", &out_csv,
            ],
            "not a gpu-regfit model",
        ),
        (
            vec![
                "predict",
                "--model",
                &wrong_shape,
                "--data",
                &pets,
                "--out",
                &out_csv,
            ],
            "do not have the shape of a softmax model",
        ),
        (
            vec![
                "predict", "--model", &model, "--data", &unseen, "--out", &out_csv,
            ],
            "label `cow` is not one of the model's classes",
        ),
    ];
    for (args, needle) in cases {
        let mut full = args.clone();
        if full[0] == "fit" {
            full.extend(["--device", "cpu"]);
        }
        let out = run(&full);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got: {err}");
        assert!(err.contains(needle), "{args:?}: `{err}` lacks `{needle}`");
        assert!(!err.contains("panicked"), "{args:?} panicked");
    }
    assert!(
        !Path::new(&out_csv).exists(),
        "a failed predict wrote no output"
    );
}
