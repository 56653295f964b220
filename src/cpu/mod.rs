//! The CPU side: the twins of the WGSL kernels, the reference solver built from them, and the
//! exact solvers that give the true optimum.

pub mod block;
pub mod exact;
pub mod kernels;
pub mod mlp;
mod proximal;
mod reference;

pub use reference::{CpuEngine, CpuSolver};
