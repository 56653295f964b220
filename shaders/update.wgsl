// The update kernel: one thread per weight. Sums the step's per-workgroup partial gradients, adds
// the penalty (2·l2·w, and l1·sign(w) unless the l1 step is proximal), applies the optimizer and,
// for `prox`, the soft-threshold (update_rule.wgsl). Gradient, penalty and update in one
// dispatch, no host round trip. CPU twin: src/cpu/kernels.rs::update.
//
// Each weight is kept as hi + lo (hi in `weights`, lo in the second half of `velocity`).

@compute @workgroup_size(WORKGROUP_SIZE)
fn update(@builtin(global_invocation_id) gid: vec3<u32>) {
    let width = fit.n_outputs * fit.stride;
    let k = gid.x;
    if (k >= width) {
        return;
    }
    var g_sum = 0.0;
    for (var p = 0u; p < step.total_partials; p++) {
        g_sum += scratch[p * width + k];
    }
    apply_update(k, g_sum);
}

// Weight k's step from the batch's gradient sum `g_sum` (shared with step_rows.wgsl).
fn apply_update(k: u32, g_sum: f32) {
    let width = fit.n_outputs * fit.stride;
    let is_bias = (k % fit.stride) == fit.n_features;
    if (is_bias && (fit.flags & FLAG_INTERCEPT) == 0u) {
        return; // no intercept: b stays 0
    }
    let w = weights[k];
    let w_lo = velocity[width + k];
    let l1 = select(fit.l1, fit.bias_l1, is_bias);
    let l2 = select(fit.l2, fit.bias_l2, is_bias);
    let prox = (fit.flags & FLAG_PROX) != 0u;
    let use_momentum = (fit.flags & FLAG_MOMENTUM) != 0u;
    let next = update_rule(w, w_lo, velocity[k], g_sum * step.inv_batch, l1, l2, step.lr,
                           fit.momentum, prox, use_momentum);
    if (use_momentum) {
        velocity[k] = next.z;
    }
    weights[k] = next.x;
    velocity[width + k] = next.y;
}
