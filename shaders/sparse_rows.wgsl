// The first half of a sparse step, one thread per row of the piece: its K logits over the row's
// stored entries, the residuals dloss/dz (times the sample weight), written to `work` at
// resid_base + t; each workgroup's residual sums (the bias gradient) at part_base + group·K.
// With SPARSE_SCATTER it also adds r·x into `grad` (Xᵀr by atomics: f32 atomics where the
// adapter has them, else a compare-exchange loop), so a minibatch step needs no other pass.
// CPU twin: src/objective.rs::weighted_residuals (and src/cpu/kernels.rs::grad_partials).

fn residuals(row: u32, r: ptr<function, array<f32, MAX_K>>) {
    let k_out = p.n_outputs;
    for (var o = 0u; o < k_out; o++) {
        (*r)[o] = logit(row, o);
    }
    if (p.model != MODEL_GRAM) {
        let t = nums[p.y_at + row];
        if (p.model == MODEL_LINEAR) {
            (*r)[0] = (*r)[0] - t;
        } else if (p.model == MODEL_LOGISTIC) {
            // σ(z) − 1 = −σ(−z): no cancellation when σ(z) is close to the label.
            let z = (*r)[0];
            (*r)[0] = select(sigmoid(z), -sigmoid(-z), t == 1.0);
        } else {
            var z_max = (*r)[0];
            for (var o = 1u; o < k_out; o++) {
                z_max = max(z_max, (*r)[o]);
            }
            var exp_sum = 0.0;
            for (var o = 0u; o < k_out; o++) {
                let e = exp((*r)[o] - z_max);
                (*r)[o] = e;
                exp_sum += e;
            }
            // The label's p − 1 written as −Σ_{k≠label} p_k (no cancellation when p ≈ 1).
            var others = 0.0;
            for (var o = 0u; o < k_out; o++) {
                let q = (*r)[o] / exp_sum;
                (*r)[o] = q;
                others += select(q, 0.0, f32(o) == t);
            }
            (*r)[u32(t)] = -others;
        }
    }
    let s = row_weight(row);
    for (var o = 0u; o < k_out; o++) {
        (*r)[o] = (*r)[o] * s;
    }
}

@compute @workgroup_size(SPARSE_GROUP)
fn sparse_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let k_out = p.n_outputs;
    var bias: array<f32, MAX_K>;
    for (var o = 0u; o < MAX_K; o++) {
        bias[o] = 0.0;
    }
    var r: array<f32, MAX_K>;
    for (var t = wid.x * SPARSE_GROUP + lid; t < p.rows; t += p.groups * SPARSE_GROUP) {
        let row = row_of(t);
        residuals(row, &r);
        for (var o = 0u; o < k_out; o++) {
            work[(p.resid_base + t) * k_out + o] = r[o];
            bias[o] += r[o];
        }
        if ((p.flags & SPARSE_SCATTER) != 0u) {
            let a = ints[p.indptr_at + row];
            let b = ints[p.indptr_at + row + 1u];
            for (var e = a; e < b; e++) {
                let j = ints[p.indices_at + e];
                let v = nums[p.values_at + e];
                for (var o = 0u; o < k_out; o++) {
                    grad_add(o * p.stride + j, r[o] * v);
                }
            }
        }
    }
    for (var o = 0u; o < k_out; o++) {
        let total = workgroup_sum(lid, bias[o]);
        if (lid == 0u) {
            work[p.part_base + wid.x * k_out + o] = total;
        }
    }
}
