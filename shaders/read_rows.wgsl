// The roofline of `bench`: reads the same bytes of X as the gradient kernels, the batch's rows in
// the epoch's order (the same gather), one thread per row as grad_rows.wgsl, and only sums them,
// one float per workgroup into scratch. Its speed is the fastest the fused step could go.
// Built for one shape like grad_rows.wgsl (D is a constant), after grad_rows.wgsl and the same
// read_row (row_loops.wgsl, or unrolled) as its add_row. No CPU twin: nothing it computes is used.

var<workgroup> wg_read: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn read_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    var acc = 0.0;
    let threads = step.num_partials * WORKGROUP_SIZE;
    for (var i = wid.x * WORKGROUP_SIZE + lid; i < step.batch_rows; i += threads) {
        acc += read_row(order[step.batch_start + i]);
    }
    wg_read[lid] = acc;
    workgroupBarrier();
    if (lid == 0u) {
        var total = 0.0;
        for (var s = 0u; s < WORKGROUP_SIZE; s++) {
            total += wg_read[s];
        }
        scratch[step.partial_base + wid.x] = total;
    }
}
