#![no_main]
//! Model JSON reader (`predict --model`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gpu_regfit_fuzz::with_file("model.json", data, |p| {
        let _ = gpu_regfit::predict::Predictor::load(p);
    });
});
