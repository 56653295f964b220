#![no_main]
//! Checkpoint reader (`fit --resume`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gpu_regfit_fuzz::with_file("checkpoint.json", data, |p| {
        let _ = gpu_regfit::checkpoint::Checkpoint::load(p);
    });
});
