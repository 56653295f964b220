//! Sparse data (CSR), end to end in the library: the CPU twins on sparse rows against the same
//! data dense (every path: loss and gradient, minibatch gradient, gram products, the gap's
//! statistics and certificate, the exact solvers), and the GPU sparse engine against the CPU
//! reference for sgd (sign, prox, momentum, weighted, minibatch and full batch) and apg (linear,
//! logistic, softmax), both ways of taking Xᵀr, and the path/cv block engine.
//!
//! Tolerance (as tests/gpu_vs_cpu.rs): |gpu − cpu| ≤ max(1e-3·max(|gpu|, |cpu|), 1e-4) per
//! weight after the same steps; apg runs to a relative gap of 1e-6 on both and the objectives
//! agree within 1e-5 relative.

mod common;

use common::{assert_close, gpu};
use gpu_regfit::block::Parts;
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty, SolverKind};
use gpu_regfit::cpu::{exact, kernels, CpuSolver};
use gpu_regfit::data::{generate, Csr, Dataset, Matrix};
use gpu_regfit::fit::{fit, Solver};
use gpu_regfit::gap::DataStats;
use gpu_regfit::gpu::{GpuOptions, GpuSolver, SparseXt};
use gpu_regfit::objective;
use gpu_regfit::schedule::Batch;
use gpu_regfit::weights::Weights;

/// A sparse set from `gen sparse` and the same rows dense.
fn pair(
    model: generate::SparseModel,
    rows: usize,
    features: usize,
    seed: u64,
) -> (Dataset, Dataset) {
    let (sparse, _) = generate::sparse(&generate::SparseSpec {
        rows,
        features,
        density: 0.02,
        informative: 5,
        model,
        noise: 0.5,
        seed,
    })
    .unwrap();
    let dense_x = sparse
        .x
        .csr()
        .unwrap()
        .to_dense(std::path::Path::new("t"))
        .unwrap();
    let mut dense = Dataset::new(dense_x, sparse.y.clone(), "dense").unwrap();
    dense.classes = sparse.classes.clone();
    (sparse, dense)
}

/// A softmax set (3 classes from the argmax of three random linear scores).
fn softmax_pair(rows: usize, features: usize) -> (Dataset, Dataset) {
    let (s, _) = pair(generate::SparseModel::Linear, rows, features, 9);
    let csr = s.x.csr().unwrap();
    let y: Vec<f32> = (0..rows)
        .map(|i| {
            let (idx, val) = csr.row_parts(i);
            let mut score = [0.0f64; 3];
            for (&j, &v) in idx.iter().zip(val) {
                score[j as usize % 3] += v as f64;
            }
            (0..3)
                .max_by(|&a, &b| score[a].total_cmp(&score[b]))
                .unwrap() as f32
        })
        .collect();
    let mut sparse = Dataset::from_matrix(s.x.clone(), y.into(), "softmax").unwrap();
    sparse.classes = Some((0..3).map(gpu_regfit::data::Label::Int).collect());
    let dense_x = csr.to_dense(std::path::Path::new("t")).unwrap();
    let mut dense = Dataset::new(dense_x, sparse.y.clone(), "dense").unwrap();
    dense.classes = sparse.classes.clone();
    (sparse, dense)
}

fn weights(k: usize, d: usize, seed: u64) -> Weights {
    let values = (0..k * (d + 1))
        .map(|i| (((i as u64 * 2654435761 + seed) % 1000) as f64 / 500.0 - 1.0) * 0.3)
        .collect();
    Weights::from_values(k, d, values)
}

#[test]
fn cpu_twins_agree_dense_and_sparse() {
    for model in [Model::Linear, Model::Logistic] {
        let kind = if model == Model::Linear {
            generate::SparseModel::Linear
        } else {
            generate::SparseModel::Logistic
        };
        let (mut s, mut d) = pair(kind, 5000, 300, 1);
        // Weighted rows too.
        let w: Vec<f32> = (0..5000).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
        s.set_weights(w.clone(), "w").unwrap();
        d.set_weights(w, "w").unwrap();
        let point = weights(1, 300, 3);
        let (ls, gs) = objective::loss_and_data_gradient(model, &s, &point);
        let (ld, gd) = objective::loss_and_data_gradient(model, &d, &point);
        assert!(
            (ls - ld).abs() <= 1e-12 * ld.abs(),
            "{model:?} loss {ls} vs {ld}"
        );
        assert_close("gradient", &gs.values, &gd.values, 1e-10, 1e-13);
        let ms = objective::metrics(model, &s, &point);
        let md = objective::metrics(model, &d, &point);
        assert_eq!(ms.accuracy, md.accuracy);
        // Minibatch and full-batch partial sums (the sgd twin), in a shuffled order.
        let order: Vec<u32> = (0..5000u32).rev().collect();
        for batch in [
            Batch {
                start: 7,
                rows: 100,
            },
            Batch {
                start: 0,
                rows: 5000,
            },
        ] {
            let (mut a, mut b) = (vec![0.0; 301], vec![0.0; 301]);
            kernels::grad_partials(model, &s, &order, batch, &point, &mut a);
            kernels::grad_partials(model, &d, &order, batch, &point, &mut b);
            assert_close("partials", &a, &b, 1e-10, 1e-12);
        }
        let v: Vec<f64> = (0..301).map(|i| (i as f64 * 0.37).sin()).collect();
        assert_close(
            "gram",
            &kernels::gram_times(&s, &v),
            &kernels::gram_times(&d, &v),
            1e-10,
            1e-12,
        );
        let (ss, sd) = (DataStats::of(model, &s), DataStats::of(model, &d));
        assert_close("x mean", &ss.x_mean, &sd.x_mean, 1e-12, 1e-14);
        assert_close("tx mean", &ss.tx_mean, &sd.tx_mean, 1e-12, 1e-14);
    }
    let (s, d) = softmax_pair(2000, 120);
    let point = weights(3, 120, 5);
    let (ls, gs) = objective::loss_and_data_gradient(Model::Softmax, &s, &point);
    let (ld, gd) = objective::loss_and_data_gradient(Model::Softmax, &d, &point);
    assert!((ls - ld).abs() <= 1e-12 * ld.abs());
    assert_close("softmax gradient", &gs.values, &gd.values, 1e-10, 1e-13);
}

#[test]
fn exact_solvers_agree_dense_and_sparse() {
    let (s, d) = pair(generate::SparseModel::Linear, 600, 80, 2);
    for penalty in [
        Penalty {
            l1: 0.02,
            ..Penalty::default()
        },
        Penalty {
            l1: 0.01,
            l2: 0.05,
            ..Penalty::default()
        },
        Penalty {
            l2: 0.1,
            ..Penalty::default()
        },
    ] {
        let a = exact::solve_model(Model::Linear, &s, &penalty, true).unwrap();
        let b = exact::solve_model(Model::Linear, &d, &penalty, true).unwrap();
        assert!(a.method.contains("sparse"), "{}", a.method);
        assert_close("exact", &a.weights.values, &b.weights.values, 1e-7, 1e-9);
        // The same zeros.
        for (x, y) in a.weights.values.iter().zip(&b.weights.values) {
            assert_eq!(*x == 0.0, *y == 0.0, "{x} vs {y}");
        }
    }
    let (s, d) = pair(generate::SparseModel::Logistic, 600, 80, 2);
    let penalty = Penalty {
        l1: 0.01,
        ..Penalty::default()
    };
    let a = exact::solve_model(Model::Logistic, &s, &penalty, true).unwrap();
    let b = exact::solve_model(Model::Logistic, &d, &penalty, true).unwrap();
    assert_close(
        "logistic exact",
        &a.weights.values,
        &b.weights.values,
        1e-6,
        1e-8,
    );
}

fn sgd_config(model: Model, penalty: Penalty, update: L1Update, optimizer: Optimizer) -> FitConfig {
    FitConfig {
        model,
        penalty,
        l1_update: update,
        optimizer,
        lr: 0.05,
        epochs: 4,
        batch_size: BatchSize::Rows(64),
        ..FitConfig::default()
    }
}

fn gpu_solver(xt: SparseXt) -> Option<GpuSolver> {
    gpu().map(|ctx| {
        GpuSolver::with_context(ctx).with_options(GpuOptions {
            sparse_xt: Some(xt),
            ..GpuOptions::default()
        })
    })
}

#[test]
fn gpu_sgd_matches_cpu_on_sparse_data() {
    let l1 = Penalty {
        l1: 0.01,
        l2: 0.001,
        ..Penalty::default()
    };
    let (lin, _) = pair(generate::SparseModel::Linear, 1500, 700, 4);
    let (logit, _) = pair(generate::SparseModel::Logistic, 1500, 700, 5);
    let (soft, _) = softmax_pair(1000, 300);
    let mut weighted = lin.clone();
    weighted
        .set_weights((0..1500).map(|i| (i % 3) as f32).collect(), "w")
        .unwrap();
    let cases = [
        (
            &lin,
            sgd_config(Model::Linear, l1, L1Update::Sign, Optimizer::Sgd),
        ),
        // Momentum at this rate amplifies f32 rounding after a few epochs (the dense GPU engine
        // drifts from the reference as much on the same rows), so two epochs.
        (
            &lin,
            FitConfig {
                epochs: 2,
                ..sgd_config(Model::Linear, l1, L1Update::Prox, Optimizer::Momentum)
            },
        ),
        (
            &weighted,
            sgd_config(Model::Linear, l1, L1Update::Prox, Optimizer::Sgd),
        ),
        (
            &logit,
            sgd_config(Model::Logistic, l1, L1Update::Prox, Optimizer::Sgd),
        ),
        (
            &logit,
            FitConfig {
                batch_size: BatchSize::Full,
                lr: 0.5,
                epochs: 20,
                ..sgd_config(Model::Logistic, l1, L1Update::Sign, Optimizer::Momentum)
            },
        ),
        (
            &soft,
            sgd_config(Model::Softmax, l1, L1Update::Prox, Optimizer::Sgd),
        ),
    ];
    for xt in [SparseXt::Atomic, SparseXt::Csc] {
        let Some(mut solver) = gpu_solver(xt) else {
            return;
        };
        for (data, cfg) in &cases {
            let g = fit(&mut solver, data, None, cfg).unwrap();
            let c = fit(&mut CpuSolver::new(), data, None, cfg).unwrap();
            assert_close(
                &format!(
                    "{:?} {:?} {:?} {xt:?}",
                    cfg.model, cfg.l1_update, cfg.batch_size
                ),
                &g.weights.values,
                &c.weights.values,
                1e-3,
                1e-4,
            );
        }
    }
}

#[test]
fn gpu_apg_matches_cpu_on_sparse_data() {
    let (lin, _) = pair(generate::SparseModel::Linear, 1200, 900, 6);
    let (logit, _) = pair(generate::SparseModel::Logistic, 1200, 900, 7);
    let (soft, _) = softmax_pair(800, 200);
    let cfg = |model, penalty| FitConfig {
        model,
        penalty,
        solver: SolverKind::Apg,
        tol: Some(1e-6),
        max_iter: 20_000,
        ..FitConfig::default()
    };
    let l1 = Penalty {
        l1: 0.01,
        ..Penalty::default()
    };
    let l2 = Penalty {
        l2: 0.01,
        ..Penalty::default()
    };
    let cases = [
        (&lin, cfg(Model::Linear, l1)),
        (&logit, cfg(Model::Logistic, l1)),
        (&soft, cfg(Model::Softmax, l2)),
    ];
    for xt in [SparseXt::Atomic, SparseXt::Csc] {
        let Some(mut solver) = gpu_solver(xt) else {
            return;
        };
        for (data, cfg) in &cases {
            let g = fit(&mut solver, data, None, cfg).unwrap();
            let c = fit(&mut CpuSolver::new(), data, None, cfg).unwrap();
            let (jg, jc) = (g.result.objective.total, c.result.objective.total);
            assert!(
                (jg - jc).abs() <= 1e-5 * jc.abs(),
                "{:?} {xt:?}: J gpu {jg} cpu {jc}",
                cfg.model
            );
            let cert = g.result.certificate.expect("apg reports a certificate");
            assert!(cert.relative <= 1e-6, "{:?}: gap {cert:?}", cfg.model);
        }
    }
}

#[test]
fn gpu_block_engine_matches_cpu_on_sparse_data() {
    let Some(ctx) = gpu() else {
        return;
    };
    let (data, _) = pair(generate::SparseModel::Logistic, 900, 400, 8);
    let folds: Vec<u32> = (0..900).map(|i| (i % 3) as u32).collect();
    let parts = Parts::new(&data, folds).unwrap();
    let mut gpu_solver = GpuSolver::with_context(ctx);
    let mut cpu_solver = CpuSolver::new();
    let mut g = gpu_solver.block_engine(Model::Logistic, &parts).unwrap();
    let mut c = cpu_solver.block_engine(Model::Logistic, &parts).unwrap();
    let w = weights(1, 400, 11);
    let points: Vec<(usize, &Weights)> = (0..4).map(|p| (p, &w)).collect();
    let a = g.gradients(&points, true).unwrap();
    let b = c.gradients(&points, true).unwrap();
    for ((la, ga), (lb, gb)) in a.iter().zip(&b) {
        assert!((la - lb).abs() <= 1e-5 * lb.abs(), "{la} vs {lb}");
        assert_close("block gradient", &ga.values, &gb.values, 1e-3, 1e-5);
    }
    let top_g = g.gram_top(1, true).unwrap();
    let top_c = c.gram_top(1, true).unwrap();
    assert!((top_g - top_c).abs() <= 1e-3 * top_c, "{top_g} vs {top_c}");
}

#[test]
fn csr_from_scipy_layout_and_back() {
    // The same matrix from CSR and CSC arrays, and its npz round trip.
    let (s, _) = pair(generate::SparseModel::Linear, 50, 30, 3);
    let csr = s.x.csr().unwrap();
    let csc = csr.to_csc();
    let back = Csr::from_csc(
        50,
        30,
        csc.colptr.clone(),
        csc.row_indices.clone(),
        csc.values.clone(),
        std::path::Path::new("t"),
    )
    .unwrap();
    assert_eq!(&back, csr);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.npz");
    gpu_regfit::data::write_npz(csr, &p).unwrap();
    assert_eq!(&gpu_regfit::data::read_npz_x(&p).unwrap(), csr);
    let m = Matrix::sparse(back);
    assert!(m.is_sparse());
}

/// Row shards (a small --max-binding-bytes) and streaming (a --gpu-memory-budget below the
/// data, batches then drawn within chunks) give the reference's answer on the same order.
#[test]
fn sharded_and_streamed_sparse_fits_match_cpu() {
    let Some(ctx) = gpu() else {
        return;
    };
    let (data, _) = pair(generate::SparseModel::Logistic, 3000, 2000, 12);
    let bytes = data.x.csr().unwrap().bytes();
    let sgd = sgd_config(
        Model::Logistic,
        Penalty {
            l1: 0.002,
            ..Penalty::default()
        },
        L1Update::Prox,
        Optimizer::Sgd,
    );
    let apg = FitConfig {
        solver: SolverKind::Apg,
        tol: Some(1e-6),
        max_iter: 20_000,
        ..sgd.clone()
    };
    // Shards: a binding of a fifth of the data.
    let mut sharded = GpuSolver::with_context(ctx.clone()).with_options(GpuOptions {
        max_binding_bytes: Some(bytes / 5),
        ..GpuOptions::default()
    });
    for cfg in [&sgd, &apg] {
        let g = sharded.fit_raw(&data, None, cfg).unwrap();
        let c = CpuSolver::new().fit_raw(&data, None, cfg).unwrap();
        assert_close("sharded", &g.weights.values, &c.weights.values, 1e-3, 1e-4);
    }
    // Streaming: a budget of a quarter of the data.
    let mut streamed = GpuSolver::with_context(ctx).with_options(GpuOptions {
        memory_budget: Some(bytes / 4),
        ..GpuOptions::default()
    });
    for cfg in [&sgd, &apg] {
        let g = streamed.fit_raw(&data, None, cfg).unwrap();
        let chunk = g.chunk_rows.expect("a budget below the data streams it");
        assert!(chunk < 3000, "chunks of {chunk} rows");
        let cfg = FitConfig {
            chunk_rows: Some(chunk),
            ..cfg.clone()
        };
        let c = CpuSolver::new().fit_raw(&data, None, &cfg).unwrap();
        assert_close(
            &format!("streamed {:?} in chunks of {chunk}", cfg.solver),
            &g.weights.values,
            &c.weights.values,
            1e-3,
            1e-4,
        );
    }
}
