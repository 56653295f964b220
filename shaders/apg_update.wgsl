// apg's step, one workgroup for all weights (the full-batch gradient pass before it dominates):
// sums the gradient partials at y, takes x⁺ = prox(y − step·(g + 2·l2·y)) (soft-threshold by
// step·l1; b = 0 without an intercept), restarts the momentum when it points uphill,
// (y − x⁺)·(x⁺ − x) > 0 (O'Donoghue and Candès), and extrapolates y⁺ = x⁺ + (t − 1)/t⁺·(x⁺ − x).
// y lives in `weights` (the gradient kernels read it); x, x⁺, t and the restart count live in
// `velocity` at the offsets of src/gpu/layout.rs::apg_slots. step = step.lr, 1/m = step.inv_batch.
// CPU twin: src/cpu/kernels.rs::apg_update.

var<workgroup> uphill: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn apg_update(@builtin(local_invocation_index) lid: u32) {
    let width = fit.n_outputs * fit.stride;
    let x_new_at = width;
    let state_at = 3u * width;
    let has_intercept = (fit.flags & FLAG_INTERCEPT) != 0u;

    var dot = 0.0;
    for (var k = lid; k < width; k += WORKGROUP_SIZE) {
        let is_bias = (k % fit.stride) == fit.n_features;
        let yk = weights[k];
        var xn = 0.0;
        if (!is_bias || has_intercept) {
            var g = 0.0;
            for (var p = 0u; p < step.total_partials; p++) {
                g += scratch[p * width + k];
            }
            let l1 = select(fit.l1, fit.bias_l1, is_bias);
            let l2 = select(fit.l2, fit.bias_l2, is_bias);
            let u = yk - step.lr * (g * step.inv_batch + 2.0 * l2 * yk);
            xn = sign(u) * max(abs(u) - step.lr * l1, 0.0);
        }
        velocity[x_new_at + k] = xn;
        dot += (yk - xn) * (xn - velocity[k]);
    }
    uphill[lid] = dot;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
        if (lid < half) {
            uphill[lid] += uphill[lid + half];
        }
        workgroupBarrier();
    }
    let restart = uphill[0] > 0.0;
    let t = velocity[state_at];
    var t_next = 1.0;
    var beta = 0.0;
    if (!restart) {
        t_next = (1.0 + sqrt(1.0 + 4.0 * t * t)) / 2.0;
        beta = (t - 1.0) / t_next;
    }
    // Every thread has read t before it is overwritten below.
    storageBarrier();
    workgroupBarrier();
    for (var k = lid; k < width; k += WORKGROUP_SIZE) {
        let xn = velocity[x_new_at + k];
        let xo = velocity[k];
        velocity[k] = xn;
        weights[k] = xn + beta * (xn - xo);
    }
    if (lid == 0u) {
        velocity[state_at] = t_next;
        velocity[state_at + 1u] += select(0.0, 1.0, restart);
    }
}
