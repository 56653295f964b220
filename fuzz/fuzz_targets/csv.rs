#![no_main]
//! CSV reader: numeric target, then text target (class labels).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gpu_regfit_fuzz::with_file("input.csv", data, |p| {
        let _ = gpu_regfit::data::read_csv(p, None, false);
        let _ = gpu_regfit::data::read_csv(p, None, true);
    });
});
