// The update dispatch of a sparse step, one thread per weight of the K × (d + 1) matrix: the
// data gradient (grad, then zeroed for the next step; a bias sums the step's n_parts workgroup
// residual sums) times 1/batch goes through the shared update rule (update_rule.wgsl: l2, the
// l1 sign or proximal step, momentum, hi + lo weights). CPU twin: src/cpu/kernels.rs::update.

@compute @workgroup_size(SPARSE_GROUP)
fn sparse_update(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let width = p.width;
    for (var k = wid.x * SPARSE_GROUP + lid; k < width; k += p.groups * SPARSE_GROUP) {
        let o = k / p.stride;
        let is_bias = (k - o * p.stride) == p.n_features;
        let g = take_gradient(k, o, is_bias);
        if (is_bias && (p.flags & FLAG_INTERCEPT) == 0u) {
            continue;
        }
        let l1 = select(p.l1, p.bias_l1, is_bias);
        let l2 = select(p.l2, p.bias_l2, is_bias);
        let next = update_rule(state[k], state[width + k], state[2u * width + k],
                               g * p.inv_batch, l1, l2, p.lr, p.momentum,
                               (p.flags & FLAG_PROX) != 0u, (p.flags & FLAG_MOMENTUM) != 0u);
        state[k] = next.x;
        state[width + k] = next.y;
        state[2u * width + k] = next.z;
    }
}
