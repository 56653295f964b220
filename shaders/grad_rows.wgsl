// The fused gradient kernel, one thread per row, built for one shape: D features and K outputs are
// compile-time constants (layout::shape_constants, prepended with the other constants), so the
// loops over features and outputs unroll and the row, its K logits and the K·(D + 1) sums stay in
// registers. Each thread reads its rows of X once, computes the logits and residuals, and adds
// r_k · [x, 1] into its sums; the workgroup then adds its threads' sums, chunk by chunk through
// workgroup memory, into its own row of `scratch`. No float atomics, XᵀX never formed.
// CPU twin: src/cpu/kernels.rs::grad_partials (objective::residuals), as for grad_partials.wgsl.
//
// row_sums and reduce_sums are shared with step_rows.wgsl (the single-dispatch step); one row's
// work, add_row, is in row_loops.wgsl or, unrolled for narrow shapes, from src/gpu/unroll.rs.

const STRIDE: u32 = D + 1u;
const WIDTH: u32 = K * STRIDE;
// Sums added per round of the workgroup reduction (+1 pads the rows against bank conflicts).
// Measured on lavapipe: 16 beats the whole width in one round (d = 16, one-workgroup step).
const CHUNK: u32 = 16u;

var<private> sums: array<f32, WIDTH>;
var<private> w_reg: array<f32, WIDTH>;
var<workgroup> wg_chunk: array<f32, WORKGROUP_SIZE * (CHUNK + 1u)>;
var<workgroup> wg_total: array<f32, WIDTH>;

// Residuals dloss/dz from the K logits, without cancellation (as grad_partials.wgsl), times the
// row's sample weight.
fn to_residuals(z: ptr<function, array<f32, K>>, target_value: f32, r: u32) {
    if (fit.model == MODEL_LINEAR) {
        (*z)[0] = (*z)[0] - target_value;
    } else if (fit.model == MODEL_LOGISTIC) {
        // σ(z) − 1 = −σ(−z): no cancellation when σ(z) is close to the label.
        let z0 = (*z)[0];
        (*z)[0] = select(sigmoid(z0), -sigmoid(-z0), target_value == 1.0);
    } else if (fit.model == MODEL_SOFTMAX) {
        var z_max = (*z)[0];
        for (var o = 1u; o < K; o++) {
            z_max = max(z_max, (*z)[o]);
        }
        var exp_sum = 0.0;
        for (var o = 0u; o < K; o++) {
            (*z)[o] = exp((*z)[o] - z_max);
            exp_sum += (*z)[o];
        }
        // The label's p − 1 is written as −Σ_{k≠label} p_k: no cancellation when p ≈ 1.
        let inv = 1.0 / exp_sum;
        var others = 0.0;
        for (var o = 0u; o < K; o++) {
            (*z)[o] = (*z)[o] * inv;
            others += select((*z)[o], 0.0, f32(o) == target_value);
        }
        let label = min(u32(target_value), K - 1u);
        (*z)[label] = -others;
    } // MODEL_GRAM: the residual is the logit.
    if ((fit.flags & FLAG_WEIGHTED) != 0u) {
        let s = row_weight[r];
        for (var o = 0u; o < K; o++) {
            (*z)[o] = (*z)[o] * s;
        }
    }
}

// This thread's sums over its rows of the dispatch: rows first + lid, first + lid + threads, ...
fn row_sums(first: u32, threads: u32) {
    for (var k = 0u; k < WIDTH; k++) {
        sums[k] = 0.0;
        w_reg[k] = weights[k];
    }
    for (var i = first; i < step.batch_rows; i += threads) {
        add_row(order[step.batch_start + i]);
    }
}

// Adds every thread's sums into wg_total, CHUNK sums per round, in a fixed order (thread 0 first).
// One loop over the sums, so that `sums` is indexed by the loop counter alone.
fn reduce_sums(lid: u32) {
    for (var k = 0u; k < WIDTH; k++) {
        let c = k % CHUNK;
        wg_chunk[lid * (CHUNK + 1u) + c] = sums[k];
        if (c == CHUNK - 1u || k == WIDTH - 1u) {
            workgroupBarrier();
            let c0 = k - c;
            if (lid <= c) {
                var total = 0.0;
                for (var s = 0u; s < WORKGROUP_SIZE; s++) {
                    total += wg_chunk[s * (CHUNK + 1u) + lid];
                }
                wg_total[c0 + lid] = total;
            }
            workgroupBarrier();
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_rows(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    row_sums(wid.x * WORKGROUP_SIZE + lid, step.num_partials * WORKGROUP_SIZE);
    reduce_sums(lid);
    let out_base = (step.partial_base + wid.x) * WIDTH;
    for (var k = lid; k < WIDTH; k += WORKGROUP_SIZE) {
        scratch[out_base + k] = wg_total[k];
    }
}
