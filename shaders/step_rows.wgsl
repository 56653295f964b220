// One whole minibatch step in a single dispatch of one workgroup, for batches small enough that
// one workgroup takes every row: the gradient as in grad_rows.wgsl (row_sums, reduce_sums), then
// the penalty and the update of update.wgsl (apply_update) for every weight. Appended to
// grad_rows.wgsl and update.wgsl. No partials in scratch, no second dispatch.
// CPU twin: src/cpu/kernels.rs::grad_partials, then src/cpu/kernels.rs::update.

@compute @workgroup_size(WORKGROUP_SIZE)
fn step_rows(@builtin(local_invocation_index) lid: u32) {
    row_sums(lid, WORKGROUP_SIZE);
    reduce_sums(lid);
    // reduce_sums ends with a barrier: every thread sees the whole gradient.
    for (var k = lid; k < WIDTH; k += WORKGROUP_SIZE) {
        apply_update(k, wg_total[k]);
    }
}
