//! gpu-regfit: L1 (lasso), L2 (ridge) and elastic-net regularized linear, logistic and softmax
//! regression by minibatch gradient descent in WGSL compute shaders (wgpu: Vulkan, Metal, DX12),
//! with a CPU reference that runs the same algorithm on the same batches and exact solvers for the
//! true optimum.
//!
//! The objective, everywhere (zᵢ = W xᵢ + b; W is 1 × d except for softmax, K × d):
//!
//! ```text
//! J(W, b) = (1/m) Σᵢ loss(zᵢ, yᵢ) + l1·‖W‖₁ + l2·‖W‖₂² + bias_l1·‖b‖₁ + bias_l2·‖b‖₂²
//! ```
//!
//! with loss ½(z − y)² (linear), log(1 + eᶻ) − y·z (logistic) or logsumexp(z) − z_y (softmax).
//!
//! ```no_run
//! use gpu_regfit::{config::FitConfig, cpu::CpuSolver, data::generate, fit::fit};
//! let (data, _truth) = generate::linear(&generate::LinearSpec::BUILTIN)?;
//! let mut cfg = FitConfig::default();
//! cfg.penalty.l1 = 0.05;
//! let fitted = fit(&mut CpuSolver::new(), &data, None, &cfg)?;
//! println!("{:?} {}", fitted.weights.coef(0), fitted.weights.intercept(0));
//! # Ok::<(), gpu_regfit::error::Error>(())
//! ```

pub mod apg;
pub mod bench;
pub mod block;
pub mod checkpoint;
pub mod config;
pub mod cpu;
pub mod cv;
pub mod data;
pub mod distributed;
pub mod error;
pub mod fit;
pub mod gap;
pub mod gpu;
pub mod network;
pub mod objective;
pub mod path;
pub mod predict;
pub mod report;
pub mod schedule;
pub mod weights;

pub use error::{Error, Result};
