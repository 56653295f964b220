//! The GPU side: context (adapter, device, error capture), the kernel table and its pipelines, the
//! Rust/WGSL shared layout, and the solver that drives the steps.

pub mod block;
pub mod buffers;
pub mod context;
pub mod kernels;
pub mod layout;
pub mod mlp;
mod solver;
pub mod sparse;
pub mod unroll;

pub use buffers::{GpuOptions, Residency};
pub use context::{list_adapters, AdapterDesc, GpuContext};
pub use solver::{GpuEngine, GpuSolver};
pub use sparse::{GpuSparseEngine, SparseXt};
