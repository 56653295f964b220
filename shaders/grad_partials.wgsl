// The fused gradient kernel for wide problems: each workgroup takes tiles of the minibatch, loads each selected row
// of X once into workgroup memory (coalesced), computes the rows' K logits and residuals from the
// tile, and accumulates r_ik * [x_i, 1] into its own row of `scratch`. No float atomics, XᵀX never
// formed. CPU twin: src/cpu/kernels.rs::grad_partials (objective::residuals).

var<workgroup> tile: array<f32, TILE_FLOATS>;                 // tile_rows × d
var<workgroup> tile_resid: array<f32, MAX_TILE_ROWS>;         // tile_rows × K logits, then residuals
var<workgroup> tile_index: array<u32, MAX_TILE_ROWS>;         // row of X for each tile row

@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_partials(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = wid.x;
    let d = fit.n_features;
    let k_out = fit.n_outputs;
    let stride = fit.stride;
    let width = k_out * stride;
    let out_base = (step.partial_base + group) * width;

    for (var k = lid; k < width; k += WORKGROUP_SIZE) {
        scratch[out_base + k] = 0.0;
    }

    let n_tiles = (step.batch_rows + fit.tile_rows - 1u) / fit.tile_rows;
    // Grid-stride over tiles; the loop bounds are uniform, so the barriers are too.
    for (var t = group; t < n_tiles; t += step.num_partials) {
        let first = t * fit.tile_rows;
        let rows_here = min(fit.tile_rows, step.batch_rows - first);

        for (var i = lid; i < rows_here; i += WORKGROUP_SIZE) {
            tile_index[i] = order[step.batch_start + first + i];
        }
        workgroupBarrier();

        // The only read of X: consecutive threads read consecutive features of a row.
        for (var k = lid; k < rows_here * d; k += WORKGROUP_SIZE) {
            let i = k / d;
            let j = k - i * d;
            tile[k] = x[tile_index[i] * d + j];
        }
        workgroupBarrier();

        // One thread per (row, output): the logit z = x·w_o + b_o.
        for (var k = lid; k < rows_here * k_out; k += WORKGROUP_SIZE) {
            let i = k / k_out;
            let o = k - i * k_out;
            let w_base = o * stride;
            var z = weights[w_base + d];
            for (var j = 0u; j < d; j++) {
                z += weights[w_base + j] * tile[i * d + j];
            }
            tile_resid[k] = z;
        }
        workgroupBarrier();

        // One thread per row: the K logits become residuals dloss/dz.
        for (var i = lid; i < rows_here; i += WORKGROUP_SIZE) {
            let target_value = y[tile_index[i]];
            let base = i * k_out;
            if (fit.model == MODEL_LINEAR) {
                tile_resid[base] = tile_resid[base] - target_value;
            } else if (fit.model == MODEL_LOGISTIC) {
                // σ(z) − 1 = −σ(−z): no cancellation when σ(z) is close to the label.
                let z = tile_resid[base];
                tile_resid[base] = select(sigmoid(z), -sigmoid(-z), target_value == 1.0);
            } else if (fit.model == MODEL_SOFTMAX) {
                // Softmax with max-subtraction: r_k = e^(z_k − m) / Σ e^(z − m) − [k = y].
                var z_max = tile_resid[base];
                for (var o = 1u; o < k_out; o++) {
                    z_max = max(z_max, tile_resid[base + o]);
                }
                var exp_sum = 0.0;
                for (var o = 0u; o < k_out; o++) {
                    let e = exp(tile_resid[base + o] - z_max);
                    tile_resid[base + o] = e;
                    exp_sum += e;
                }
                // The label's p − 1 is written as −Σ_{k≠label} p_k: no cancellation when p ≈ 1.
                let inv = 1.0 / exp_sum;
                var others = 0.0;
                for (var o = 0u; o < k_out; o++) {
                    let p = tile_resid[base + o] * inv;
                    tile_resid[base + o] = p;
                    others += select(p, 0.0, f32(o) == target_value);
                }
                let label = u32(target_value);
                tile_resid[base + label] = -others;
            } // MODEL_GRAM: the residual is the logit.
            if ((fit.flags & FLAG_WEIGHTED) != 0u) {
                let s = row_weight[tile_index[i]];
                for (var o = 0u; o < k_out; o++) {
                    tile_resid[base + o] = tile_resid[base + o] * s;
                }
            }
        }
        workgroupBarrier();

        // One thread per (output, feature); the last column of each output is the bias (x = 1).
        for (var k = lid; k < width; k += WORKGROUP_SIZE) {
            let o = k / stride;
            let j = k - o * stride;
            var acc = 0.0;
            if (j < d) {
                for (var i = 0u; i < rows_here; i++) {
                    acc += tile_resid[i * k_out + o] * tile[i * d + j];
                }
            } else {
                for (var i = 0u; i < rows_here; i++) {
                    acc += tile_resid[i * k_out + o];
                }
            }
            scratch[out_base + k] += acc;
        }
        workgroupBarrier();
    }
}
