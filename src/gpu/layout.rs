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
/// registers; wider problems use the tiled kernel (grad_partials).
pub const NARROW_WIDTH: u32 = 32;
/// Most outputs K of the grad_rows kernel (its per-row logits live in registers).
pub const NARROW_OUTPUTS: u32 = 8;

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
         const NARROW_WIDTH: u32 = {NARROW_WIDTH}u;\n\
         const NARROW_OUTPUTS: u32 = {NARROW_OUTPUTS}u;\n\
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
    pub fn for_shape(d: usize, k: usize) -> Self {
        if k * (d + 1) <= NARROW_WIDTH as usize && k <= NARROW_OUTPUTS as usize {
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

/// Workgroups of one gradient dispatch over `rows` rows, with `rows_per_pass` rows per workgroup
/// pass: one per pass, at most `cap` (the kernels grid-stride over the remaining passes).
pub fn grad_workgroups(rows: usize, rows_per_pass: u32, cap: u32) -> u32 {
    (rows.div_ceil(rows_per_pass as usize) as u32).clamp(1, cap.max(1))
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
