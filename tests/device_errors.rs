//! Device failures become typed errors with exit status 4, never panics: a broken shader, a buffer
//! the device cannot hold, and a device lost in the middle of a fit.

mod common;

use common::gpu;
use gpu_regfit::config::FitConfig;
use gpu_regfit::error::Error;
use gpu_regfit::fit::Solver;
use gpu_regfit::gpu::{GpuContext, GpuSolver};
use std::sync::Arc;

#[test]
fn a_broken_shader_is_a_typed_error() {
    let Some(ctx) = gpu() else { return };
    let broken = "@compute @workgroup_size(64) fn main() { let x: f32 = undefined_name; }";
    match ctx.pipeline("broken", broken, "main") {
        Err(e @ Error::Gpu(_)) => {
            assert_eq!(e.exit_code(), 4);
            assert!(e.to_string().contains("broken"), "{e}");
        }
        other => panic!("expected Error::Gpu, got {:?}", other.map(|_| ())),
    }
    // A valid shader whose entry point is missing is a pipeline error, also typed.
    let no_entry = "@compute @workgroup_size(64) fn main() {}";
    assert!(matches!(
        ctx.pipeline("no entry", no_entry, "elsewhere"),
        Err(Error::Gpu(_))
    ));
    // The context is still usable after captured errors.
    assert!(ctx.pipeline("fine", no_entry, "main").is_ok());
}

#[test]
fn a_buffer_past_the_device_limit_is_a_typed_error() {
    let Some(ctx) = gpu() else { return };
    let too_big = ctx.limits.max_buffer_size + 1024;
    let usage = wgpu::BufferUsages::STORAGE;
    match ctx.buffer("too big", too_big, usage) {
        Err(e @ (Error::Gpu(_) | Error::DeviceMemory { .. })) => {
            assert_eq!(e.exit_code(), 4);
            assert!(e.to_string().contains(&too_big.to_string()), "{e}");
        }
        other => panic!("expected a typed error, got {:?}", other.map(|_| ())),
    }
    assert!(ctx.buffer("small", 1024, usage).is_ok());
}

#[test]
fn a_lost_device_is_a_typed_error_not_a_panic() {
    if gpu().is_none() {
        return;
    }
    // A context of its own: this one is destroyed.
    let ctx = Arc::new(GpuContext::new(None).expect("an adapter"));
    let data = common::linear(2000, 8, 3, 0.5, 1);
    let cfg = FitConfig {
        epochs: 3,
        ..FitConfig::default()
    };
    let mut solver = GpuSolver::with_context(ctx.clone());
    solver
        .fit_raw(&data, None, &cfg)
        .expect("a fit before the loss");
    ctx.device.destroy();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        GpuSolver::with_context(ctx.clone()).fit_raw(&data, None, &cfg)
    }));
    match result {
        Ok(Err(e)) => {
            assert_eq!(e.exit_code(), 4, "{e}");
            let text = e.to_string();
            assert!(text.contains("lost"), "{text}");
            assert_eq!(text.lines().count(), 1, "{text}");
            eprintln!("after destroy: {e}");
        }
        Ok(Ok(_)) => panic!("a fit on a destroyed device succeeded"),
        Err(_) => panic!("a fit on a destroyed device panicked"),
    }
}
