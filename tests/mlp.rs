//! The dense network (`--model mlp`): the CPU reference against finite differences of J over the
//! whole network (every penalty, L1 included, away from 0), the GPU against the CPU reference on
//! the same initialization and batches, bitwise reproducibility on one device, checkpoints, and
//! exact zeros from the proximal L1 step.
//!
//! Tolerance (documented in the README): after a few epochs every parameter agrees within
//! |gpu − cpu| ≤ max(1e-3·max(|gpu|, |cpu|), 1e-4), and so do the losses. The GPU computes in
//! f32, the reference in f64; longer runs may part further (SGD on a network is not a
//! contraction), so those compare losses and accuracies.

mod common;

use common::{assert_close, gpu};
use gpu_regfit::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, Penalty};
use gpu_regfit::cpu::{mlp, CpuSolver};
use gpu_regfit::data::{generate, Dataset};
use gpu_regfit::fit::{fit, initial_weights};
use gpu_regfit::gpu::GpuSolver;
use gpu_regfit::network::{Activation, Init, LayerPenalty, NetworkSpec};
use gpu_regfit::objective;

fn spiral(points: usize, seed: u64) -> Dataset {
    generate::spiral(&generate::SpiralSpec {
        points,
        classes: 3,
        noise: 0.2,
        seed,
    })
    .unwrap()
}

fn net(hidden: &[usize], activation: Activation, penalties: Vec<LayerPenalty>) -> NetworkSpec {
    NetworkSpec {
        hidden: hidden.to_vec(),
        activation,
        init: Init::He,
        layer_penalties: penalties,
    }
}

fn config(model: Model, spec: NetworkSpec) -> FitConfig {
    FitConfig {
        model,
        network: Some(spec),
        lr: 0.1,
        epochs: 3,
        batch_size: BatchSize::Rows(32),
        seed: 3,
        ..FitConfig::default()
    }
}

/// J at `w` in f64: the data loss over every row plus each layer's penalty.
fn objective_at(cfg: &FitConfig, data: &Dataset, w: &gpu_regfit::weights::Weights) -> f64 {
    objective::metrics(cfg.model, data, w).loss + cfg.reg_loss(w)
}

#[test]
fn gradient_of_the_whole_network_matches_finite_differences() {
    let data = spiral(20, 1);
    let penalties = vec![
        LayerPenalty {
            layer: 1,
            penalty: Penalty {
                l1: 0.01,
                l2: 0.02,
                bias_l1: 0.03,
                bias_l2: 0.04,
            },
        },
        LayerPenalty {
            layer: 3,
            penalty: Penalty {
                l1: 0.002,
                l2: 0.05,
                ..Penalty::default()
            },
        },
    ];
    for activation in [Activation::Relu, Activation::Tanh] {
        for model in [Model::Softmax, Model::Linear] {
            let mut cfg = config(model, net(&[7, 5], activation, penalties.clone()));
            cfg.penalty = Penalty {
                l1: 0.005,
                l2: 0.01,
                bias_l1: 0.0,
                bias_l2: 0.02,
            };
            let mut w = initial_weights(&cfg, &data);
            // Biases away from 0 (where |b| has no derivative) and every weight nonzero.
            for (k, v) in w.values.iter_mut().enumerate() {
                if *v == 0.0 {
                    *v = 0.1 + 0.01 * (k % 7) as f64;
                }
            }
            let analytic = mlp::gradient(&cfg, &data, &w);
            let h = 1e-6;
            let mut numeric = Vec::with_capacity(w.values.len());
            for k in 0..w.values.len() {
                let (mut up, mut down) = (w.clone(), w.clone());
                up.values[k] += h;
                down.values[k] -= h;
                numeric.push(
                    (objective_at(&cfg, &data, &up) - objective_at(&cfg, &data, &down)) / (2.0 * h),
                );
            }
            assert_close(
                &format!("∇J {activation:?} {model:?}"),
                &analytic,
                &numeric,
                1e-5,
                1e-7,
            );
        }
    }
}

/// Fits `cfg` on the GPU and the CPU reference and compares every parameter and the losses.
fn gpu_matches_cpu(what: &str, data: &Dataset, validation: Option<&Dataset>, cfg: &FitConfig) {
    let Some(ctx) = gpu() else { return };
    let g = fit(&mut GpuSolver::with_context(ctx), data, validation, cfg).unwrap();
    let c = fit(&mut CpuSolver::new(), data, validation, cfg).unwrap();
    assert_close(what, &g.weights.values, &c.weights.values, 1e-3, 1e-4);
    let (gh, ch) = (&g.result.history, &c.result.history);
    assert_eq!(gh.len(), ch.len(), "{what}: log points");
    for (a, b) in gh.iter().zip(ch) {
        assert_close(
            &format!("{what}: losses at step {}", a.step),
            &[a.data_loss, a.reg_loss, a.val_loss.unwrap_or(0.0)],
            &[b.data_loss, b.reg_loss, b.val_loss.unwrap_or(0.0)],
            1e-3,
            1e-5,
        );
    }
    assert!(g.weights.is_network() && g.result.certificate.is_none());
}

#[test]
fn gpu_matches_the_cpu_reference_step_for_step() {
    let data = spiral(70, 2);
    let validation = spiral(20, 9);
    let first_l2 = vec![LayerPenalty {
        layer: 1,
        penalty: Penalty {
            l2: 5e-3,
            bias_l2: 5e-3,
            ..Penalty::default()
        },
    }];
    // ReLU, softmax, momentum, the walkthrough's first-layer penalties, a validation set.
    let mut cfg = config(Model::Softmax, net(&[33], Activation::Relu, first_l2));
    cfg.optimizer = Optimizer::Momentum;
    cfg.momentum = 0.5;
    gpu_matches_cpu("relu momentum", &data, Some(&validation), &cfg);
    // Two hidden layers of tanh, L1 by sign on every layer, decay, batches crossing tiles.
    let mut cfg = config(Model::Softmax, net(&[70, 9], Activation::Tanh, vec![]));
    cfg.penalty.l1 = 1e-3;
    cfg.decay = 0.01;
    cfg.batch_size = BatchSize::Rows(65);
    gpu_matches_cpu("tanh two layers", &data, None, &cfg);
    // Proximal L1 with momentum on the first layer only, full batch.
    let mut cfg = config(
        Model::Softmax,
        net(
            &[16],
            Activation::Relu,
            vec![LayerPenalty {
                layer: 1,
                penalty: Penalty {
                    l1: 2e-3,
                    ..Penalty::default()
                },
            }],
        ),
    );
    cfg.l1_update = L1Update::Prox;
    cfg.optimizer = Optimizer::Momentum;
    cfg.batch_size = BatchSize::Full;
    cfg.epochs = 20;
    gpu_matches_cpu("prox full batch", &data, None, &cfg);
    // Squared loss on a regression target with sample weights and no biases.
    let mut reg = common::linear(150, 6, 3, 0.3, 4);
    let w: Vec<f32> = (0..150).map(|i| 0.5 + (i % 3) as f32).collect();
    reg.set_weights(w, "test").unwrap();
    let mut cfg = config(Model::Linear, net(&[20], Activation::Relu, vec![]));
    cfg.lr = 0.02;
    cfg.fit_intercept = false;
    cfg.penalty.l2 = 1e-3;
    gpu_matches_cpu("squared weighted", &reg, None, &cfg);
}

#[test]
fn the_gpu_network_is_bitwise_reproducible_and_seeded() {
    let Some(ctx) = gpu() else { return };
    let data = spiral(60, 5);
    let mut cfg = config(Model::Softmax, net(&[24], Activation::Relu, vec![]));
    cfg.optimizer = Optimizer::Momentum;
    cfg.epochs = 4;
    let a = fit(&mut GpuSolver::with_context(ctx.clone()), &data, None, &cfg).unwrap();
    let b = fit(&mut GpuSolver::with_context(ctx.clone()), &data, None, &cfg).unwrap();
    assert_eq!(a.weights.values, b.weights.values, "two runs on one device");
    // A different seed starts elsewhere.
    let other = FitConfig {
        seed: 4,
        ..cfg.clone()
    };
    let c = fit(&mut GpuSolver::with_context(ctx), &data, None, &other).unwrap();
    assert_ne!(a.weights.values, c.weights.values);
}

#[test]
fn prox_gives_exact_zeros_in_the_penalized_layer_only() {
    let data = spiral(100, 6);
    let mut cfg = config(
        Model::Softmax,
        net(
            &[32],
            Activation::Relu,
            vec![LayerPenalty {
                layer: 1,
                penalty: Penalty {
                    l1: 0.05,
                    ..Penalty::default()
                },
            }],
        ),
    );
    cfg.l1_update = L1Update::Prox;
    cfg.epochs = 30;
    let fitted = fit(&mut CpuSolver::new(), &data, None, &cfg).unwrap();
    let nnz = gpu_regfit::network::nnz_per_layer(&fitted.weights);
    assert!(nnz[0].0 < nnz[0].1, "layer 1 has exact zeros: {nnz:?}");
    assert!(nnz[0].0 > 0, "layer 1 keeps some weights: {nnz:?}");
    assert_eq!(nnz[1].0, nnz[1].1, "layer 2 is not penalized: {nnz:?}");
}

#[test]
fn bad_network_settings_are_typed_errors() {
    let data = spiral(10, 0);
    let mut cfg = config(Model::Softmax, net(&[4], Activation::Relu, vec![]));
    cfg.solver = gpu_regfit::config::SolverKind::Apg;
    let e = fit(&mut CpuSolver::new(), &data, None, &cfg).unwrap_err();
    assert!(e.to_string().contains("apg"), "{e}");
    let cfg = config(Model::Logistic, net(&[4], Activation::Relu, vec![]));
    assert!(fit(&mut CpuSolver::new(), &data, None, &cfg).is_err());
    let cfg = config(Model::Softmax, net(&[0], Activation::Relu, vec![]));
    let e = fit(&mut CpuSolver::new(), &data, None, &cfg).unwrap_err();
    assert!(e.to_string().contains("hidden"), "{e}");
    let cfg = config(
        Model::Softmax,
        net(
            &[4],
            Activation::Relu,
            vec![LayerPenalty {
                layer: 3,
                penalty: Penalty::default(),
            }],
        ),
    );
    let e = fit(&mut CpuSolver::new(), &data, None, &cfg).unwrap_err();
    assert!(e.to_string().contains("layer"), "{e}");
}
