// The loss kernel, run at log points only: (sum over rows of the loss) per workgroup, written to
// scratch[workgroup]; the host adds the partials in f64 and divides by the row count.
// CPU twin: src/cpu/kernels.rs::data_loss.

var<workgroup> sums: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn data_loss(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let d = fit.n_features;
    let k_out = fit.n_outputs;
    var acc = 0.0;
    for (var i = wid.x * WORKGROUP_SIZE + lid; i < fit.n_rows; i += fit.loss_workgroups * WORKGROUP_SIZE) {
        for (var o = 0u; o < k_out; o++) {
            let w_base = o * fit.stride;
            var z = weights[w_base + d];
            for (var j = 0u; j < d; j++) {
                z += weights[w_base + j] * x[i * d + j];
            }
            acc += row_loss(z, y[i]);
        }
    }
    sums[lid] = acc;
    workgroupBarrier();
    for (var width = WORKGROUP_SIZE / 2u; width > 0u; width = width / 2u) {
        if (lid < width) {
            sums[lid] += sums[lid + width];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        scratch[wid.x] = sums[0];
    }
}
