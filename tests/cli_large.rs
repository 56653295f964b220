//! Large-data features run as a user would: `convert`, memory-mapped .npy input, sharding and
//! streaming flags, and `bench` with its JSON report.

mod common;

use common::{gpu_args, run, stderr};

fn coef(path: &std::path::Path) -> Vec<f64> {
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut c: Vec<f64> = serde_json::from_value(model["coef"].clone()).unwrap();
    c.push(model["intercept"].as_f64().unwrap());
    c
}

#[test]
fn convert_then_fit_npy_matches_csv_and_flags_shard_and_stream() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let gen = [
        "gen",
        "linear",
        "--rows",
        "3000",
        "--features",
        "6",
        "--informative",
        "3",
        "--seed",
        "4",
    ];
    assert!(run(&[&gen[..], &["--out", &p("d.csv")]].concat())
        .status
        .success());
    let out = run(&["convert", &p("d.csv"), &p("d.npy")]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("3000 rows × 6 features"));
    assert!(dir.path().join("d.target.npy").is_file());

    let fit = |data: &str, model: &str, extra: &[&str]| {
        let mut args = vec![
            "fit",
            "--data",
            data,
            "--epochs",
            "3",
            "--batch-size",
            "100",
            "--lr",
            "0.05",
            "--out",
        ];
        args.push(model);
        args.extend_from_slice(&gpu_args());
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    fit(&p("d.csv"), &p("csv.json"), &[]);
    fit(&p("d.npy"), &p("npy.json"), &[]);
    assert_eq!(
        coef(&dir.path().join("csv.json")),
        coef(&dir.path().join("npy.json"))
    );

    // 1 KiB bindings: 42 rows per shard, the same fit.
    fit(
        &p("d.npy"),
        &p("sharded.json"),
        &["--max-binding-bytes", "1KiB"],
    );
    let (a, b) = (
        coef(&dir.path().join("npy.json")),
        coef(&dir.path().join("sharded.json")),
    );
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x - y).abs() <= 1e-3 * x.abs().max(y.abs()).max(0.1),
            "{a:?} vs {b:?}"
        );
    }
    // A budget of a quarter of the data streams it and says so.
    if common::gpu().is_some() {
        let note = fit(
            &p("d.npy"),
            &p("streamed.json"),
            &["--gpu-memory-budget", "24000"],
        );
        assert!(note.contains("streamed in chunks of"), "{note}");
        let model: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("streamed.json")).unwrap(),
        )
        .unwrap();
        assert!(model["config"]["chunk_rows"].as_u64().unwrap() > 0);
    }
}

#[test]
fn convert_and_memory_flags_reject_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let csv = common::write(dir.path(), "d.csv", "a,b,y\n1,2,3\n4,5,6\n");
    let npy = dir.path().join("o.npy");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "convert".into(),
                csv.clone(),
                dir.path().join("o.csv").to_str().unwrap().into(),
            ],
            "must end in .npy",
        ),
        (
            vec![
                "convert".into(),
                dir.path().join("missing.csv").to_str().unwrap().into(),
                npy.to_str().unwrap().into(),
            ],
            "missing.csv",
        ),
        (
            vec![
                "fit".into(),
                "--data".into(),
                csv.clone(),
                "--max-binding-bytes".into(),
                "lots".into(),
            ],
            "lots",
        ),
        (
            vec![
                "fit".into(),
                "--data".into(),
                csv.clone(),
                "--max-binding-bytes".into(),
                "4".into(),
                "--device".into(),
                "gpu".into(),
            ],
            "max-binding-bytes",
        ),
        (
            vec!["bench".into(), "--sizes".into(), "10x3x20".into()],
            "sizes",
        ),
    ];
    for (args, needle) in cases {
        if args[0] == "fit" && args.contains(&"gpu".to_string()) && common::gpu().is_none() {
            continue;
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&refs);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!npy.exists(), "no output after a failed convert");
}

#[test]
fn bench_writes_the_documented_json() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("b.json");
    let out = run(&[
        "bench",
        "--sizes",
        "2000x8x100,1500x40x500:logistic",
        "--min-seconds",
        "0",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("[1/2] 2000x8 batch 100 linear") && err.contains("[2/2]"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(report["device"]["name"].is_string());
    assert!(report["copy_gbps"].as_f64().unwrap() > 0.0);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        for key in [
            "rows",
            "features",
            "batch",
            "model",
            "gpu_epoch_seconds",
            "cpu_epoch_seconds",
            "gpu_gbps",
            "copy_fraction",
            "speedup",
            "read_epoch_seconds",
            "read_gbps",
            "read_fraction",
        ] {
            assert!(!r[key].is_null(), "missing {key} in {r}");
        }
        let bytes = r["rows"].as_f64().unwrap() * r["features"].as_f64().unwrap() * 4.0;
        let read_gbps = bytes / r["read_epoch_seconds"].as_f64().unwrap() / 1e9;
        assert!((r["read_gbps"].as_f64().unwrap() - read_gbps).abs() <= 1e-9 * read_gbps.max(1.0));
        let of_read = r["gpu_gbps"].as_f64().unwrap() / read_gbps;
        assert!((r["read_fraction"].as_f64().unwrap() - of_read).abs() <= 1e-9 * of_read.max(1.0));
        // One dispatch per step is timed against two in the same run.
        let kernel = r["kernel"].as_str().unwrap();
        assert!(
            kernel.starts_with("rows") || kernel.starts_with("tiles"),
            "{kernel}"
        );
        assert_eq!(
            kernel.ends_with("1 dispatch"),
            r["two_dispatch_epoch_seconds"].as_f64().is_some(),
            "{r}"
        );
        let gbps = r["gpu_gbps"].as_f64().unwrap();
        let expected = r["rows"].as_f64().unwrap() * r["features"].as_f64().unwrap() * 4.0
            / r["gpu_epoch_seconds"].as_f64().unwrap()
            / 1e9;
        assert!((gbps - expected).abs() <= 1e-9 * expected.max(1.0));
        let fraction = gbps / report["copy_gbps"].as_f64().unwrap();
        assert!((r["copy_fraction"].as_f64().unwrap() - fraction).abs() <= 1e-12);
    }
    assert_eq!(results[1]["model"], "logistic");
}
