//! The CLI's reliability, run as a user runs it: divergence (exit 3, outputs left alone), Ctrl-C
//! and SIGTERM (exit 130, outputs written whole and marked), checkpoints and --resume, plots, and
//! the progress bar (only on a terminal, not with --quiet).

mod common;

use common::{bin, gpu_args, run, stderr};
use std::path::Path;
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// No temporary output file is left in `dir`.
fn no_temp_files(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".gpu-regfit-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn divergence_exits_3_and_leaves_outputs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let history = dir.path().join("h.csv");
    std::fs::write(&model, "old model").unwrap();
    std::fs::write(&history, "old history").unwrap();
    let mut args = vec![
        "fit",
        "--lr",
        "1e6",
        "--out",
        s(&model),
        "--history",
        s(&history),
    ];
    for device in [vec!["--device", "cpu"], gpu_args()] {
        args.extend(device);
        let out = run(&args);
        args.truncate(args.len() - 2);
        assert_eq!(out.status.code(), Some(3));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("diverged at epoch 1, step"), "{err}");
        assert!(err.contains("lower --lr"), "{err}");
        assert!(err.contains("NaN") || err.contains("inf"), "{err}");
        assert_eq!(std::fs::read_to_string(&model).unwrap(), "old model");
        assert_eq!(std::fs::read_to_string(&history).unwrap(), "old history");
    }
}

/// Starts a long fit, waits for its first checkpoint, sends `signal`, and checks that it stops
/// with status 130 having written every output whole; then resumes it to the end.
fn interrupt_then_resume(signal: &str, device: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("x.npy");
    assert!(run(&[
        "gen",
        "linear",
        "--rows",
        "50000",
        "--features",
        "16",
        "--informative",
        "4",
        "--out",
        s(&data),
    ])
    .status
    .success());
    let (model, history, ck, plot) = (
        d.join("m.json"),
        d.join("h.csv"),
        d.join("ck.json"),
        d.join("p.png"),
    );
    std::fs::write(&model, "old model").unwrap();
    let mut args: Vec<&str> = vec!["fit", "--data", s(&data), "--epochs", "100000"];
    args.extend(device);
    args.extend(["--out", s(&model), "--history", s(&history)]);
    args.extend(["--checkpoint", s(&ck), "--plot", s(&plot)]);
    let child = bin()
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ck.exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("sh")
        .args(["-c", &format!("kill -{signal} {pid}")])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    eprintln!("{err}");
    assert_eq!(out.status.code(), Some(130), "{signal}: {err}");
    assert!(err.contains("interrupted at epoch"), "{err}");
    let m = json(&model);
    assert_eq!(m["interrupted"], true);
    assert_eq!(m["stop_reason"], "interrupted");
    let epochs = m["epochs_run"].as_u64().unwrap();
    assert!((1..100000).contains(&epochs));
    let c = json(&ck);
    assert_eq!(c["interrupted"], true);
    assert_eq!(c["position"]["global_step"], m["steps_run"]);
    let h = std::fs::read_to_string(&history).unwrap();
    assert_eq!(h.lines().count() as u64, 1 + epochs, "{h}");
    assert!(std::fs::read(&plot).unwrap().starts_with(b"\x89PNG"));
    no_temp_files(d);

    // Resume for two more epochs: it goes on from the checkpoint's epoch.
    let more = (epochs + 2).to_string();
    let mut args: Vec<&str> = vec!["fit", "--data", s(&data), "--epochs", &more];
    args.extend(device);
    args.extend(["--resume", s(&ck), "--out", s(&model)]);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = json(&model);
    assert_eq!(m["interrupted"], false);
    assert_eq!(m["epochs_run"].as_u64(), Some(epochs + 2));
}

#[test]
fn sigterm_on_the_cpu_stops_at_a_log_point_and_writes_whole_outputs() {
    interrupt_then_resume("TERM", &["--device", "cpu"]);
}

#[test]
fn ctrl_c_on_the_gpu_stops_at_a_log_point_and_writes_whole_outputs() {
    interrupt_then_resume("INT", &gpu_args());
}

/// `--epochs 3 --checkpoint` then `--resume --epochs 6` gives the coefficients of `--epochs 6`,
/// digit for digit, on the CPU reference and on the GPU.
#[test]
fn checkpoint_then_resume_matches_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for device in [vec!["--device", "cpu"], gpu_args()] {
        let common = |epochs: &'static str| {
            let mut a = vec!["fit", "--epochs", epochs, "--l1", "0.01"];
            a.extend(["--optimizer", "momentum", "--momentum", "0.5"]);
            a.extend(["--log-every", "30", "--decay", "0.001"]);
            a.extend(device.iter().copied());
            a
        };
        let (whole, part, resumed, ck) = (
            d.join("whole.json"),
            d.join("part.json"),
            d.join("resumed.json"),
            d.join("ck.json"),
        );
        let mut a = common("6");
        a.extend(["--out", s(&whole)]);
        assert!(run(&a).status.success());
        let mut a = common("3");
        a.extend(["--out", s(&part), "--checkpoint", s(&ck)]);
        a.extend(["--checkpoint-every", "3"]);
        assert!(run(&a).status.success());
        assert_eq!(json(&ck)["position"]["epoch"], 3);
        let mut a = common("6");
        a.extend(["--out", s(&resumed), "--resume", s(&ck)]);
        assert!(run(&a).status.success());
        let (w, r) = (json(&whole), json(&resumed));
        assert_eq!(w["coef"], r["coef"], "{device:?}");
        assert_eq!(w["intercept"], r["intercept"], "{device:?}");
        assert_eq!(w["objective"], r["objective"]);
        assert_ne!(json(&part)["coef"], w["coef"]);

        // Another lr is refused, naming the setting and both values.
        let mut a = common("6");
        a.extend(["--resume", s(&ck), "--lr", "0.01"]);
        let out = run(&a);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("lr = 0.05") && err.contains("lr = 0.01"),
            "{err}"
        );
    }
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().expect("a valid PNG");
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn plots_from_fit_compare_and_a_saved_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (p1, h1) = (d.join("fit.png"), d.join("fit.csv"));
    let out = run(&[
        "fit",
        "--device",
        "cpu",
        "--epochs",
        "5",
        "--plot",
        s(&p1),
        "--history",
        s(&h1),
        "--validation-fraction",
        "0.2",
    ]);
    assert!(out.status.success());
    assert_eq!(png_size(&p1), (960, 600));

    let (p2, h2) = (d.join("cmp.png"), d.join("cmp.csv"));
    let out = run(&[
        "compare",
        "--epochs",
        "3",
        "--plot",
        s(&p2),
        "--history",
        s(&h2),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(png_size(&p2), (960, 600));
    let h = std::fs::read_to_string(&h2).unwrap();
    assert!(h.starts_with("solver,epoch,step,"), "{h}");
    assert_eq!(h.lines().filter(|l| l.starts_with("gpu,")).count(), 3);
    assert_eq!(h.lines().filter(|l| l.starts_with("cpu,")).count(), 3);

    for history in [&h1, &h2] {
        let p = d.join("again.png");
        let out = run(&["plot", s(history), "--out", s(&p)]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(png_size(&p), (960, 600));
        std::fs::remove_file(&p).unwrap();
    }
    // Not a PNG name, and a file that is not a history: one line, exit 2.
    let out = run(&["plot", s(&h1), "--out", s(&d.join("x.jpg"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(".png"));
    let bad = d.join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n").unwrap();
    let out = run(&["plot", s(&bad), "--out", s(&d.join("y.png"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.csv: line 2"), "{}", stderr(&out));
}

/// The bar is drawn on a terminal (a pseudo-terminal made by `script`), never into a pipe, and not
/// with --quiet.
#[test]
fn progress_bar_only_on_a_terminal_and_not_with_quiet() {
    let exe = env!("CARGO_BIN_EXE_gpu-regfit");
    let fit = format!("{exe} fit --device cpu --epochs 200");
    let on_tty = |cmd: &str| {
        let out = std::process::Command::new("script")
            .args(["-qec", cmd, "/dev/null"])
            .output()
            .expect("`script` (util-linux) runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_tty(&fit);
    assert!(
        shown.contains("epoch ") && shown.contains("/200"),
        "{shown}"
    );
    assert!(shown.contains("rows/s") && shown.contains("ETA"), "{shown}");
    assert!(!on_tty(&format!("{fit} --quiet")).contains("ETA"));
    let piped = run(&["fit", "--device", "cpu", "--epochs", "200"]);
    assert!(!stderr(&piped).contains("ETA"));
}
