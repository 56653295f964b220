//! Sparse data from the command line, as a new user runs it: `gen sparse` to LIBSVM and .npz,
//! fit (sgd and apg, GPU and CPU) on both, predict, convert, compare, path and cv; and bad sparse
//! input (LIBSVM index order, malformed .npz files) is exit 2 with one line naming the file.

mod common;

use common::{gpu_args, run, stderr};
use std::io::Write;
use std::path::Path;

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "failed: {}", stderr(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One line on stderr, exit 2, naming every `needle`.
fn bad(out: &std::process::Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "status; stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

fn model_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn coef(v: &serde_json::Value) -> Vec<f64> {
    v["coef"][0]
        .as_array()
        .or_else(|| v["coef"].as_array())
        .unwrap()
        .iter()
        .flat_map(|c| match c.as_array() {
            Some(row) => row.iter().map(|x| x.as_f64().unwrap()).collect(),
            None => vec![c.as_f64().unwrap()],
        })
        .collect()
}

#[test]
fn generate_fit_predict_convert() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let svm = p("clicks.libsvm");
    let out = run(&[
        "gen",
        "sparse",
        "--rows",
        "3000",
        "--features",
        "20000",
        "--density",
        "0.001",
        "--informative",
        "10",
        "--model",
        "logistic",
        "--seed",
        "3",
        "--out",
        &svm,
    ]);
    assert!(ok(&out).contains("3000 × 20000"));
    let truth = model_json(Path::new(&format!("{svm}.truth.json")));
    assert_eq!(truth["coef"].as_array().unwrap().len(), 10);
    // LIBSVM at density 1e-3 stays sparse; sgd on the GPU and the CPU agree step for step.
    let mut fits = Vec::new();
    for dev in [gpu_args(), vec!["--device", "cpu"]] {
        let m = p(&format!("m_{}.json", dev[1]));
        let mut args = vec![
            "fit",
            "--data",
            &svm,
            "--model",
            "logistic",
            "--solver",
            "sgd",
            "--epochs",
            "3",
            "--batch-size",
            "100",
            "--l1",
            "1e-4",
            "--out",
            &m,
        ];
        args.extend(&dev);
        let text = ok(&run(&args));
        assert!(
            text.contains("sparse"),
            "the summary says the data is sparse: {text}"
        );
        fits.push(coef(&model_json(Path::new(&m))));
    }
    common::assert_close("gpu vs cpu", &fits[0], &fits[1], 1e-3, 1e-4);
    // apg with a certificate.
    let mut args = vec![
        "fit", "--data", &svm, "--model", "logistic", "--l1", "1e-3", "--tol", "1e-5",
    ];
    args.extend(gpu_args());
    assert!(ok(&run(&args)).contains("converged"));
    // Predict on the LIBSVM file (scored against its labels).
    let pred = p("pred.csv");
    let text = ok(&run(&[
        "predict",
        "--model",
        &p("m_cpu.json"),
        "--data",
        &svm,
        "--out",
        &pred,
    ]));
    assert!(text.contains("accuracy"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&pred).unwrap().lines().count(),
        3001
    );
    // convert to .npz: the same fit from the reloaded file.
    let npz = p("clicks.npz");
    ok(&run(&["convert", &svm, &npz]));
    assert!(Path::new(&p("clicks.target.npy")).exists());
    let m2 = p("m_npz.json");
    ok(&run(&[
        "fit",
        "--data",
        &npz,
        "--model",
        "logistic",
        "--solver",
        "sgd",
        "--epochs",
        "3",
        "--batch-size",
        "100",
        "--l1",
        "1e-4",
        "--device",
        "cpu",
        "--out",
        &m2,
    ]));
    assert_eq!(coef(&model_json(Path::new(&m2))), fits[1]);
    // .npz written by gen, then path and cv on it.
    let gen_npz = p("lin.npz");
    ok(&run(&[
        "gen",
        "sparse",
        "--rows",
        "400",
        "--features",
        "3000",
        "--density",
        "0.01",
        "--informative",
        "5",
        "--seed",
        "1",
        "--out",
        &gen_npz,
    ]));
    let path_json = p("path.json");
    let mut args = vec![
        "path",
        "--data",
        &gen_npz,
        "--n-lambdas",
        "8",
        "--out",
        &path_json,
    ];
    args.extend(gpu_args());
    assert!(ok(&run(&args)).contains("path: 8 of 8"));
    let mut args = vec!["cv", "--data", &gen_npz, "--folds", "3", "--n-lambdas", "6"];
    args.extend(gpu_args());
    assert!(ok(&run(&args)).contains("lambda_min"));
    // compare: GPU, CPU and the exact optimum (coordinate descent over CSC).
    let text = ok(&run(&["compare", "--data", &gen_npz, "--l1", "0.05"]));
    assert!(text.contains("coordinate descent (sparse"), "{text}");
}

/// A zip of .npy entries, as scipy.sparse.save_npz writes them.
fn npz(path: &Path, entries: &[(&str, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    for (name, bytes) in entries {
        zip.start_file(
            format!("{name}.npy"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let total = (10 + dict.len() + 1).next_multiple_of(64);
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend(((total - 10) as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out.extend(data);
    out
}

fn i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The arrays of a 2 × 3 CSR matrix, with `edit` applied to (indptr, indices, data, shape).
fn csr_entries(
    format: &str,
    indptr: &[i32],
    indices: &[i32],
    data: &[f32],
    shape: [i64; 2],
) -> Vec<(&'static str, Vec<u8>)> {
    let s: Vec<u8> = shape.iter().flat_map(|x| x.to_le_bytes()).collect();
    vec![
        (
            "indices",
            npy("<i4", &format!("({},)", indices.len()), &i32s(indices)),
        ),
        (
            "indptr",
            npy("<i4", &format!("({},)", indptr.len()), &i32s(indptr)),
        ),
        ("format", npy("|S3", "()", format.as_bytes())),
        ("shape", npy("<i8", "(2,)", &s)),
        (
            "data",
            npy("<f4", &format!("({},)", data.len()), &f32s(data)),
        ),
    ]
}

#[test]
fn bad_sparse_input_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let y = d.join("y.npy");
    std::fs::write(&y, npy("<f4", "(2,)", &f32s(&[1.0, 0.0]))).unwrap();
    let fit_npz = |name: &str, entries: Vec<(&str, Vec<u8>)>| {
        let path = d.join(name);
        npz(&path, &entries);
        run(&[
            "fit",
            "--data",
            path.to_str().unwrap(),
            "--target-file",
            y.to_str().unwrap(),
            "--device",
            "cpu",
            "--epochs",
            "1",
        ])
    };
    // A good one first: the same arrays, accepted.
    let good = csr_entries("csr", &[0, 2, 3], &[0, 2, 1], &[1.0, 2.0, 3.0], [2, 3]);
    ok(&fit_npz("good.npz", good));
    type Case<'a> = (&'a str, Vec<(&'a str, Vec<u8>)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "offsets.npz",
            csr_entries("csr", &[0, 3, 2], &[0, 2, 1], &[1.0, 2.0, 3.0], [2, 3]),
            vec!["offsets.npz", "run from 0 to 2"],
        ),
        (
            "short.npz",
            csr_entries("csr", &[0, 2], &[0, 2], &[1.0, 2.0], [2, 3]),
            vec!["short.npz", "indptr", "expected (3,)"],
        ),
        (
            "column.npz",
            csr_entries("csr", &[0, 2, 3], &[0, 7, 1], &[1.0, 2.0, 3.0], [2, 3]),
            vec!["column.npz", "indices[1] = 7"],
        ),
        (
            "order.npz",
            csr_entries("csr", &[0, 2, 3], &[2, 0, 1], &[1.0, 2.0, 3.0], [2, 3]),
            vec!["order.npz", "row 0", "must increase"],
        ),
        (
            "repeat.npz",
            csr_entries("csr", &[0, 2, 3], &[1, 1, 1], &[1.0, 2.0, 3.0], [2, 3]),
            vec!["repeat.npz", "repeated"],
        ),
        (
            "values.npz",
            csr_entries("csr", &[0, 2, 3], &[0, 2, 1], &[1.0, 2.0], [2, 3]),
            vec!["values.npz", "3 column indices but 2 values"],
        ),
        (
            "coo.npz",
            csr_entries("coo", &[0, 2, 3], &[0, 2, 1], &[1.0, 2.0, 3.0], [2, 3]),
            vec!["coo.npz", "`coo`", "tocsr"],
        ),
        (
            "nan.npz",
            csr_entries("csr", &[0, 2, 3], &[0, 2, 1], &[1.0, f32::NAN, 3.0], [2, 3]),
            vec!["nan.npz", "non-finite"],
        ),
        (
            // A header that declares 10^12 values: refused from the entry's size, before any
            // allocation.
            "huge.npz",
            {
                let mut e = csr_entries("csr", &[0, 2, 3], &[0, 2, 1], &[1.0, 2.0, 3.0], [2, 3]);
                e[4] = (
                    "data",
                    npy("<f4", "(1000000000000,)", &f32s(&[1.0, 2.0, 3.0])),
                );
                e
            },
            vec!["huge.npz", "data.npy", "(1000000000000,)"],
        ),
        (
            "missing.npz",
            csr_entries("csr", &[0, 2, 3], &[0, 2, 1], &[1.0, 2.0, 3.0], [2, 3])[..3].to_vec(),
            vec!["missing.npz", "no `shape.npy`"],
        ),
        (
            "rows.npz",
            csr_entries("csr", &[0, 1, 2, 3], &[0, 2, 1], &[1.0, 2.0, 3.0], [3, 3]),
            vec!["X has 3 rows but y has 2"],
        ),
    ];
    for (name, entries, needles) in cases {
        bad(&fit_npz(name, entries), &needles);
    }
    // Not a zip at all, and a truncated one.
    let junk = d.join("junk.npz");
    std::fs::write(&junk, b"this is not a zip archive").unwrap();
    bad(
        &run(&["fit", "--data", junk.to_str().unwrap(), "--device", "cpu"]),
        &["junk.npz", "not a readable .npz"],
    );
    let good = d.join("good.npz");
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    bad(
        &run(&[
            "fit",
            "--data",
            cut.to_str().unwrap(),
            "--target-file",
            y.to_str().unwrap(),
            "--device",
            "cpu",
        ]),
        &["cut.npz"],
    );
    // scikit-learn's own invalid svmlight test files.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let invalid = data.join("svmlight_invalid.libsvm");
    bad(
        &run(&[
            "fit",
            "--data",
            invalid.to_str().unwrap(),
            "--device",
            "cpu",
        ]),
        &["svmlight_invalid.libsvm", "`python`"],
    );
    let order = data.join("svmlight_invalid_order.libsvm");
    bad(
        &run(&["fit", "--data", order.to_str().unwrap(), "--device", "cpu"]),
        &["svmlight_invalid_order.libsvm", "index 2 after 5"],
    );
    // A network needs dense data; --dense on a 2^30-wide file cannot densify.
    let svm = d.join("wide.libsvm");
    std::fs::write(&svm, "1 5:1 1073741824:2\n0 3:1\n").unwrap();
    let s = svm.to_str().unwrap();
    bad(
        &run(&["fit", "--data", s, "--model", "mlp", "--device", "cpu"]),
        &["wide.libsvm", "X is sparse", "--model mlp"],
    );
    bad(
        &run(&["fit", "--data", s, "--dense", "--device", "cpu"]),
        &["1073741824"],
    );
}

/// A 2-feature .npz (read sparse) still draws decision regions: its columns are made dense.
#[test]
fn plot_regions_reads_npz() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (csv, npz, model, png) = (p("s.csv"), p("s.npz"), p("m.json"), p("r.png"));
    ok(&run(&[
        "gen",
        "spiral",
        "--points",
        "60",
        "--classes",
        "3",
        "--seed",
        "1",
        "--out",
        &csv,
    ]));
    ok(&run(&[
        "fit", "--data", &csv, "--model", "softmax", "--device", "cpu", "--out", &model,
    ]));
    ok(&run(&["convert", &csv, &npz]));
    let text = ok(&run(&[
        "plot-regions",
        "--model",
        &model,
        "--data",
        &npz,
        "--out",
        &png,
    ]));
    assert!(text.contains("180 points"), "{text}");
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
}
