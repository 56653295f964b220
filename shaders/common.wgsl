// Shared by every kernel: the parameter structs and the one bind-group layout.
// Keep in sync with src/gpu/layout.rs (FitParams, StepParams, bindings); tests/shaders.rs checks
// that the struct sizes agree. The constants (WORKGROUP_SIZE, TILE_FLOATS, FLAG_*, ...) are
// generated from Rust and prepended to this file, so they are defined once.
//
// Weights are a K × (d + 1) matrix, row k = [w_k0 .. w_k(d-1), b_k]; linear and logistic
// regression have K = 1, softmax has K = classes. For classifiers y holds class indices (0..K−1).

struct FitParams {
    n_rows: u32,
    n_features: u32,   // d
    n_outputs: u32,    // K
    stride: u32,       // d + 1: one row of the weight matrix
    tile_rows: u32,    // rows per workgroup tile in grad_partials
    flags: u32,        // FLAG_INTERCEPT | FLAG_PROX | FLAG_MOMENTUM | FLAG_WEIGHTED
    loss_workgroups: u32,
    model: u32,        // MODEL_LINEAR | MODEL_LOGISTIC | MODEL_SOFTMAX | MODEL_GRAM
    l1: f32,
    l2: f32,
    bias_l1: f32,
    bias_l2: f32,
    momentum: f32,
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
}

struct StepParams {
    batch_start: u32,    // offset of this dispatch's rows in the shard's row order
    batch_rows: u32,     // rows of the batch in this shard
    num_partials: u32,   // workgroups of this gradient dispatch
    partial_base: u32,   // its first row of partial sums in scratch
    total_partials: u32, // rows of partial sums of the whole step (read by update)
    lr: f32,             // lr_t of this step
    inv_batch: f32,      // 1 / rows of the whole batch
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> fit: FitParams;
@group(0) @binding(1) var<uniform> step: StepParams;
// One shard of the data (rows that fit one binding); indices below are local to the shard.
@group(0) @binding(2) var<storage, read> x: array<f32>;        // n_rows × d, row-major
@group(0) @binding(3) var<storage, read> y: array<f32>;        // n_rows
@group(0) @binding(4) var<storage, read> order: array<u32>;    // this epoch's rows of the shard, batch by batch
@group(0) @binding(5) var<storage, read_write> weights: array<f32>;   // K × stride
@group(0) @binding(6) var<storage, read_write> velocity: array<f32>;  // 2 × K × stride: momentum, then the low parts of the weights (update.wgsl)
@group(0) @binding(7) var<storage, read_write> scratch: array<f32>;   // per-workgroup partial sums
@group(0) @binding(8) var<storage, read> row_weight: array<f32>;      // n_rows sample weights (mean 1), read when FLAG_WEIGHTED

// The weight of row r (1 without sample weights).
fn weight_of(r: u32) -> f32 {
    if ((fit.flags & FLAG_WEIGHTED) != 0u) {
        return row_weight[r];
    }
    return 1.0;
}
