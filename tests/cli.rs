//! The real binary, run as a user would: fit, compare, gen, devices, and every bad input named in
//! the contract (exit status 2, one line naming the file, line, column or value, never a panic).

mod common;

use common::{bin, gpu_args, run, stderr, write};
use std::process::Command;

#[test]
fn gen_then_fit_writes_model_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    let csv_s = csv.to_str().unwrap();
    let out = run(&[
        "gen",
        "linear",
        "--rows",
        "500",
        "--features",
        "20",
        "--informative",
        "4",
        "--noise",
        "0.1",
        "--seed",
        "3",
        "--out",
        csv_s,
    ]);
    assert!(out.status.success());
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{csv_s}.truth.json")).unwrap())
            .unwrap();
    let true_coef: Vec<f64> = serde_json::from_value(truth["coef"].clone()).unwrap();
    assert_eq!(true_coef.iter().filter(|w| **w != 0.0).count(), 4);
    assert!(true_coef
        .iter()
        .all(|w| *w == 0.0 || (1.0..=5.0).contains(&w.abs())));

    let model = dir.path().join("m.json");
    let history = dir.path().join("h.csv");
    let mut args = vec![
        "fit",
        "--data",
        csv_s,
        "--l1",
        "0.05",
        "--l1-update",
        "prox",
        "--batch-size",
        "full",
        "--lr",
        "0.5",
        "--epochs",
        "200",
        "--out",
        model.to_str().unwrap(),
        "--history",
        history.to_str().unwrap(),
        "--json",
    ];
    args.extend(gpu_args());
    let out = run(&args);
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["epochs"], 200);
    assert_eq!(
        summary["nnz"], 4,
        "prox l1 keeps exactly the informative features"
    );

    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    for key in [
        "model",
        "coef",
        "intercept",
        "nnz",
        "objective",
        "config",
        "device",
    ] {
        assert!(m.get(key).is_some(), "model JSON lacks `{key}`");
    }
    assert_eq!(m["model"], "linear");
    assert_eq!(m["config"]["l1_update"], "prox");
    let coef: Vec<f64> = serde_json::from_value(m["coef"].clone()).unwrap();
    for (w, t) in coef.iter().zip(&true_coef) {
        assert!((w - t).abs() < 0.1, "coef {w} vs truth {t}");
    }
    let h = std::fs::read_to_string(&history).unwrap();
    assert_eq!(
        h.lines().next().unwrap(),
        "epoch,step,data_loss,reg_loss,loss,train_accuracy,val_loss,val_accuracy,lr,seconds,duality_gap"
    );
    assert_eq!(h.lines().count(), 201);
}

#[test]
fn gen_npy_pair_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    let out = run(&[
        "gen",
        "linear",
        "--rows",
        "300",
        "--features",
        "5",
        "--informative",
        "2",
        "--out",
        x.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let y = dir.path().join("x.target.npy");
    assert!(y.is_file() && dir.path().join("x.npy.truth.json").is_file());
    let out = run(&[
        "fit",
        "--device",
        "cpu",
        "--data",
        x.to_str().unwrap(),
        "--target-file",
        y.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rows"], 300);
    assert_eq!(summary["features"], 5);
}

#[test]
fn fit_on_the_built_in_problem() {
    let mut args = vec!["fit", "--epochs", "2"];
    args.extend(gpu_args());
    let out = run(&args);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["device:", "epochs:", "loss:", "nnz:"] {
        assert!(text.contains(word), "summary lacks {word}");
    }
}

#[test]
fn compare_reports_agreement_and_the_exact_gap() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("c.json");
    let out = run(&[
        "compare",
        "--alpha",
        "0.1",
        "--l1-ratio",
        "0.5",
        "--l1-update",
        "prox",
        "--batch-size",
        "full",
        "--lr",
        "0.5",
        "--epochs",
        "300",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "gpu_seconds",
        "cpu_seconds",
        "coef_max_abs_diff",
        "loss_rel_diff",
        "gpu_objective",
        "cpu_objective",
        "exact_objective",
        "objective_gap",
    ] {
        assert!(r[key].is_number(), "compare JSON lacks number `{key}`");
    }
    assert!(r["coef_max_abs_diff"].as_f64().unwrap() < 1e-4);
    assert!(r["objective_gap"].as_f64().unwrap().abs() < 1e-5);
    assert!(String::from_utf8_lossy(&out.stdout).contains("objective gap"));
}

#[test]
fn devices_lists_adapters() {
    let out = run(&["devices", "--json"]);
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    if common::gpu().is_some() {
        assert!(!list.is_empty());
        for key in [
            "name",
            "backend",
            "device_type",
            "max_storage_binding",
            "max_buffer",
        ] {
            assert!(list[0].get(key).is_some(), "adapter lacks `{key}`");
        }
    }
}

/// With no Vulkan driver visible, `--device gpu` fails with exit status 4 and names the fix, and
/// `--device auto` falls back to the CPU reference with a note.
#[test]
fn no_adapter_names_the_fix() {
    let hide = |c: &mut Command| {
        c.env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json");
    };
    let mut c = bin();
    hide(&mut c);
    let out = c
        .args(["fit", "--device", "gpu", "--epochs", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("mesa-vulkan-drivers"),
        "{}",
        stderr(&out)
    );
    let mut c = bin();
    hide(&mut c);
    let out = c.args(["fit", "--epochs", "1"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("cpu reference"));
    assert!(stderr(&out).contains("using the CPU reference"));
}

#[test]
fn tol_stops_early_and_standardize_warns_on_constant_columns() {
    let dir = tempfile::tempdir().unwrap();
    // Column c is constant; y = 2a − b + 1 exactly.
    let mut text = String::from("a,b,c,y\n");
    for i in 0..50 {
        let (a, b) = (i as f64 * 0.37 % 5.0, (i * i) as f64 % 7.0);
        text.push_str(&format!("{a},{b},3,{}\n", 2.0 * a - b + 1.0));
    }
    let csv = write(dir.path(), "c.csv", &text);
    let model = dir.path().join("m.json");
    let out = run(&[
        "fit",
        "--device",
        "cpu",
        "--data",
        &csv,
        "--standardize",
        "--batch-size",
        "full",
        "--lr",
        "0.5",
        "--epochs",
        "300",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("constant columns left at 0 by --standardize: c"));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let coef: Vec<f64> = serde_json::from_value(m["coef"].clone()).unwrap();
    let b = m["intercept"].as_f64().unwrap();
    // Reported on the original scale: the true 2, −1, 0 and 1.
    assert!(
        (coef[0] - 2.0).abs() < 1e-4 && (coef[1] + 1.0).abs() < 1e-4 && coef[2] == 0.0,
        "{coef:?}"
    );
    assert!((b - 1.0).abs() < 1e-3, "intercept {b}");

    // With a huge tol no epoch counts as an improvement after the first: stop after 1 + 2 epochs.
    let out = run(&[
        "fit",
        "--device",
        "cpu",
        "--data",
        &csv,
        "--epochs",
        "50",
        "--batch-size",
        "10",
        "--tol",
        "1e9",
        "--n-iter-no-change",
        "2",
        "--json",
    ]);
    assert!(out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["epochs"], 3);
    assert_eq!(s["stopped_early"], true);
}
