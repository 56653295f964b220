// Xᵀr without atomics: one thread per column of the shard's CSC copy (built once at upload) sums
// r·x down the column, reading the residuals that sparse_rows has just written for this shard's
// rows (index row0 + row within the shard; the engine passes row0 = 0), and adds the sum into
// `grad` (each shard's residual pass and gather run one after the other). Used for
// full-batch gradients (apg, the log points' evaluation): a minibatch would read every column.
// CPU twin: src/objective.rs::xt_times.

@compute @workgroup_size(SPARSE_GROUP)
fn sparse_gather(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let k_out = p.n_outputs;
    var acc: array<f32, MAX_K>;
    for (var j = wid.x * SPARSE_GROUP + lid; j < p.cols; j += p.groups * SPARSE_GROUP) {
        for (var o = 0u; o < k_out; o++) {
            acc[o] = 0.0;
        }
        let a = ints[p.colptr_at + j];
        let b = ints[p.colptr_at + j + 1u];
        for (var e = a; e < b; e++) {
            let i = p.row0 + ints[p.colrows_at + e];
            let v = nums[p.colvals_at + e];
            for (var o = 0u; o < k_out; o++) {
                acc[o] += work[i * k_out + o] * v;
            }
        }
        for (var o = 0u; o < k_out; o++) {
            grad[o * p.stride + j] += acc[o];
        }
    }
}
