// apg's step on sparse data in three dispatches over the K × (d + 1) weights (d may be
// millions, too many for one workgroup): sparse_apg_step takes x⁺ = prox(y − step·(g + 2·l2·y))
// and each workgroup's part of (y − x⁺)·(x⁺ − x); sparse_apg_momentum (one workgroup) restarts
// the momentum when that sum is > 0 (O'Donoghue and Candès) or advances t; sparse_apg_extrapolate
// sets x = x⁺ and y = x⁺ + (t − 1)/t⁺·(x⁺ − x). y is the hi weights (the gradient kernels read
// them), x and x⁺ the 4th and 5th blocks of `state`; t, the restart count and β sit at
// scalars_at. step = lr, 1/m = inv_batch. CPU twin: src/cpu/kernels.rs::apg_update.

@compute @workgroup_size(SPARSE_GROUP)
fn sparse_apg_step(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let width = p.width;
    var dot = 0.0;
    for (var k = wid.x * SPARSE_GROUP + lid; k < width; k += p.groups * SPARSE_GROUP) {
        let o = k / p.stride;
        let is_bias = (k - o * p.stride) == p.n_features;
        let g = take_gradient(k, o, is_bias);
        let yk = state[k];
        var xn = 0.0;
        if (!is_bias || (p.flags & FLAG_INTERCEPT) != 0u) {
            let l1 = select(p.l1, p.bias_l1, is_bias);
            let l2 = select(p.l2, p.bias_l2, is_bias);
            let u = yk - p.lr * (g * p.inv_batch + 2.0 * l2 * yk);
            xn = sign(u) * max(abs(u) - p.lr * l1, 0.0);
        }
        state[4u * width + k] = xn;
        dot += (yk - xn) * (xn - state[3u * width + k]);
    }
    let total = workgroup_sum(lid, dot);
    if (lid == 0u) {
        work[p.apg_at + wid.x] = total;
    }
}

@compute @workgroup_size(SPARSE_GROUP)
fn sparse_apg_momentum(@builtin(local_invocation_index) lid: u32) {
    var dot = 0.0;
    for (var q = lid; q < p.n_parts; q += SPARSE_GROUP) {
        dot += work[p.apg_at + q];
    }
    let uphill = workgroup_sum(lid, dot);
    if (lid == 0u) {
        let t = state[p.scalars_at];
        var t_next = 1.0;
        var beta = 0.0;
        if (uphill > 0.0) {
            state[p.scalars_at + 1u] += 1.0;
        } else {
            t_next = (1.0 + sqrt(1.0 + 4.0 * t * t)) / 2.0;
            beta = (t - 1.0) / t_next;
        }
        state[p.scalars_at] = t_next;
        state[p.scalars_at + 2u] = beta;
    }
}

@compute @workgroup_size(SPARSE_GROUP)
fn sparse_apg_extrapolate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let width = p.width;
    let beta = state[p.scalars_at + 2u];
    for (var k = wid.x * SPARSE_GROUP + lid; k < width; k += p.groups * SPARSE_GROUP) {
        let xn = state[4u * width + k];
        let xo = state[3u * width + k];
        state[3u * width + k] = xn;
        state[k] = xn + beta * (xn - xo);
        state[width + k] = 0.0;
    }
}
