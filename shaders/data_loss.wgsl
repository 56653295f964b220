// The loss kernel, run at log points only: per workgroup, the sum over its rows of the loss and the
// count of rows whose predicted class is the label. scratch[workgroup] holds the loss sum,
// scratch[loss_workgroups + workgroup] the count (as u32 bits); the host adds them in f64.
// CPU twin: src/cpu/kernels.rs::data_loss (objective::row_loss, objective::predicted_class).

var<workgroup> sums: array<f32, WORKGROUP_SIZE>;
var<workgroup> counts: array<u32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn data_loss(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let d = fit.n_features;
    let k_out = fit.n_outputs;
    var acc = 0.0;
    var correct = 0u;
    for (var i = wid.x * WORKGROUP_SIZE + lid; i < fit.n_rows; i += fit.loss_workgroups * WORKGROUP_SIZE) {
        let target_value = y[i];
        // Online log-sum-exp over the K logits (one pass), the label's logit and the argmax.
        var z_max = -3.4e38;
        var exp_sum = 0.0;
        var z_label = 0.0;
        var best = 0u;
        var z0 = 0.0;
        for (var o = 0u; o < k_out; o++) {
            let w_base = o * fit.stride;
            var z = weights[w_base + d];
            for (var j = 0u; j < d; j++) {
                z += weights[w_base + j] * x[i * d + j];
            }
            if (o == 0u) {
                z0 = z;
            }
            if (f32(o) == target_value) {
                z_label = z;
            }
            if (z > z_max) {
                exp_sum = exp_sum * exp(z_max - z) + 1.0;
                z_max = z;
                best = o;
            } else {
                exp_sum += exp(z - z_max);
            }
        }
        // The loss is weighted (weight_of is 1 without sample weights); the accuracy is not.
        let s = weight_of(i);
        if (fit.model == MODEL_LINEAR) {
            let r = z0 - target_value;
            acc += s * (0.5 * r * r);
        } else if (fit.model == MODEL_LOGISTIC) {
            acc += s * (softplus(z0) - target_value * z0);
            correct += select(0u, 1u, f32(select(0u, 1u, z0 > 0.0)) == target_value);
        } else {
            acc += s * (z_max + log(exp_sum) - z_label);
            correct += select(0u, 1u, f32(best) == target_value);
        }
    }
    sums[lid] = acc;
    counts[lid] = correct;
    workgroupBarrier();
    for (var width = WORKGROUP_SIZE / 2u; width > 0u; width = width / 2u) {
        if (lid < width) {
            sums[lid] += sums[lid + width];
            counts[lid] += counts[lid + width];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        scratch[wid.x] = sums[0];
        scratch[fit.loss_workgroups + wid.x] = bitcast<f32>(counts[0]);
    }
}
