// Log points and apg's certificate, one thread per row of a shard (rows row0.. in file order):
// each workgroup writes (Σ ŵ·loss, correct predictions) at part_base + 2·group. With SPARSE_DUAL
// the first is instead Σ ŵ·Σₖ p′ₖ·log p′ₖ, p′ = a·P + b·q + keep·onehot(y) (the classifier
// dual's conjugate term; q at scalars_at + 4). CPU twins: src/objective.rs::metrics,
// src/cpu/kernels.rs::dual_loss.

@compute @workgroup_size(SPARSE_GROUP)
fn sparse_loss(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let k_out = p.n_outputs;
    var acc = 0.0;
    var hits = 0.0;
    var z: array<f32, MAX_K>;
    for (var t = wid.x * SPARSE_GROUP + lid; t < p.rows; t += p.groups * SPARSE_GROUP) {
        let row = p.batch_start + t;
        let target_value = nums[p.y_at + row];
        var z_max = -3.4e38;
        var best = 0u;
        for (var o = 0u; o < k_out; o++) {
            z[o] = logit(row, o);
            if (z[o] > z_max) {
                z_max = z[o];
                best = o;
            }
        }
        var exp_sum = 0.0;
        for (var o = 0u; o < k_out; o++) {
            exp_sum += exp(z[o] - z_max);
        }
        let s = row_weight(row);
        if ((p.flags & SPARSE_DUAL) != 0u) {
            // Class probabilities: logistic [1 − σ, σ], softmax e^(z − max)/Σ.
            var term = 0.0;
            let classes = select(k_out, 2u, p.model == MODEL_LOGISTIC);
            for (var c = 0u; c < classes; c++) {
                var pc = 0.0;
                if (p.model == MODEL_LOGISTIC) {
                    pc = select(sigmoid(-z[0]), sigmoid(z[0]), c == 1u);
                } else {
                    pc = exp(z[c] - z_max) / exp_sum;
                }
                let v = p.dual_a * pc + p.dual_b * state[p.scalars_at + 4u + c]
                    + p.dual_keep * select(0.0, 1.0, f32(c) == target_value);
                if (v > 0.0) {
                    term += v * log(v);
                }
            }
            acc += s * term;
        } else if (p.model == MODEL_LINEAR) {
            let r = z[0] - target_value;
            acc += s * (0.5 * r * r);
        } else if (p.model == MODEL_LOGISTIC) {
            acc += s * (softplus(z[0]) - target_value * z[0]);
            hits += select(0.0, 1.0, f32(select(0u, 1u, z[0] > 0.0)) == target_value);
        } else {
            acc += s * (z_max + log(exp_sum) - z[u32(target_value)]);
            hits += select(0.0, 1.0, f32(best) == target_value);
        }
    }
    let loss = workgroup_sum(lid, acc);
    let correct = workgroup_sum(lid, hits);
    if (lid == 0u) {
        work[p.part_base + 2u * wid.x] = loss;
        work[p.part_base + 2u * wid.x + 1u] = correct;
    }
}
