// The data loss and the correct predictions of a chunk of rows at a log point, from its logits:
// per workgroup of 256 rows the sums Σ ŵ·loss and Σ [argmax z = y], added up in f64 on the host.
// Loss: logsumexp(z) − z_y (cross-entropy) or ½(z − y)² (squared). CPU twin:
// src/objective.rs::metrics.

var<workgroup> loss_sum: array<f32, 256>;
var<workgroup> hit_sum: array<f32, 256>;

@compute @workgroup_size(256)
fn mlp_loss(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(workgroup_id) wg: vec3<u32>) {
    let b = gid.x;
    var loss = 0.0;
    var hit = 0.0;
    if (b < p.rows) {
        let r = data_row(b);
        let z_at = p.in_offset + b * p.outputs;
        if (p.model == MODEL_SOFTMAX) {
            let label = u32(y[r]);
            var m = work[z_at];
            var best = 0u;
            for (var k = 1u; k < p.outputs; k++) {
                let z = work[z_at + k];
                if (z > m) {
                    m = z;
                    best = k;
                }
            }
            var s = 0.0;
            for (var k = 0u; k < p.outputs; k++) {
                s += exp(work[z_at + k] - m);
            }
            loss = m + log(s) - work[z_at + label];
            hit = select(0.0, 1.0, best == label);
        } else {
            let e = work[z_at] - y[r];
            loss = 0.5 * e * e;
        }
        if ((p.flags & MLP_WEIGHTED) != 0u) {
            loss *= row_weight[r];
        }
    }
    loss_sum[lid.x] = loss;
    hit_sum[lid.x] = hit;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if (lid.x < half) {
            loss_sum[lid.x] += loss_sum[lid.x + half];
            hit_sum[lid.x] += hit_sum[lid.x + half];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        partials[p.partial_offset + 2u * wg.x] = loss_sum[0];
        partials[p.partial_offset + 2u * wg.x + 1u] = hit_sum[0];
    }
}
