//! Shared by the fuzz targets: the parsers read files (the .npy reader memory-maps them), so each
//! input is written to a file in a per-process temporary folder and the parser runs on its path.

use std::path::Path;
use std::sync::OnceLock;

/// Writes `data` to `name` in this process's fuzz folder and calls `parse` on the path. The parser
/// may return any error; a panic, abort or hang is what the fuzzer reports.
pub fn with_file(name: &str, data: &[u8], parse: impl FnOnce(&Path)) {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"));
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("the fuzz input is written");
    parse(&path);
}
