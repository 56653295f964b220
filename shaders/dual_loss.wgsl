// The conjugate term of a classifier's duality gap, run at apg's gap checks only: per workgroup,
// Σ over its rows of ŵ·Σₖ p′ₖ·log p′ₖ with p′ = a·P + b·q + keep·onehot(y), where P are the row's
// class probabilities at the weights in `weights`, and a = c·(1 − τ), b = c·τ, keep = 1 − c and q
// are the dual point (src/gap.rs), read from `velocity` at apg_slots::dual. Every term of p′ is
// ≥ 0 (the logistic 1 − σ(z) is computed as σ(−z)), so nothing cancels. scratch[workgroup] holds
// the sum; the host adds them in f64. CPU twin: src/cpu/kernels.rs::dual_loss.

var<workgroup> dual_sums: array<f32, WORKGROUP_SIZE>;

fn xlogx(v: f32) -> f32 {
    return select(0.0, v * log(v), v > 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn dual_loss(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let d = fit.n_features;
    let k_out = fit.n_outputs;
    let width = k_out * fit.stride;
    let at = 3u * width + 4u;
    let a = velocity[at];
    let b = velocity[at + 1u];
    let keep = velocity[at + 2u];
    var acc = 0.0;
    for (var i = wid.x * WORKGROUP_SIZE + lid; i < fit.n_rows; i += fit.loss_workgroups * WORKGROUP_SIZE) {
        let label = u32(y[i]);
        var term = 0.0;
        if (fit.model == MODEL_LOGISTIC) {
            var z = weights[d];
            for (var j = 0u; j < d; j++) {
                z += weights[j] * x[i * d + j];
            }
            let one = select(0.0, 1.0, label == 1u);
            let p1 = a * sigmoid(z) + b * velocity[at + 5u] + keep * one;
            let p0 = a * sigmoid(-z) + b * velocity[at + 4u] + keep * (1.0 - one);
            term = xlogx(p0) + xlogx(p1);
        } else {
            // Two passes over the K logits: the max, then the normalizer and the terms.
            var z_max = -3.4e38;
            for (var o = 0u; o < k_out; o++) {
                var z = weights[o * fit.stride + d];
                for (var j = 0u; j < d; j++) {
                    z += weights[o * fit.stride + j] * x[i * d + j];
                }
                z_max = max(z_max, z);
            }
            var exp_sum = 0.0;
            for (var o = 0u; o < k_out; o++) {
                var z = weights[o * fit.stride + d];
                for (var j = 0u; j < d; j++) {
                    z += weights[o * fit.stride + j] * x[i * d + j];
                }
                exp_sum += exp(z - z_max);
            }
            for (var o = 0u; o < k_out; o++) {
                var z = weights[o * fit.stride + d];
                for (var j = 0u; j < d; j++) {
                    z += weights[o * fit.stride + j] * x[i * d + j];
                }
                let p = a * exp(z - z_max) / exp_sum + b * velocity[at + 4u + o]
                    + keep * select(0.0, 1.0, o == label);
                term += xlogx(p);
            }
        }
        acc += weight_of(i) * term;
    }
    dual_sums[lid] = acc;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
        if (lid < half) {
            dual_sums[lid] += dual_sums[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        scratch[wid.x] = dual_sums[0];
    }
}
