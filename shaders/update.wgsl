// The update kernel: one thread per weight. Sums the step's per-workgroup partial gradients, adds
// the penalty (2·l2·w, and l1·sign(w) unless the l1 step is proximal), applies the optimizer and,
// for `prox`, the soft-threshold. Gradient, penalty and update in one dispatch, no host round trip.
// CPU twin: src/cpu/kernels.rs::update.
//
// Each weight is kept as an unevaluated sum hi + lo of two f32 (hi in `weights`, lo in the second
// half of `velocity`): near the optimum a step is often smaller than half an ulp of w, and a plain
// f32 weight would stop moving there, short of the optimum by up to ~1e-7·|w|/curvature.

// a + b = s + e exactly (Knuth's TwoSum).
fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    return vec2<f32>(s, e);
}

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
    var g = g_sum * step.inv_batch;

    let w = weights[k];
    let w_lo = velocity[width + k];
    let l1 = select(fit.l1, fit.bias_l1, is_bias);
    let l2 = select(fit.l2, fit.bias_l2, is_bias);
    let prox = (fit.flags & FLAG_PROX) != 0u;
    g += 2.0 * l2 * w;
    if (!prox) {
        g += l1 * sign(w); // sign(0) = 0
    }

    // Heavy ball: w_new = w + μ·v − lr·g, then the threshold; v is the displacement actually taken,
    // so with `prox` the fixed point is the exact optimum (proximal heavy ball).
    let use_momentum = (fit.flags & FLAG_MOMENTUM) != 0u;
    var delta = -step.lr * g;
    if (use_momentum) {
        delta += fit.momentum * velocity[k];
    }
    var sum = two_sum(w, w_lo + delta);
    if (prox) {
        // Shrink |w| by lr·l1, or to 0 when it would cross zero.
        let s = sign(sum.x);
        let shrunk = two_sum(sum.x, -s * step.lr * l1);
        sum = two_sum(shrunk.x, shrunk.y + sum.y);
        if (sign(sum.x) != s) {
            sum = vec2<f32>(0.0, 0.0);
        }
    }
    if (use_momentum) {
        velocity[k] = (sum.x - w) + (sum.y - w_lo);
    }
    weights[k] = sum.x;
    velocity[width + k] = sum.y;
}
