//! Everything Rust and WGSL must agree on: constants (emitted as a WGSL header, so they are defined
//! only here), the uniform structs and the bind-group layout.
//! Keep in sync with shaders/common.wgsl; tests/shaders.rs checks the struct sizes with naga.

use bytemuck::{Pod, Zeroable};

/// Threads per workgroup in every kernel (a power of two: data_loss reduces by halving).
pub const WORKGROUP_SIZE: u32 = 64;
/// Floats of workgroup memory for one tile of rows in grad_partials (12 KiB of the 16 KiB that
/// every adapter guarantees). A row must fit, so this is also the widest d the kernel supports.
pub const TILE_FLOATS: u32 = 3072;
/// Most rows in one tile (also the size of the per-tile residual and index arrays).
pub const MAX_TILE_ROWS: u32 = 256;
/// Most workgroups in one grad_partials or data_loss dispatch; each writes one row of partials.
pub const MAX_PARTIAL_WORKGROUPS: u32 = 1024;

/// Most floats of per-workgroup gradient partials (32 MiB): wide softmax models use fewer
/// workgroups rather than a huge scratch buffer.
pub const MAX_SCRATCH_FLOATS: usize = 8 << 20;
/// Most classes of a softmax model on the GPU: one row's K logits must fit the tile's residuals.
pub const MAX_CLASSES: usize = MAX_TILE_ROWS as usize;

/// Widest weight matrix, K·(d + 1), that the one-row-per-thread kernel (grad_rows) keeps in
/// registers on a hardware GPU; wider problems use the tiled kernel (grad_partials).
pub const NARROW_WIDTH: u32 = 32;
/// Most outputs K of the grad_rows kernel on a hardware GPU (its logits live in registers).
pub const NARROW_OUTPUTS: u32 = 8;
/// On a software adapter (a CPU running the shader), threads are SIMD lanes and "registers" are
/// the stack, so grad_rows pays off far wider: up to this K·(d + 1).
pub const SOFTWARE_ROWS_WIDTH: u32 = 1024;

pub const MODEL_LINEAR: u32 = 0;
pub const MODEL_LOGISTIC: u32 = 1;
pub const MODEL_SOFTMAX: u32 = 2;
/// The gradient kernels with residual = logit (no target): E[(Wx + b)·[x, 1]], the product with
/// [X, 1]ᵀŴ[X, 1]/m that apg's power iteration needs.
pub const MODEL_GRAM: u32 = 3;

/// The `model` field of [`FitParams`].
pub fn model_code(model: crate::config::Model) -> u32 {
    match model {
        crate::config::Model::Linear => MODEL_LINEAR,
        crate::config::Model::Logistic => MODEL_LOGISTIC,
        crate::config::Model::Softmax => MODEL_SOFTMAX,
    }
}

pub const FLAG_INTERCEPT: u32 = 1;
pub const FLAG_PROX: u32 = 2;
pub const FLAG_MOMENTUM: u32 = 4;
/// Rows carry sample weights (binding ROW_WEIGHT): residuals and losses are multiplied by them.
pub const FLAG_WEIGHTED: u32 = 8;

/// The constants above as WGSL, prepended to every shader.
pub fn wgsl_constants() -> String {
    format!(
        "const WORKGROUP_SIZE: u32 = {WORKGROUP_SIZE}u;\n\
         const TILE_FLOATS: u32 = {TILE_FLOATS}u;\n\
         const MAX_TILE_ROWS: u32 = {MAX_TILE_ROWS}u;\n\
         const FLAG_INTERCEPT: u32 = {FLAG_INTERCEPT}u;\n\
         const FLAG_PROX: u32 = {FLAG_PROX}u;\n\
         const FLAG_MOMENTUM: u32 = {FLAG_MOMENTUM}u;\n\
         const FLAG_WEIGHTED: u32 = {FLAG_WEIGHTED}u;\n\
         const MODEL_GRAM: u32 = {MODEL_GRAM}u;\n\
         const MODEL_LINEAR: u32 = {MODEL_LINEAR}u;\n\
         const MODEL_LOGISTIC: u32 = {MODEL_LOGISTIC}u;\n\
         const MODEL_SOFTMAX: u32 = {MODEL_SOFTMAX}u;\n"
    )
}

/// The shape constants of a shaped kernel (grad_rows, step_rows, read_rows): D features and K
/// outputs, so that its loops unroll and its per-row arrays have a fixed size.
pub fn shape_constants(features: usize, outputs: usize) -> String {
    format!(
        "const D: u32 = {}u;\nconst K: u32 = {}u;\n",
        features.max(1),
        outputs.max(1)
    )
}

/// How the gradient kernels are laid out on one adapter. Measured on lavapipe (BENCHMARKS.md,
/// "Kernel efficiency"): a CPU adapter runs a workgroup as a loop over SIMD lanes on one host
/// thread, so a few long-running workgroups (one per host thread) beat many short ones, and
/// the one-row-per-thread kernel beats the tiled one at every width it can hold. A hardware GPU
/// needs many workgroups in flight and keeps rows in registers only when narrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelPolicy {
    /// Widest K·(d + 1) of the one-row-per-thread kernel.
    pub rows_width: usize,
    /// Most outputs K of the one-row-per-thread kernel.
    pub rows_outputs: usize,
    /// Most workgroups of one gradient dispatch.
    pub max_workgroups: u32,
    /// Most rows × K·(d + 1) of a batch that one workgroup takes in a single-dispatch step
    /// (step_rows); larger batches are faster over many workgroups, then an update dispatch.
    pub fused_step_work: usize,
    /// Most loop iterations, over every loop of a shader, that one invocation may run (None: no
    /// limit). llvmpipe counts them in one counter per invocation and stops every loop once it
    /// passes 65 535 (loops it unrolls at compile time do not count), so on a software adapter
    /// the rows are spread over enough workgroups to stay below it.
    pub loop_budget: Option<usize>,
}

impl KernelPolicy {
    pub fn for_adapter(software: bool) -> Self {
        if software {
            // llvmpipe runs one workgroup per host thread at a time (LP_NUM_THREADS, else cores).
            let threads = std::env::var("LP_NUM_THREADS")
                .ok()
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|&t| t > 0)
                .unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
                });
            KernelPolicy {
                rows_width: SOFTWARE_ROWS_WIDTH as usize,
                rows_outputs: MAX_CLASSES,
                max_workgroups: threads.clamp(1, 64),
                fused_step_work: FUSED_STEP_WORK,
                loop_budget: Some(SOFTWARE_LOOP_BUDGET),
            }
        } else {
            KernelPolicy {
                rows_width: NARROW_WIDTH as usize,
                rows_outputs: NARROW_OUTPUTS as usize,
                max_workgroups: MAX_PARTIAL_WORKGROUPS,
                fused_step_work: FUSED_STEP_WORK,
                loop_budget: None,
            }
        }
    }

    /// The fewest workgroups that keep a dispatch of `kernel` over `rows` rows of `d` features
    /// and `k` outputs within [`KernelPolicy::loop_budget`] (see [`loop_iterations`]).
    pub fn loop_workgroups(&self, kernel: GradKernel, rows: usize, d: usize, k: usize) -> u32 {
        match self.loop_budget {
            None => 1,
            Some(budget) => loop_iterations(kernel, rows, d, k).div_ceil(budget).max(1) as u32,
        }
    }

    /// Workgroups of one gradient dispatch over `rows` rows: one per pass of `rows_per_pass`
    /// rows, at most `max_workgroups`, at least [`KernelPolicy::loop_workgroups`], and never
    /// more than `hard_cap` (the partial rows the scratch buffer holds).
    pub fn grad_workgroups(
        &self,
        kernel: GradKernel,
        rows: usize,
        (d, k): (usize, usize),
        hard_cap: u32,
    ) -> u32 {
        let rows_per_pass = kernel.rows_per_pass(tile_rows(d, k));
        let passes = rows.div_ceil(rows_per_pass as usize).max(1) as u32;
        passes
            .min(self.max_workgroups)
            .max(self.loop_workgroups(kernel, rows, d, k))
            .clamp(1, hard_cap.max(1))
    }
}

/// Loop iterations (every loop, summed) of the busiest thread when one workgroup takes all
/// `rows` rows, an upper bound that shrinks in proportion to the workgroups.
/// - grad_rows.wgsl: per row of a thread, the read with the K dot products (d·(K + 1)), the K
///   sums (K·(d + 1)), the residual's loops over K (at most 6·K), and a few more; unrolled
///   (d, K) only the residual's loops and the row loop.
/// - grad_partials.wgsl: per tile, the index and load loops, the logits (d per row-output a
///   thread holds), the residuals, and the sums (one pass over the tile's rows per weight a
///   thread holds).
pub fn loop_iterations(kernel: GradKernel, rows: usize, d: usize, k: usize) -> usize {
    let threads = WORKGROUP_SIZE as usize;
    match kernel {
        // Unrolled rows (src/gpu/unroll.rs) loop only over rows and the residual's K.
        GradKernel::Rows if unrolls_rows(d, k) => rows.div_ceil(threads).saturating_mul(8 * k + 8),
        GradKernel::Rows => rows
            .div_ceil(threads)
            .saturating_mul((2 * k + 1) * d + 8 * k + 8),
        GradKernel::Tiles => {
            let tr = tile_rows(d, k) as usize;
            let width = k * (d + 1);
            let per_tile = 2
                + (tr * d).div_ceil(threads)
                + (tr * k).div_ceil(threads) * (d + 1)
                + tr.div_ceil(threads) * (6 * k + 2)
                + width.div_ceil(threads) * (tr + 1)
                + 4;
            rows.div_ceil(tr).saturating_mul(per_tile)
        }
    }
}

/// Widest K·(d + 1) whose row work the shaped kernels get fully unrolled (src/gpu/unroll.rs)
/// rather than as loops (shaders/row_loops.wgsl); wider shapes would make long shaders.
pub const UNROLL_WIDTH: usize = 320;

/// Whether the shaped kernels for `d` features and `k` outputs unroll their row work.
pub fn unrolls_rows(d: usize, k: usize) -> bool {
    k.max(1) * (d.max(1) + 1) <= UNROLL_WIDTH
}

/// rows × K·(d + 1) of the largest single-dispatch step. Measured on lavapipe: at d = 16 one
/// dispatch wins up to batch 1024 (17 408) and loses at 4096 (69 632) as at d = 128, batch 512.
pub const FUSED_STEP_WORK: usize = 32_768;

/// llvmpipe's limit on the loop iterations of one invocation (65 535), with a margin.
pub const SOFTWARE_LOOP_BUDGET: usize = 48_000;

/// Constant for the whole fit. Keep in sync with `struct FitParams` in shaders/common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct FitParams {
    pub n_rows: u32,
    pub n_features: u32,
    pub n_outputs: u32,
    pub stride: u32,
    pub tile_rows: u32,
    pub flags: u32,
    pub loss_workgroups: u32,
    pub model: u32,
    pub l1: f32,
    pub l2: f32,
    pub bias_l1: f32,
    pub bias_l2: f32,
    pub momentum: f32,
    pub _pad1: f32,
    pub _pad2: f32,
    pub _pad3: f32,
}

/// One dispatch of a step (the batch's rows in one shard of X) and the step's learning rate,
/// bound at a dynamic offset. Keep in sync with `struct StepParams` in shaders/common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct StepParams {
    pub batch_start: u32,
    pub batch_rows: u32,
    pub num_partials: u32,
    pub partial_base: u32,
    pub total_partials: u32,
    pub lr: f32,
    pub inv_batch: f32,
    pub _pad0: u32,
}

/// Binding numbers of group 0, as declared in shaders/common.wgsl.
pub mod binding {
    pub const FIT: u32 = 0;
    pub const STEP: u32 = 1;
    pub const X: u32 = 2;
    pub const Y: u32 = 3;
    pub const ORDER: u32 = 4;
    pub const WEIGHTS: u32 = 5;
    pub const VELOCITY: u32 = 6;
    pub const SCRATCH: u32 = 7;
    pub const ROW_WEIGHT: u32 = 8;
}

/// apg keeps its state in `velocity` (see shaders/apg_update.wgsl): x, then x⁺ (scratch of the
/// step), then a saved copy of y, then [t, restarts, _, _], then the dual point of dual_loss:
/// [c·(1 − τ), c·τ, 1 − c, _] and q (one entry per class). Offsets in floats, for `width` weights.
pub mod apg_slots {
    pub fn x(_width: usize) -> usize {
        0
    }
    pub fn x_new(width: usize) -> usize {
        width
    }
    pub fn saved_y(width: usize) -> usize {
        2 * width
    }
    pub fn state(width: usize) -> usize {
        3 * width
    }
    pub fn dual(width: usize) -> usize {
        3 * width + 4
    }
    /// Floats of the whole apg velocity buffer for `classes` classes.
    pub fn len(width: usize, classes: usize) -> usize {
        3 * width + 8 + classes
    }
}

/// Rows per grad_partials tile for `d` features and `k` outputs: as many as fit the tile.
pub fn tile_rows(d: usize, k: usize) -> u32 {
    let by_tile = TILE_FLOATS as usize / d.max(1);
    let by_resid = MAX_TILE_ROWS as usize / k.max(1);
    by_tile.min(by_resid).clamp(1, MAX_TILE_ROWS as usize) as u32
}

/// The fused gradient kernel picked for a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradKernel {
    /// One thread per row, the row and its K·(d + 1) sums in registers (narrow problems).
    Rows,
    /// Tiles of rows in workgroup memory, one thread per weight (wide problems).
    Tiles,
}

impl GradKernel {
    pub fn for_shape(d: usize, k: usize, policy: &KernelPolicy) -> Self {
        if k * (d + 1) <= policy.rows_width && k <= policy.rows_outputs {
            GradKernel::Rows
        } else {
            GradKernel::Tiles
        }
    }

    /// Rows one workgroup takes per pass.
    pub fn rows_per_pass(self, tile_rows: u32) -> u32 {
        match self {
            GradKernel::Rows => WORKGROUP_SIZE,
            GradKernel::Tiles => tile_rows,
        }
    }
}

/// The most workgroups of one gradient dispatch when a step may have `pieces` dispatches (one per
/// shard it touches) of `width` partial sums each: at most MAX_PARTIAL_WORKGROUPS, and few
/// enough that a step's partials fit MAX_SCRATCH_FLOATS.
pub fn grad_workgroup_cap(width: usize, pieces: usize) -> u32 {
    let by_scratch = MAX_SCRATCH_FLOATS / width.max(1) / pieces.max(1);
    (by_scratch as u32).clamp(1, MAX_PARTIAL_WORKGROUPS)
}

/// Workgroups of the data_loss dispatch over `n_rows` rows.
pub fn loss_workgroups(n_rows: usize) -> u32 {
    (n_rows.div_ceil(WORKGROUP_SIZE as usize) as u32).clamp(1, MAX_PARTIAL_WORKGROUPS)
}
