//! `--model mlp` on the built binary, as a user runs it: the walkthrough's setup (shortened),
//! the model file and `predict` from it, nnz per layer with prox, checkpoints and `--resume`,
//! divergence, `compare`, `bench` and bad input.

mod common;

use common::{gpu_args, run, stderr};
use serde_json::Value;

fn spiral(dir: &std::path::Path, points: usize) -> String {
    let path = dir.join("spiral.csv");
    let p = path.to_str().unwrap();
    let out = run(&[
        "gen",
        "spiral",
        "--points",
        &points.to_string(),
        "--classes",
        "3",
        "--out",
        p,
    ]);
    assert!(out.status.success());
    p.to_string()
}

/// The walkthrough's flags (2→H→3, L2 5e-4 on the first layer's weights and biases, lr 1,
/// momentum 0.5, full batch), for `epochs`.
fn walkthrough(data: &str, hidden: &str, epochs: &str) -> Vec<String> {
    [
        "fit",
        "--data",
        data,
        "--validation-fraction",
        "0.5",
        "--model",
        "mlp",
        "--hidden",
        hidden,
        "--layer-penalty",
        "1:0,5e-4,0,5e-4",
        "--init",
        "small",
        "--lr",
        "1",
        "--optimizer",
        "momentum",
        "--momentum",
        "0.5",
        "--batch-size",
        "full",
        "--epochs",
        epochs,
        "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn walkthrough_runs_writes_a_network_and_predicts_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = spiral(dir.path(), 100);
    let model = dir.path().join("m.json");
    let history = dir.path().join("h.csv");
    let mut args = walkthrough(&data, "32", "300");
    args.extend(
        [
            "--log-every",
            "100",
            "--out",
            model.to_str().unwrap(),
            "--history",
            history.to_str().unwrap(),
        ]
        .map(String::from),
    );
    args.extend(gpu_args().iter().map(|s| s.to_string()));
    let out = run(&strs(&args));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mlp (softmax) 2→32→3 relu"), "{text}");
    assert!(
        text.contains("layer 1") && text.contains("layer 2"),
        "{text}"
    );
    // Three log points (every 100 epochs), data and regularization loss apart.
    let rows: Vec<String> = std::fs::read_to_string(&history)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows[0].starts_with("epoch,step,data_loss,reg_loss,loss,train_accuracy"));
    let m = json(&model);
    assert_eq!(m["model"], "softmax");
    assert_eq!(m["network"]["kind"], "mlp");
    let layers = m["network"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0]["weight"].as_array().unwrap().len(), 32);
    assert!(m.get("coef").is_none());
    let reg = m["objective"]["reg_loss"].as_f64().unwrap();
    assert!(reg > 0.0, "the first layer is penalized");
    let train_acc = m["metrics"]["train"]["accuracy"].as_f64().unwrap();
    assert!(
        train_acc > 0.5,
        "learns something in 300 epochs: {train_acc}"
    );
    // predict reproduces the fit's accuracy on the whole file within the split's share.
    let preds = dir.path().join("p.csv");
    let out = run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &data,
        "--proba",
        "--out",
        preds.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(&preds).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "prediction,proba_0,proba_1,proba_2");
    assert_eq!(lines.count(), 300);
    // The regions picture of the network.
    let png = dir.path().join("regions.png");
    let out = run(&[
        "plot-regions",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &data,
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
}

#[test]
fn prox_on_the_first_layer_reports_exact_zeros_per_layer() {
    let dir = tempfile::tempdir().unwrap();
    let data = spiral(dir.path(), 100);
    let model = dir.path().join("m.json");
    let out = run(&[
        "fit",
        "--data",
        &data,
        "--model",
        "mlp",
        "--hidden",
        "32",
        "--layer-penalty",
        "1:0.05,0,0,0",
        "--l1-update",
        "prox",
        "--lr",
        "0.5",
        "--epochs",
        "200",
        "--batch-size",
        "full",
        "--device",
        "cpu",
        "--json",
        "--out",
        model.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let per_layer = summary["nnz_per_layer"].as_array().unwrap();
    let first = per_layer[0].as_array().unwrap();
    let (nnz, all) = (first[0].as_u64().unwrap(), first[1].as_u64().unwrap());
    assert_eq!(all, 64);
    assert!(nnz < all, "exact zeros in layer 1: {per_layer:?}");
    let second = per_layer[1].as_array().unwrap();
    assert_eq!(second[0], second[1], "layer 2 is not penalized");
    let m = json(&model);
    let zeros = m["network"]["layers"][0]["weight"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter())
        .filter(|v| v.as_f64() == Some(0.0))
        .count() as u64;
    assert_eq!(zeros, all - nnz, "the file holds the zeros");
}

#[test]
fn resume_from_a_checkpoint_reaches_the_same_network() {
    let dir = tempfile::tempdir().unwrap();
    let data = spiral(dir.path(), 60);
    for device in [gpu_args(), vec!["--device", "cpu"]] {
        let fit = |epochs: &str, extra: &[&str], out: &std::path::Path| {
            let mut args = vec![
                "fit",
                "--data",
                &data,
                "--model",
                "mlp",
                "--hidden",
                "20",
                "--optimizer",
                "momentum",
                "--lr",
                "0.2",
                "--batch-size",
                "32",
                "--epochs",
                epochs,
                "--out",
                out.to_str().unwrap(),
                "-q",
            ];
            args.extend_from_slice(&device);
            args.extend_from_slice(extra);
            let o = run(&args);
            assert!(o.status.success(), "{}", stderr(&o));
            json(out)["network"].clone()
        };
        let whole = fit("6", &[], &dir.path().join("whole.json"));
        let ck = dir.path().join("ck.json");
        fit(
            "3",
            &["--checkpoint", ck.to_str().unwrap()],
            &dir.path().join("half.json"),
        );
        let resumed = fit(
            "6",
            &["--resume", ck.to_str().unwrap()],
            &dir.path().join("resumed.json"),
        );
        assert_eq!(whole, resumed, "{device:?}: resumed network differs");
    }
}

#[test]
fn divergence_is_exit_3_naming_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let data = spiral(dir.path(), 50);
    let mut args = vec![
        "fit",
        "--data",
        &data,
        "--model",
        "mlp",
        "--loss",
        "squared",
        "--hidden",
        "8",
        "--lr",
        "1e6",
        "--epochs",
        "50",
        "--batch-size",
        "full",
        "-q",
    ];
    args.extend(gpu_args());
    let out = run(&args);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("layer") || err.contains("loss"), "{err}");
}

#[test]
fn bad_network_flags_are_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = spiral(dir.path(), 20);
    let cases: [(&[&str], &str); 6] = [
        (&["--hidden", "8"], "--model mlp"),
        (&["--model", "mlp", "--solver", "apg"], "apg"),
        (&["--model", "mlp", "--layer-penalty", "3:0,1"], "layer"),
        (&["--model", "mlp", "--layer-penalty", "one:0"], "LAYER"),
        (&["--model", "mlp", "--hidden", "0"], "hidden"),
        (
            &["--model", "mlp", "--layer-penalty", "1:-1"],
            "layer-penalty",
        ),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["fit", "--data", &data, "--device", "cpu", "-q"];
        args.extend_from_slice(flags);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{flags:?}: {err}");
        assert!(err.contains(needle), "{flags:?}: {err}");
    }
    // A model file whose layers do not chain.
    let model = dir.path().join("m.json");
    let out = run(&[
        "fit",
        "--data",
        &data,
        "--model",
        "mlp",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--out",
        model.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success());
    let mut m = json(&model);
    m["network"]["layers"][1]["inputs"] = Value::from(5);
    std::fs::write(&model, m.to_string()).unwrap();
    let preds = dir.path().join("p.csv");
    let out = run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &data,
        "--out",
        preds.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("layer 2"), "{}", stderr(&out));
}

#[test]
fn compare_and_bench_run_the_network_on_both_devices() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = spiral(dir.path(), 50);
    let out = run(&[
        "compare",
        "--data",
        &data,
        "--model",
        "mlp",
        "--hidden",
        "16",
        "--epochs",
        "3",
        "--batch-size",
        "32",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("gpu") && text.contains("cpu"), "{text}");
    let json_path = dir.path().join("bench.json");
    let out = run(&[
        "bench",
        "--sizes",
        "3000x8x512:mlp16",
        "--min-seconds",
        "0",
        "--json",
        json_path.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&json_path);
    let r = &report["results"][0];
    assert_eq!(r["model"], "mlp16");
    assert!(r["gpu_epoch_seconds"].as_f64().unwrap() > 0.0);
    assert!(r["cpu_epoch_seconds"].as_f64().unwrap() > 0.0);
}
