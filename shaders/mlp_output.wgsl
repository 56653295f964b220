// The output residuals of a batch, one thread per row: δ = ŵ·r/m, r = softmax(z) − onehot(y)
// (cross-entropy) or z − y (squared loss), ŵ the row's sample weight. The mean over the batch is
// folded in here, so the weight gradients below are sums. CPU twin: src/cpu/mlp.rs::mlp_output.

@compute @workgroup_size(256)
fn mlp_output(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    if (b >= p.rows) {
        return;
    }
    let r = data_row(b);
    var scale = p.inv_batch;
    if ((p.flags & MLP_WEIGHTED) != 0u) {
        scale *= row_weight[r];
    }
    let k_out = p.outputs;
    let z_at = p.in_offset + b * k_out;
    let d_at = p.out_offset + b * k_out;
    if (p.model == MODEL_SOFTMAX) {
        let label = u32(y[r]);
        var m = work[z_at];
        for (var k = 1u; k < k_out; k++) {
            m = max(m, work[z_at + k]);
        }
        var s = 0.0;
        for (var k = 0u; k < k_out; k++) {
            s += exp(work[z_at + k] - m);
        }
        for (var k = 0u; k < k_out; k++) {
            let prob = exp(work[z_at + k] - m) / s;
            work[d_at + k] = (prob - select(0.0, 1.0, k == label)) * scale;
        }
    } else {
        work[d_at] = (work[z_at] - y[r]) * scale;
    }
}
