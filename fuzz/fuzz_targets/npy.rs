#![no_main]
//! .npy reader: X alone (memory-mapped when f32 C-order, else read and converted).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gpu_regfit_fuzz::with_file("input.npy", data, |p| {
        let _ = gpu_regfit::data::read_npy_x(p);
    });
});
