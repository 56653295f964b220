#![no_main]
//! LIBSVM reader, with the width from the file and with a fixed --features.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gpu_regfit_fuzz::with_file("input.svm", data, |p| {
        let _ = gpu_regfit::data::read_libsvm(p, None);
        let _ = gpu_regfit::data::read_libsvm(p, Some(8));
    });
});
