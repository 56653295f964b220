// The block kernel: the gradients and losses of M models (a block of cross-validation or path
// problems) from one read of X. Each workgroup takes tiles of consecutive rows, loads a tile of
// X into workgroup memory once (coalesced), then
//   - one thread per (row, model): the model's C logits, its residuals dℓ/dz and its loss, each
//     times the row's weight in the model's part (0 for the model's held-out fold, so one pass
//     serves every fold: the sample-weight path of src/block.rs's Parts);
//   - one thread per output column: Σ over the tile's rows of residual·[x, 1] (and of the loss),
//     added into the workgroup's row of `partials`.
// block_reduce then adds the workgroups' rows into `total` (one row, read back by the host, which
// divides by n). XᵀX is never formed. Mode DUAL computes, instead of the gradient, the conjugate
// term E[Σₖ p′ₖ log p′ₖ] of a classifier's duality gap at each model's dual point (as
// dual_loss.wgsl does for one model). MODEL_GRAM makes the residual the logit: A·v for the
// power iteration of the step size.
// CPU twin: src/cpu/block.rs::block_rows (and kernels::dual_loss for mode DUAL).

struct BlockParams {
    n_rows: u32,
    d: u32,
    models: u32,
    outputs: u32,     // C: logits per model (1, or the classes of softmax)
    stride: u32,      // d + 1
    width: u32,       // models·C·stride sums, then models losses
    model: u32,       // MODEL_LINEAR | MODEL_LOGISTIC | MODEL_SOFTMAX | MODEL_GRAM
    mode: u32,        // MODE_GRADIENT | MODE_DUAL
    tile_rows: u32,
    groups: u32,      // workgroups of block_rows
    dual_stride: u32, // 3 + classes: a, b, keep, q₀.. per model
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: BlockParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // n_rows × d
@group(0) @binding(2) var<storage, read> y: array<f32>;            // n_rows
@group(0) @binding(3) var<storage, read> part_weight: array<f32>;  // parts × n_rows (ŵ, 0 held out)
@group(0) @binding(4) var<storage, read> model_part: array<u32>;   // models
@group(0) @binding(5) var<storage, read> dual: array<f32>;         // models × dual_stride
@group(0) @binding(6) var<storage, read> weights: array<f32>;      // models × C × stride
@group(0) @binding(7) var<storage, read_write> partials: array<f32>; // groups × width
@group(0) @binding(8) var<storage, read_write> total: array<f32>;    // width

var<workgroup> wg: array<f32, BLOCK_TILE_FLOATS>; // tile of X, residuals, losses

fn xlogx(v: f32) -> f32 {
    return select(0.0, v * log(v), v > 0.0);
}

// Row r's logits, residuals (in place at `at`) and loss (returned) for model m, unweighted.
fn row_model(r: u32, i: u32, m: u32, at: u32) -> f32 {
    let d = p.d;
    let c = p.outputs;
    let w_base = m * c * p.stride;
    for (var o = 0u; o < c; o++) {
        var z = weights[w_base + o * p.stride + d];
        for (var j = 0u; j < d; j++) {
            z += weights[w_base + o * p.stride + j] * wg[i * d + j];
        }
        wg[at + o] = z;
    }
    let t = y[r];
    if (p.model == MODEL_LINEAR) {
        let z = wg[at];
        wg[at] = z - t;
        return 0.5 * (z - t) * (z - t);
    }
    if (p.model == MODEL_LOGISTIC) {
        let z = wg[at];
        if (p.mode == MODE_DUAL) {
            let base = m * p.dual_stride;
            let one = select(0.0, 1.0, t == 1.0);
            let p1 = dual[base] * sigmoid(z) + dual[base + 1u] * dual[base + 4u] + dual[base + 2u] * one;
            let p0 = dual[base] * sigmoid(-z) + dual[base + 1u] * dual[base + 3u] + dual[base + 2u] * (1.0 - one);
            return xlogx(p0) + xlogx(p1);
        }
        // σ(z) − 1 = −σ(−z): no cancellation when σ(z) is close to the label.
        wg[at] = select(sigmoid(z), -sigmoid(-z), t == 1.0);
        return softplus(z) - t * z;
    }
    if (p.model == MODEL_SOFTMAX) {
        var z_max = wg[at];
        for (var o = 1u; o < c; o++) {
            z_max = max(z_max, wg[at + o]);
        }
        var exp_sum = 0.0;
        let label = min(u32(t), c - 1u);
        let z_label = wg[at + label];
        for (var o = 0u; o < c; o++) {
            let e = exp(wg[at + o] - z_max);
            wg[at + o] = e;
            exp_sum += e;
        }
        let inv = 1.0 / exp_sum;
        if (p.mode == MODE_DUAL) {
            let base = m * p.dual_stride;
            var term = 0.0;
            for (var o = 0u; o < c; o++) {
                let pv = dual[base] * wg[at + o] * inv + dual[base + 1u] * dual[base + 3u + o]
                    + dual[base + 2u] * select(0.0, 1.0, o == label);
                term += xlogx(pv);
            }
            return term;
        }
        // The label's p − 1 is written as −Σ_{k≠label} p_k: no cancellation when p ≈ 1.
        var others = 0.0;
        for (var o = 0u; o < c; o++) {
            let pv = wg[at + o] * inv;
            wg[at + o] = pv;
            others += select(pv, 0.0, o == label);
        }
        wg[at + label] = -others;
        return z_max + log(exp_sum) - z_label;
    }
    return 0.0; // MODEL_GRAM: the residual is the logit.
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn block_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let d = p.d;
    let mc = p.models * p.outputs;
    let tr = p.tile_rows;
    let resid_at = tr * d;
    let loss_at = resid_at + tr * mc;
    let sums = mc * p.stride;
    let out_base = wid.x * p.width;
    for (var k = lid; k < p.width; k += WORKGROUP_SIZE) {
        partials[out_base + k] = 0.0;
    }
    // The dual mode needs only the loss columns.
    let k0 = select(0u, sums, p.mode == MODE_DUAL);
    let n_tiles = (p.n_rows + tr - 1u) / tr;
    // Grid-stride over tiles; the bounds are uniform, so the barriers are too.
    for (var t = wid.x; t < n_tiles; t += p.groups) {
        let first = t * tr;
        let rows_here = min(tr, p.n_rows - first);
        // The only read of X: the tile's rows are consecutive, so this is one contiguous range.
        for (var k = lid; k < rows_here * d; k += WORKGROUP_SIZE) {
            wg[k] = x[first * d + k];
        }
        workgroupBarrier();
        for (var k = lid; k < rows_here * p.models; k += WORKGROUP_SIZE) {
            let i = k / p.models;
            let m = k - i * p.models;
            let r = first + i;
            let s = part_weight[model_part[m] * p.n_rows + r];
            let at = resid_at + (i * p.models + m) * p.outputs;
            if (s != 0.0) {
                let loss = row_model(r, i, m, at);
                for (var o = 0u; o < p.outputs; o++) {
                    wg[at + o] = wg[at + o] * s;
                }
                wg[loss_at + i * p.models + m] = loss * s;
            } else {
                // A held-out row: nothing computed, zeros written (workgroup memory is not
                // zero-initialized).
                for (var o = 0u; o < p.outputs; o++) {
                    wg[at + o] = 0.0;
                }
                wg[loss_at + i * p.models + m] = 0.0;
            }
        }
        workgroupBarrier();
        for (var k = k0 + lid; k < p.width; k += WORKGROUP_SIZE) {
            var acc = 0.0;
            if (k < sums) {
                let col = k / p.stride;
                let j = k - col * p.stride;
                if (j < d) {
                    for (var i = 0u; i < rows_here; i++) {
                        acc += wg[resid_at + i * mc + col] * wg[i * d + j];
                    }
                } else {
                    for (var i = 0u; i < rows_here; i++) {
                        acc += wg[resid_at + i * mc + col];
                    }
                }
            } else {
                let m = k - sums;
                for (var i = 0u; i < rows_here; i++) {
                    acc += wg[loss_at + i * p.models + m];
                }
            }
            partials[out_base + k] += acc;
        }
        workgroupBarrier();
    }
}

// total[k] = Σ over block_rows' workgroups of partials[g][k], in workgroup order.
@compute @workgroup_size(WORKGROUP_SIZE)
fn block_reduce(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    if (k >= p.width) {
        return;
    }
    var acc = 0.0;
    for (var g = 0u; g < p.groups; g++) {
        acc += partials[g * p.width + k];
    }
    total[k] = acc;
}
