//! gpu-regfit: L1 (lasso), L2 (ridge) and elastic-net regularized regression by minibatch gradient
//! descent in WGSL compute shaders (wgpu: Vulkan, Metal, DX12), with a CPU reference that runs the
//! same algorithm on the same batches and exact solvers for the true optimum.
//!
//! The objective, everywhere:
//!
//! ```text
//! J(w, b) = (1/m) Σᵢ ½(xᵢ·w + b − yᵢ)² + l1·‖w‖₁ + l2·‖w‖₂² + bias_l1·|b| + bias_l2·b²
//! ```
//!
//! ```no_run
//! use gpu_regfit::{config::FitConfig, cpu::CpuSolver, data::generate, fit::fit};
//! let (data, _truth) = generate::linear(&generate::LinearSpec::BUILTIN)?;
//! let mut cfg = FitConfig::default();
//! cfg.penalty.l1 = 0.05;
//! let fitted = fit(&mut CpuSolver::new(), &data, &cfg)?;
//! println!("{:?} {}", fitted.coef, fitted.intercept);
//! # Ok::<(), gpu_regfit::error::Error>(())
//! ```

pub mod config;
pub mod cpu;
pub mod data;
pub mod error;
pub mod fit;
pub mod gpu;
pub mod objective;
pub mod report;
pub mod schedule;

pub use error::{Error, Result};
