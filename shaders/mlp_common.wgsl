// Shared by the network's kernels (mlp_*.wgsl): the dispatch parameters and the one bind-group
// layout. Keep in sync with src/gpu/mlp.rs (MlpParams, bindings); tests/shaders.rs checks the
// struct size. The constants (MLP_*, MODEL_*) are generated from Rust and prepended.
//
// A layer's parameters are an outputs × (inputs + 1) row-major block of `state` at w_offset, row
// j = [W_j0 .. W_j(in−1), b_j]. `state` holds, for all P parameters of the network: the f32 high
// parts [0, P), the low parts [P, 2P), the momentum [2P, 3P), then `splits` partial gradients
// [3P + s·P, 3P + (s + 1)·P). `work` holds each layer's activations for the rows of a batch (row
// b of layer l at act_offset(l) + b·width), then two residual buffers used in turn.

struct MlpParams {
    rows: u32,           // rows of this batch (or evaluation chunk)
    batch_start: u32,    // its first row: into `order` (a step) or of the data (MLP_IDENTITY)
    inputs: u32,         // the layer's input width
    outputs: u32,        // the layer's output width
    w_offset: u32,       // the layer's first parameter in state
    n_params: u32,       // P
    in_offset: u32,      // the layer's input activations in work (all but the first layer)
    out_offset: u32,     // where this dispatch writes in work
    delta_offset: u32,   // the residuals the backward kernels read
    flags: u32,          // MLP_FIRST | MLP_IDENTITY | MLP_ACTIVATE | MLP_TANH | MLP_WEIGHTED | ...
    model: u32,          // MODEL_LINEAR (squared loss) or MODEL_SOFTMAX
    splits: u32,         // row splits of the weight gradient
    rows_per_split: u32,
    partial_offset: u32, // mlp_loss: this chunk's first partial sum
    n_features: u32,     // d: X's row length
    tile_mode: u32,      // TILE_WIDE | TILE_NARROW_N | TILE_NARROW_M (matrix kernels)
    lr: f32,
    momentum: f32,
    l1: f32,
    l2: f32,
    bias_l1: f32,
    bias_l2: f32,
    inv_batch: f32,      // 1 / rows of the batch
    sub_lanes: u32,      // mlp_weight_grad, narrow: threads per row split
}

@group(0) @binding(0) var<uniform> p: MlpParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // n_rows × d, row-major
@group(0) @binding(2) var<storage, read> y: array<f32>;          // targets (class indices)
@group(0) @binding(3) var<storage, read> order: array<u32>;      // this epoch's row order
@group(0) @binding(4) var<storage, read> row_weight: array<f32>; // sample weights (mean 1)
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> work: array<f32>;
@group(0) @binding(7) var<storage, read_write> partials: array<f32>;

// The data row of the batch's row b.
fn data_row(b: u32) -> u32 {
    if ((p.flags & MLP_IDENTITY) != 0u) {
        return p.batch_start + b;
    }
    return order[p.batch_start + b];
}

// Input i of the layer for the batch's row b: X for the first layer, else the previous layer's
// activations.
fn layer_input(b: u32, i: u32) -> f32 {
    if ((p.flags & MLP_FIRST) != 0u) {
        return x[data_row(b) * p.n_features + i];
    }
    return work[p.in_offset + b * p.inputs + i];
}
