// The update of one parameter tensor (a layer's W and b), one thread per parameter: adds up the
// weight gradient's row splits and applies update_rule.wgsl with the layer's penalties, the
// optimizer and, for prox, the soft-threshold. CPU twin: src/cpu/kernels.rs::update_tensor.

@compute @workgroup_size(256)
fn mlp_update(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    let stride = p.inputs + 1u;
    if (k >= p.outputs * stride) {
        return;
    }
    let is_bias = (k % stride) == p.inputs;
    if (is_bias && (p.flags & MLP_INTERCEPT) == 0u) {
        return; // no biases: they stay 0
    }
    let at = p.w_offset + k;
    let n = p.n_params;
    var g = 0.0;
    for (var s = 0u; s < p.splits; s++) {
        g += state[3u * n + s * n + at];
    }
    let use_momentum = (p.flags & MLP_MOMENTUM) != 0u;
    let next = update_rule(state[at], state[n + at], state[2u * n + at], g,
                           select(p.l1, p.bias_l1, is_bias), select(p.l2, p.bias_l2, is_bias),
                           p.lr, p.momentum, (p.flags & MLP_PROX) != 0u, use_momentum);
    state[at] = next.x;
    state[n + at] = next.y;
    if (use_momentum) {
        state[2u * n + at] = next.z;
    }
}
