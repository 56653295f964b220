// The fused gradient kernel for narrow problems (K·(d + 1) ≤ NARROW_WIDTH): one thread per row of
// the minibatch. Each thread reads its row of X once into registers, computes the K logits and
// residuals there, and adds r_k · [x, 1] into register sums; the workgroup then adds its threads'
// sums into its own row of `scratch`. No float atomics, XᵀX never formed.
// CPU twin: src/cpu/kernels.rs::grad_partials (objective::residuals), as for grad_partials.wgsl.
//
// `row_sums` is shared with grad_rows_subgroup.wgsl, which reduces with subgroupAdd first; both
// end in the same per-weight sum over `wg_sums`, so they agree to rounding.

var<workgroup> wg_sums: array<f32, WORKGROUP_SIZE * NARROW_WIDTH>;

// This thread's sums over its rows (grid-stride over the batch's rows in this shard).
fn row_sums(group: u32, lid: u32) -> array<f32, NARROW_WIDTH> {
    let d = fit.n_features;
    let k_out = fit.n_outputs;
    let stride = fit.stride;
    var sums: array<f32, NARROW_WIDTH>;
    var row: array<f32, NARROW_WIDTH>;
    var z: array<f32, NARROW_OUTPUTS>;
    for (var i = group * WORKGROUP_SIZE + lid; i < step.batch_rows; i += step.num_partials * WORKGROUP_SIZE) {
        let r = order[step.batch_start + i];
        let target_value = y[r];
        // The only read of X.
        for (var j = 0u; j < d; j++) {
            row[j] = x[r * d + j];
        }
        for (var o = 0u; o < k_out; o++) {
            var acc = weights[o * stride + d];
            for (var j = 0u; j < d; j++) {
                acc += weights[o * stride + j] * row[j];
            }
            z[o] = acc;
        }
        // Residuals dloss/dz, written without cancellation as in grad_partials.wgsl.
        if (fit.model == MODEL_LINEAR) {
            z[0] = z[0] - target_value;
        } else if (fit.model == MODEL_LOGISTIC) {
            z[0] = select(sigmoid(z[0]), -sigmoid(-z[0]), target_value == 1.0);
        } else if (fit.model == MODEL_SOFTMAX) {
            var z_max = z[0];
            for (var o = 1u; o < k_out; o++) {
                z_max = max(z_max, z[o]);
            }
            var exp_sum = 0.0;
            for (var o = 0u; o < k_out; o++) {
                z[o] = exp(z[o] - z_max);
                exp_sum += z[o];
            }
            let inv = 1.0 / exp_sum;
            var others = 0.0;
            for (var o = 0u; o < k_out; o++) {
                z[o] = z[o] * inv;
                others += select(z[o], 0.0, f32(o) == target_value);
            }
            z[u32(target_value)] = -others;
        } // MODEL_GRAM: the residual is the logit.
        if ((fit.flags & FLAG_WEIGHTED) != 0u) {
            let s = row_weight[r];
            for (var o = 0u; o < k_out; o++) {
                z[o] = z[o] * s;
            }
        }
        for (var o = 0u; o < k_out; o++) {
            let base = o * stride;
            for (var j = 0u; j < d; j++) {
                sums[base + j] += z[o] * row[j];
            }
            sums[base + d] += z[o];
        }
    }
    return sums;
}

// Adds the `slots` rows of wg_sums into this workgroup's row of scratch.
fn write_partials(group: u32, lid: u32, slots: u32) {
    let width = fit.n_outputs * fit.stride;
    for (var k = lid; k < width; k += WORKGROUP_SIZE) {
        var total = 0.0;
        for (var s = 0u; s < slots; s++) {
            total += wg_sums[s * NARROW_WIDTH + k];
        }
        scratch[(step.partial_base + group) * width + k] = total;
    }
}

// The portable reduction: every thread's sums go through workgroup memory.
@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let sums = row_sums(wid.x, lid);
    let width = fit.n_outputs * fit.stride;
    for (var k = 0u; k < width; k++) {
        wg_sums[lid * NARROW_WIDTH + k] = sums[k];
    }
    workgroupBarrier();
    write_partials(wid.x, lid, WORKGROUP_SIZE);
}
