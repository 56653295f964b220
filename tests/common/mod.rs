//! Helpers shared by the integration tests: one GPU context per test binary (or a clear failure
//! naming the fix), the documented tolerance check, and small problems.
#![allow(dead_code)]

use gpu_regfit::data::{generate, Dataset};
use gpu_regfit::gpu::GpuContext;
use std::sync::{Arc, OnceLock};

/// The GPU context for GPU tests. Without an adapter the test fails with the install hint, unless
/// GPU_REGFIT_SKIP_GPU=1 is set on purpose (then `None`, and the test says it skipped).
pub fn gpu() -> Option<Arc<GpuContext>> {
    static CTX: OnceLock<Result<Arc<GpuContext>, String>> = OnceLock::new();
    if std::env::var("GPU_REGFIT_SKIP_GPU").as_deref() == Ok("1") {
        eprintln!("GPU_REGFIT_SKIP_GPU=1: skipping the GPU part of this test");
        return None;
    }
    match CTX.get_or_init(|| GpuContext::new(None).map(Arc::new).map_err(|e| e.to_string())) {
        Ok(ctx) => Some(ctx.clone()),
        Err(e) => panic!("GPU test needs an adapter: {e}\n(set GPU_REGFIT_SKIP_GPU=1 to skip GPU tests on purpose)"),
    }
}

/// |actual − expected| ≤ max(rtol·max(|actual|, |expected|), atol), element-wise. On failure the
/// message names the worst index with both values.
pub fn assert_close(what: &str, actual: &[f64], expected: &[f64], rtol: f64, atol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: length differs");
    let mut worst: Option<(usize, f64, f64)> = None;
    let mut failures = 0;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let err = (a - e).abs();
        let allowed = (rtol * a.abs().max(e.abs())).max(atol);
        // NaN counts as a failure.
        if err.is_nan() || err > allowed {
            failures += 1;
            let excess = err / allowed;
            if worst.is_none_or(|(_, w, _)| excess > w) {
                worst = Some((i, excess, err));
            }
        }
    }
    if let Some((i, excess, err)) = worst {
        panic!(
            "{what}: {failures} of {} values out of tolerance (rtol {rtol:e}, atol {atol:e}); worst at index {i}: actual {}, expected {}, |error| {err:e} ({excess:.1}x the allowed)",
            actual.len(),
            actual[i],
            expected[i]
        );
    }
}

/// [coef..., intercept] as one vector.
pub fn params(coef: &[f64], intercept: f64) -> Vec<f64> {
    coef.iter().copied().chain([intercept]).collect()
}

pub fn linear(rows: usize, features: usize, informative: usize, noise: f64, seed: u64) -> Dataset {
    generate::linear(&generate::LinearSpec {
        rows,
        features,
        informative,
        noise,
        seed,
    })
    .expect("valid spec")
    .0
}

/// A standardized copy of a generated problem.
pub fn standardized(mut data: Dataset) -> Dataset {
    gpu_regfit::data::Standardizer::fit_transform(&mut data);
    data
}

/// A generated classification problem (class indices 0..classes in y, labels 0..classes).
pub fn classification(
    rows: usize,
    features: usize,
    informative: usize,
    classes: usize,
    seed: u64,
) -> Dataset {
    generate::classification(&generate::ClassificationSpec {
        rows,
        features,
        informative,
        classes,
        separation: 1.0,
        seed,
    })
    .expect("valid spec")
    .0
}

/// A small problem for `model`: regression data, or 2 / 3 classes.
pub fn problem_for(
    model: gpu_regfit::config::Model,
    rows: usize,
    features: usize,
    seed: u64,
) -> Dataset {
    use gpu_regfit::config::Model;
    match model {
        Model::Linear => linear(rows, features, features.min(5), 0.5, seed),
        Model::Logistic => classification(rows, features, features.min(4), 2, seed),
        Model::Softmax => classification(rows, features, features.min(4), 3, seed),
    }
}

/// The real binary, for CLI tests.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_gpu-regfit"))
}

/// Runs the binary and echoes the command, status and output (shown when a test fails).
pub fn run(args: &[&str]) -> std::process::Output {
    let out = bin().args(args).output().expect("the binary runs");
    eprintln!(
        "$ gpu-regfit {}\n--- status {:?}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// stderr without the harmless lines lavapipe prints.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--device gpu`, or `--device cpu` when GPU tests are skipped on purpose.
pub fn gpu_args() -> Vec<&'static str> {
    if gpu().is_some() {
        vec!["--device", "gpu"]
    } else {
        vec!["--device", "cpu"]
    }
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}
