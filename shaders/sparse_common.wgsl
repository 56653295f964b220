// Shared by the sparse kernels (sparse_rows, sparse_gather, sparse_update, sparse_apg,
// sparse_loss): one dispatch's parameters and the buffers of one shard of CSR rows.
// Host side: src/gpu/sparse.rs (keep `SparseParams` in sync). CPU twins: src/objective.rs
// (weighted_residuals, xt_times) and src/cpu/kernels.rs.
//
// `ints` holds the shard's u32 arrays and `nums` its f32 arrays, at the offsets in the
// parameters, so a shard takes two storage bindings whatever it holds:
//   ints: row offsets (local, rows + 1) | column indices | epoch order | [CSC: column offsets |
//         row indices]
//   nums: values | y | row weights | [CSC: values]
// `state` holds the weights (hi | lo | velocity | apg x | apg x⁺ | scalars), each K × (d + 1)
// row-major; `grad` the summed data gradient; `work` the residuals and the partial sums.

struct SparseParams {
    rows: u32,
    batch_start: u32,
    n_features: u32,
    n_outputs: u32,
    stride: u32,
    model: u32,
    flags: u32,
    w_offset: u32,
    resid_base: u32,
    part_base: u32,
    n_parts: u32,
    width: u32,
    indptr_at: u32,
    indices_at: u32,
    order_at: u32,
    colptr_at: u32,
    colrows_at: u32,
    values_at: u32,
    y_at: u32,
    rw_at: u32,
    colvals_at: u32,
    row0: u32,
    cols: u32,
    groups: u32,
    lr: f32,
    momentum: f32,
    l1: f32,
    l2: f32,
    bias_l1: f32,
    bias_l2: f32,
    inv_batch: f32,
    dual_a: f32,
    dual_b: f32,
    dual_keep: f32,
    apg_at: u32,
    scalars_at: u32,
}

@group(0) @binding(0) var<uniform> p: SparseParams;
@group(0) @binding(1) var<storage, read> ints: array<u32>;
@group(0) @binding(2) var<storage, read> nums: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> work: array<f32>;

var<workgroup> red: array<f32, SPARSE_GROUP>;

// Row t of this dispatch: the t-th of the order from batch_start, or row batch_start + t.
fn row_of(t: u32) -> u32 {
    if ((p.flags & SPARSE_IDENTITY) != 0u) {
        return p.batch_start + t;
    }
    return ints[p.order_at + p.batch_start + t];
}

// z = x·w_o + b_o for the weights at state[w_offset ..], over the row's stored entries.
fn logit(row: u32, o: u32) -> f32 {
    let w = p.w_offset + o * p.stride;
    var z = state[w + p.n_features];
    let a = ints[p.indptr_at + row];
    let b = ints[p.indptr_at + row + 1u];
    for (var e = a; e < b; e++) {
        z += state[w + ints[p.indices_at + e]] * nums[p.values_at + e];
    }
    return z;
}

fn row_weight(row: u32) -> f32 {
    if ((p.flags & FLAG_WEIGHTED) != 0u) {
        return nums[p.rw_at + row];
    }
    return 1.0;
}

// Sums `v` over the workgroup (every thread calls it: uniform control flow); thread 0 gets it.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var half = SPARSE_GROUP / 2u; half > 0u; half = half / 2u) {
        if (lid < half) {
            red[lid] += red[lid + half];
        }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
}
