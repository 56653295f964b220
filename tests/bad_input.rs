//! Bad input, everywhere: a table of bad files and flags across CSV, NPY, LIBSVM, model JSON,
//! checkpoints, history CSV and the command line. Each must exit with status 2 and print one line
//! naming the file and line, or the value; none may panic. Then the parsers are fed thousands of
//! mutated files (the same bodies the cargo-fuzz targets in fuzz/ run) and must never panic.

mod common;

use common::{run, stderr};
use gpu_regfit::checkpoint::Checkpoint;
use gpu_regfit::data::{self, Dataset, Format, LoadOptions};
use gpu_regfit::predict::Predictor;
use gpu_regfit::report::plot;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// A .npy file: magic, version 1.0, header (padded to 64 bytes), data.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// Writes `bytes` to `name` and returns its path.
    fn put(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    }
    /// An .npy X with a valid 4-row y beside it.
    fn npy_x(&self, stem: &str, bytes: Vec<u8>) -> String {
        let y = npy("<f4", false, "(4,)", &f32s(&[1.0, 2.0, 3.0, 4.0]));
        self.put(&format!("{stem}.target.npy"), y);
        self.put(&format!("{stem}.npy"), bytes)
    }
}

/// Runs `args`; expects exit status 2 and exactly one line on stderr that contains every needle.
fn expect_bad(args: &[&str], needles: &[&str]) -> String {
    let out = run(args);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    assert_eq!(out.status.code(), Some(2), "{args:?}: exit status");
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: one line expected:\n{err}"
    );
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: `{err}` lacks `{needle}`");
    }
    err
}

#[test]
fn every_bad_input_exits_2_with_one_line_naming_it() {
    let f = Files::new();
    let ok = f.put("ok.csv", "a,b,y\n1,2,3\n4,5,6\n7,8,9\n");
    let x4 = f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    let good_npy = f.npy_x("good", npy("<f4", false, "(4, 2)", &x4));
    let mut truncated = npy("<f4", false, "(4, 2)", &x4);
    truncated.truncate(truncated.len() - 6);
    let model = f.path("model.json");
    let model_s = model.to_str().unwrap().to_string();
    let ck = f.path("ck.json");
    let ck_s = ck.to_str().unwrap().to_string();
    let out = run(&[
        "fit",
        "--device",
        "cpu",
        "--data",
        &ok,
        "--epochs",
        "2",
        "--out",
        &model_s,
        "--checkpoint",
        &ck_s,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model_text = std::fs::read_to_string(&model).unwrap();
    let ck_text = std::fs::read_to_string(&ck).unwrap();
    let mut wrong_width: serde_json::Value = serde_json::from_str(&model_text).unwrap();
    wrong_width["coef"] = serde_json::json!([1.0]);
    let mut tree: serde_json::Value = serde_json::from_str(&model_text).unwrap();
    tree["model"] = serde_json::json!("tree");
    let mut ck_nan: serde_json::Value = serde_json::from_str(&ck_text).unwrap();
    ck_nan["version"] = serde_json::json!(99);
    let three_cols = f.put("three.csv", "a,b,c,y\n1,2,3,4\n5,6,7,8\n");
    let dir = f.dir.path().to_str().unwrap().to_string();
    let missing = f.path("missing.csv").to_str().unwrap().to_string();

    let sw_neg = f.put("sw_neg.csv", "a,w,y\n1,1,3\n4,-1,6\n7,1,9\n");
    let sw_nan = f.put("sw_nan.csv", "a,w,y\n1,1,3\n4,NaN,6\n7,1,9\n");
    let sw_zero = f.put("sw_zero.csv", "a,w,y\n1,0,3\n4,0,6\n7,0,9\n");
    let w_short = f.put("w_short.txt", "1\n2\n");
    let w_word = f.put("w_word.txt", "1\nheavy\n1\n");
    let labels = f.put("labels.csv", "a,y\n1,0\n2,1\n3,0\n4,1\n");
    // (what, args, needles)
    let cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        // CSV
        (
            "csv: missing file",
            vec!["--data".into(), missing.clone()],
            vec!["missing.csv"],
        ),
        (
            "csv: empty file",
            vec!["--data".into(), f.put("empty.csv", "")],
            vec!["empty.csv", "empty"],
        ),
        (
            "csv: header only",
            vec!["--data".into(), f.put("header.csv", "a,b,y\n")],
            vec!["header.csv", "no data rows"],
        ),
        (
            "csv: ragged row",
            vec!["--data".into(), f.put("ragged.csv", "a,b,y\n1,2,3\n4,5\n")],
            vec!["ragged.csv", "line 3"],
        ),
        (
            "csv: non-numeric cell",
            vec![
                "--data".into(),
                f.put("text.csv", "a,b,y\n1,2,3\n4,abc,6\n"),
            ],
            vec!["text.csv", "line 3", "`abc`"],
        ),
        (
            "csv: NaN",
            vec!["--data".into(), f.put("nan.csv", "a,b,y\n1,NaN,3\n")],
            vec!["nan.csv", "NaN"],
        ),
        (
            "csv: Inf",
            vec!["--data".into(), f.put("inf.csv", "a,b,y\n1,2,inf\n")],
            vec!["inf.csv", "inf"],
        ),
        (
            "csv: 1e400",
            vec!["--data".into(), f.put("huge.csv", "a,b,y\n1,1e400,3\n")],
            vec!["huge.csv", "1e400"],
        ),
        (
            "csv: unknown target column",
            vec![
                "--data".into(),
                ok.clone(),
                "--target".into(),
                "nope".into(),
            ],
            vec!["ok.csv", "`nope`"],
        ),
        (
            "data: a directory",
            vec!["--data".into(), dir.clone()],
            vec![&dir],
        ),
        // NPY
        (
            "npy: dtype int32",
            vec![
                "--data".into(),
                f.npy_x("i4", npy("<i4", false, "(4, 2)", &x4)),
            ],
            vec!["i4.npy", "<i4"],
        ),
        (
            "npy: dtype complex",
            vec![
                "--data".into(),
                f.npy_x("c8", npy("<c8", false, "(4, 1)", &x4)),
            ],
            vec!["c8.npy", "<c8"],
        ),
        (
            "npy: dtype text",
            vec![
                "--data".into(),
                f.npy_x("u1", npy("<U1", false, "(4, 2)", &x4)),
            ],
            vec!["u1.npy", "<U1"],
        ),
        (
            "npy: byte order |",
            vec![
                "--data".into(),
                f.npy_x("bo", npy("|f4", false, "(4, 2)", &x4)),
            ],
            vec!["bo.npy", "|f4"],
        ),
        (
            "npy: 3-D shape",
            vec![
                "--data".into(),
                f.npy_x("d3", npy("<f4", false, "(2, 2, 2)", &x4)),
            ],
            vec!["d3.npy", "ndim 3"],
        ),
        (
            "npy: 1-D X",
            vec![
                "--data".into(),
                f.npy_x("d1", npy("<f4", false, "(8,)", &x4)),
            ],
            vec!["d1.npy", "ndim 1"],
        ),
        (
            "npy: truncated data",
            vec!["--data".into(), f.npy_x("cut", truncated)],
            vec!["cut.npy", "truncated .npy", "26 bytes"],
        ),
        (
            "npy: shape larger than data",
            vec![
                "--data".into(),
                f.npy_x("big", npy("<f4", false, "(40, 2)", &x4)),
            ],
            vec!["big.npy", "truncated .npy", "(40, 2)"],
        ),
        (
            "npy: bad magic",
            vec![
                "--data".into(),
                f.npy_x("magic", b"NOTNPY and more bytes".to_vec()),
            ],
            vec!["magic.npy", "magic"],
        ),
        (
            "npy: NaN",
            vec![
                "--data".into(),
                f.npy_x(
                    "nan",
                    npy(
                        "<f4",
                        false,
                        "(4, 2)",
                        &f32s(&[1.0, f32::NAN, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
                    ),
                ),
            ],
            vec!["nan.npy", "NaN", "row 0, column 1"],
        ),
        (
            "npy: y of another length",
            vec![
                "--data".into(),
                good_npy.clone(),
                "--target-file".into(),
                f.put("y3.npy", npy("<f4", false, "(3,)", &f32s(&[1.0, 2.0, 3.0]))),
            ],
            vec!["4 rows", "3"],
        ),
        (
            "npy: y is 2-D",
            vec![
                "--data".into(),
                good_npy.clone(),
                "--target-file".into(),
                f.put("y2d.npy", npy("<f4", false, "(4, 2)", &x4)),
            ],
            vec!["y2d.npy", "ndim 2"],
        ),
        (
            "npy: header length past the end (found by cargo fuzz)",
            vec![
                "--data".into(),
                f.npy_x("hdr", b"\x93NUMPY\x03\x00\xe4\x00\xc7\xc7padding".to_vec()),
            ],
            vec!["hdr.npy", "truncated .npy"],
        ),
        (
            "npy: shape past the data (read path, f64)",
            vec![
                "--data".into(),
                f.npy_x("f8", npy("<f8", false, "(100000000, 8)", &x4)),
            ],
            vec!["f8.npy", "truncated .npy", "(100000000, 8)"],
        ),
        // LIBSVM
        (
            "libsvm: index 0",
            vec!["--data".into(), f.put("i0.svm", "1 0:1 2:3\n")],
            vec!["i0.svm", "line 1", "index 0"],
        ),
        (
            "libsvm: unsorted",
            vec!["--data".into(), f.put("uns.svm", "1 1:1\n0 3:1 2:3\n")],
            vec!["uns.svm", "line 2", "increase"],
        ),
        (
            "libsvm: repeated index",
            vec!["--data".into(), f.put("rep.svm", "1 2:1 2:3\n")],
            vec!["rep.svm", "line 1", "repeated"],
        ),
        (
            "libsvm: non-numeric index",
            vec!["--data".into(), f.put("nni.svm", "1 a:1\n")],
            vec!["nni.svm", "line 1", "`a`"],
        ),
        (
            "libsvm: non-numeric value",
            vec!["--data".into(), f.put("nnv.svm", "1 1:x\n")],
            vec!["nnv.svm", "line 1", "`x`"],
        ),
        (
            "libsvm: non-numeric label",
            vec!["--data".into(), f.put("nnl.svm", "\n\nabc 1:1\n")],
            vec!["nnl.svm", "line 3", "`abc`"],
        ),
        (
            "libsvm: 1e400",
            vec!["--data".into(), f.put("big.svm", "1 1:1e400\n")],
            vec!["big.svm", "1e400"],
        ),
        (
            "libsvm: no colon",
            vec!["--data".into(), f.put("nc.svm", "1 1\n")],
            vec!["nc.svm", "index:value"],
        ),
        (
            "libsvm: index past the limit",
            vec!["--data".into(), f.put("wide.svm", "1 3000000000:1\n")],
            vec!["wide.svm", "3000000000"],
        ),
        (
            "libsvm: blank lines only",
            vec!["--data".into(), f.put("blank.svm", "\n\n# comment\n")],
            vec!["blank.svm", "no data lines"],
        ),
        // Flags
        ("flag: unknown", vec!["--bogus".into()], vec!["--bogus"]),
        (
            "flag: --alpha with --l1",
            vec!["--alpha".into(), "1".into(), "--l1".into(), "1".into()],
            vec!["--alpha", "--l1"],
        ),
        (
            "flag: --lr not a number",
            vec!["--lr".into(), "abc".into()],
            vec!["abc", "--lr"],
        ),
        (
            "flag: --l1 negative",
            vec!["--data".into(), ok.clone(), "--l1".into(), "-1".into()],
            vec!["l1 = -1"],
        ),
        (
            "flag: --lr 0",
            vec!["--data".into(), ok.clone(), "--lr".into(), "0".into()],
            vec!["lr = 0"],
        ),
        (
            "flag: --batch-size 0",
            vec![
                "--data".into(),
                ok.clone(),
                "--batch-size".into(),
                "0".into(),
            ],
            vec!["batch-size = 0"],
        ),
        (
            "flag: --batch-size > rows",
            vec![
                "--data".into(),
                ok.clone(),
                "--batch-size".into(),
                "4".into(),
            ],
            vec!["batch-size = 4"],
        ),
        (
            "flag: --batch-size word",
            vec!["--batch-size".into(), "lots".into()],
            vec!["lots"],
        ),
        (
            "flag: --epochs 0",
            vec!["--data".into(), ok.clone(), "--epochs".into(), "0".into()],
            vec!["epochs = 0"],
        ),
        (
            "flag: --l1-ratio 1.5",
            vec![
                "--data".into(),
                ok.clone(),
                "--alpha".into(),
                "1".into(),
                "--l1-ratio".into(),
                "1.5".into(),
            ],
            vec!["l1-ratio = 1.5"],
        ),
        (
            "flag: --validation-fraction 1.5",
            vec!["--validation-fraction".into(), "1.5".into()],
            vec!["1.5"],
        ),
        (
            "weights: negative sample weight",
            vec![
                "--data".into(),
                sw_neg.clone(),
                "--sample-weight".into(),
                "w".into(),
            ],
            vec!["sw_neg.csv", "line 3", "-1"],
        ),
        (
            "weights: NaN sample weight",
            vec![
                "--data".into(),
                sw_nan.clone(),
                "--sample-weight".into(),
                "w".into(),
            ],
            vec!["sw_nan.csv", "NaN"],
        ),
        (
            "weights: all zero",
            vec![
                "--data".into(),
                sw_zero.clone(),
                "--sample-weight".into(),
                "w".into(),
            ],
            vec!["sw_zero.csv", "every sample weight is 0"],
        ),
        (
            "weights: unknown column",
            vec![
                "--data".into(),
                ok.clone(),
                "--sample-weight".into(),
                "w".into(),
            ],
            vec!["ok.csv", "`w` not found"],
        ),
        (
            "weights: the target column",
            vec![
                "--data".into(),
                ok.clone(),
                "--sample-weight".into(),
                "y".into(),
            ],
            vec!["ok.csv", "is the target column"],
        ),
        (
            "weights: file of another length",
            vec![
                "--data".into(),
                ok.clone(),
                "--sample-weight-file".into(),
                w_short.clone(),
            ],
            vec!["w_short.txt", "2 sample weights", "3 rows"],
        ),
        (
            "weights: text file with a word",
            vec![
                "--data".into(),
                ok.clone(),
                "--sample-weight-file".into(),
                w_word.clone(),
            ],
            vec!["w_word.txt", "line 2", "heavy"],
        ),
        (
            "weights: --class-weight on regression",
            vec![
                "--data".into(),
                ok.clone(),
                "--class-weight".into(),
                "balanced".into(),
            ],
            vec!["class-weight", "classifiers"],
        ),
        (
            "weights: --class-weight of an unknown label",
            vec![
                "--data".into(),
                labels.clone(),
                "--model".into(),
                "logistic".into(),
                "--class-weight".into(),
                "7=2".into(),
            ],
            vec!["class-weight = 7", "not a label"],
        ),
        (
            "weights: --class-weight not LABEL=W",
            vec![
                "--data".into(),
                labels.clone(),
                "--model".into(),
                "logistic".into(),
                "--class-weight".into(),
                "lots".into(),
            ],
            vec!["lots"],
        ),
        (
            "solver: --solver apg with --lr",
            vec!["--solver".into(), "apg".into(), "--lr".into(), "0.1".into()],
            vec!["solver = apg", "--lr"],
        ),
        (
            "solver: --max-iter with sgd flags",
            vec![
                "--epochs".into(),
                "3".into(),
                "--max-iter".into(),
                "10".into(),
            ],
            vec!["max-iter = 10", "apg"],
        ),
        (
            "solver: --max-iter 0",
            vec!["--max-iter".into(), "0".into()],
            vec!["max-iter = 0"],
        ),
        (
            "solver: apg with --checkpoint",
            vec![
                "--solver".into(),
                "apg".into(),
                "--checkpoint".into(),
                ck_s.clone(),
            ],
            vec!["solver = apg", "--checkpoint"],
        ),
        (
            "flag: --gpu-memory-budget 12Q",
            vec!["--gpu-memory-budget".into(), "12Q".into()],
            vec!["12Q"],
        ),
        (
            "flag: --checkpoint-every 0",
            vec![
                "--checkpoint".into(),
                f.path("c0.json").to_str().unwrap().into(),
                "--checkpoint-every".into(),
                "0".into(),
            ],
            vec!["checkpoint-every = 0"],
        ),
        // Outputs
        (
            "output: unwritable folder",
            vec!["--out".into(), "/proc/m.json".into()],
            vec!["/proc/m.json", "cannot write"],
        ),
        (
            "output: a directory",
            vec!["--out".into(), dir.clone()],
            vec![&dir, "directory"],
        ),
        (
            "output: folder missing",
            vec![
                "--history".into(),
                f.path("no/h.csv").to_str().unwrap().into(),
            ],
            vec!["h.csv", "does not exist"],
        ),
        (
            "output: plot not .png",
            vec!["--plot".into(), f.path("p.jpg").to_str().unwrap().into()],
            vec!["p.jpg", ".png"],
        ),
        // Checkpoints
        (
            "checkpoint: a model file",
            vec![
                "--data".into(),
                ok.clone(),
                "--resume".into(),
                model_s.clone(),
            ],
            vec!["model.json", "not a gpu-regfit checkpoint"],
        ),
        (
            "checkpoint: truncated",
            vec![
                "--data".into(),
                ok.clone(),
                "--resume".into(),
                f.put("ck_cut.json", &ck_text[..ck_text.len() / 2]),
            ],
            vec!["ck_cut.json", "line 1"],
        ),
        (
            "checkpoint: empty",
            vec![
                "--data".into(),
                ok.clone(),
                "--resume".into(),
                f.put("ck_empty.json", ""),
            ],
            vec!["ck_empty.json", "empty"],
        ),
        (
            "checkpoint: unknown version",
            vec![
                "--data".into(),
                ok.clone(),
                "--resume".into(),
                f.put("ck_v99.json", ck_nan.to_string()),
            ],
            vec!["ck_v99.json", "version 99"],
        ),
        (
            "checkpoint: a directory",
            vec!["--resume".into(), dir.clone()],
            vec![&dir, "directory"],
        ),
        (
            "checkpoint: other data",
            vec![
                "--data".into(),
                three_cols.clone(),
                "--resume".into(),
                ck_s.clone(),
            ],
            vec!["ck.json", "3 features", "2 features"],
        ),
        (
            "checkpoint: other config",
            vec![
                "--data".into(),
                ok.clone(),
                "--resume".into(),
                ck_s.clone(),
                "--l2".into(),
                "0.5".into(),
            ],
            vec!["ck.json", "l2 = 0.5"],
        ),
        (
            "checkpoint: epochs already run",
            vec![
                "--data".into(),
                ok.clone(),
                "--resume".into(),
                ck_s.clone(),
                "--epochs".into(),
                "2".into(),
            ],
            vec!["ck.json", "already ran 2 epochs"],
        ),
    ];
    let predict_cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        (
            "model: truncated",
            vec![
                "--model".into(),
                f.put("cut.json", &model_text[..model_text.len() / 2]),
            ],
            vec!["cut.json", "not a gpu-regfit model"],
        ),
        (
            "model: foreign JSON",
            vec!["--model".into(), f.put("foreign.json", r#"{"hello": 1}"#)],
            vec!["foreign.json", "not a gpu-regfit model"],
        ),
        (
            "model: not JSON",
            vec!["--model".into(), f.put("bin.json", b"\x00\x01\x02")],
            vec!["bin.json", "not a gpu-regfit model"],
        ),
        (
            "model: coef of the wrong width",
            vec![
                "--model".into(),
                f.put("width.json", wrong_width.to_string()),
            ],
            vec!["width.json", "coef"],
        ),
        (
            "model: unknown kind",
            vec!["--model".into(), f.put("tree.json", tree.to_string())],
            vec!["tree.json", "tree"],
        ),
        (
            "model: a checkpoint",
            vec!["--model".into(), ck_s.clone()],
            vec!["ck.json", "not a gpu-regfit model"],
        ),
        (
            "model: missing",
            vec![
                "--model".into(),
                f.path("nomodel.json").to_str().unwrap().into(),
            ],
            vec!["nomodel.json"],
        ),
    ];
    let mut n = 0;
    for (what, extra, needles) in &cases {
        let mut args: Vec<&str> = vec!["fit", "--device", "cpu"];
        args.extend(extra.iter().map(String::as_str));
        let line = expect_bad(&args, needles);
        println!("| {what} | {line} |");
        n += 1;
    }
    let predictions = f.path("pred.csv");
    for (what, extra, needles) in &predict_cases {
        let mut args: Vec<&str> = vec!["predict", "--data", &three_cols];
        args.extend(extra.iter().map(String::as_str));
        args.extend(["--out", predictions.to_str().unwrap()]);
        let line = expect_bad(&args, needles);
        println!("| {what} | {line} |");
        n += 1;
    }
    // Feature-count mismatch at predict: CSV (by name) and NPY (by width).
    let only_a = f.put("only_a.csv", "a,y\n1,2\n");
    let w3 = f.npy_x("w3", npy("<f4", false, "(2, 3)", &f32s(&[1.0; 6])));
    for (what, data, needles) in [
        (
            "predict: CSV lacking a feature",
            only_a.as_str(),
            vec!["only_a.csv", "fitted on 2"],
        ),
        (
            "predict: NPY of another width",
            w3.as_str(),
            vec!["w3.npy", "3 feature columns", "fitted on 2"],
        ),
    ] {
        let line = expect_bad(
            &[
                "predict",
                "--model",
                &model_s,
                "--data",
                data,
                "--out",
                predictions.to_str().unwrap(),
            ],
            &needles,
        );
        println!("| {what} | {line} |");
        n += 1;
    }
    let line = expect_bad(
        &["plot", &ok, "--out", f.path("p.png").to_str().unwrap()],
        &["ok.csv", "line 2"],
    );
    println!("| history: not a history | {line} |");
    n += 1;
    assert!(!predictions.exists(), "no prediction file after bad input");
    assert!(n >= 30, "the table has {n} cases");
    eprintln!("{n} bad inputs, each exit 2 with one line");
}

/// One mutation of `bytes`: flip, insert, delete, truncate, duplicate or splice in a token.
fn mutate(rng: &mut ChaCha8Rng, bytes: &[u8]) -> Vec<u8> {
    const TOKENS: [&[u8]; 10] = [
        b"NaN",
        b"1e400",
        b"-",
        b":",
        b",",
        b"\n",
        b"\"",
        b"}",
        b"0:",
        b"99999999999999999999",
    ];
    let mut out = bytes.to_vec();
    for _ in 0..rng.random_range(1..4) {
        let at = if out.is_empty() {
            0
        } else {
            rng.random_range(0..out.len())
        };
        match rng.random_range(0..6) {
            0 if !out.is_empty() => out[at] ^= 1 << rng.random_range(0..8),
            1 => out.insert(at, rng.random()),
            2 if !out.is_empty() => {
                out.remove(at);
            }
            3 => out.truncate(at),
            4 if !out.is_empty() => {
                let end = (at + rng.random_range(1..16)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            _ => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
        }
    }
    out
}

/// Calls `parse` on `count` mutations of `seed_file`; any panic fails the test with the input.
fn never_panics(name: &str, seed_file: &[u8], count: usize, parse: impl Fn(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut rng = ChaCha8Rng::seed_from_u64(name.len() as u64);
    for i in 0..count {
        let input = mutate(&mut rng, seed_file);
        std::fs::write(&path, &input).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(&path)));
        assert!(
            result.is_ok(),
            "{name}: mutation {i} panicked on {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

#[test]
fn parsers_never_panic_on_mutated_files() {
    let load = |format| {
        move |p: &Path| {
            let options = LoadOptions {
                format: Some(format),
                ..LoadOptions::default()
            };
            let _ = Dataset::load(p, &options);
        }
    };
    never_panics(
        "d.csv",
        b"a,b,label\n1.5,2,x\n-3,4e-3,y\n5,6,x\n",
        1500,
        |p| {
            let _ = data::read_csv(p, None, true);
            let _ = data::read_csv(p, None, false);
        },
    );
    never_panics(
        "d.svm",
        b"1 1:0.5 3:2 # c\n-1 2:1e-3 qid:4\n\n0 1:1 2:2 3:3\n",
        1500,
        load(Format::Libsvm),
    );
    let x = f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    never_panics("x.npy", &npy("<f4", false, "(3, 2)", &x), 1500, |p| {
        let _ = data::read_npy_x(p);
    });
    never_panics("f.npy", &npy("<f8", true, "(3, 1)", &x), 500, |p| {
        let _ = data::read_npy_x(p);
    });
    // Sparse .npz: stored (the .npy headers are in plain sight of the mutations) and deflated.
    let csr = data::Csr::from_dense(
        ndarray::array![[0.0f32, 1.5, 0.0], [2.0, 0.0, -1.0], [0.0, 0.0, 4.0]].view(),
    );
    let stored = tempfile::tempdir().unwrap();
    let stored = stored.path().join("s.npz");
    data::write_npz(&csr, &stored).unwrap();
    never_panics("s.npz", &std::fs::read(&stored).unwrap(), 2000, |p| {
        let _ = data::read_npz_x(p);
    });
    let deflated = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sparse_clf.npz");
    never_panics("z.npz", &std::fs::read(deflated).unwrap(), 300, |p| {
        let _ = data::read_npz_x(p);
    });
    never_panics(
        "h.csv",
        b"solver,epoch,step,loss,val_loss\ngpu,1,10,0.5,\ncpu,1,10,0.5,0.6\n",
        1000,
        |p| {
            let _ = plot::read_history(p);
        },
    );
    // A real model and checkpoint, from a short fit.
    let dir = tempfile::tempdir().unwrap();
    let (ck, model) = (dir.path().join("ck.json"), dir.path().join("m.json"));
    let out = run(&[
        "fit",
        "--device",
        "cpu",
        "--epochs",
        "1",
        "--model",
        "softmax",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    never_panics("m.json", &std::fs::read(&model).unwrap(), 1500, |p| {
        let _ = Predictor::load(p);
    });
    never_panics("ck.json", &std::fs::read(&ck).unwrap(), 500, |p| {
        let _ = Checkpoint::load(p);
    });
}
