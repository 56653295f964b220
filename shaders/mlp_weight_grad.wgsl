// One layer's weight gradient: G[j, i] = Σ_b δ[b, j]·A_in[b, i] (i = inputs: the bias, input 1):
// mlp_common.wgsl's product with m = unit, n = input, k = row. The batch's rows are cut into
// `splits` ranges (the z dimension of the dispatch), each writing its own partial gradient, which
// mlp_update adds up: enough workgroups to fill a GPU, no atomics.
// CPU twin: src/cpu/mlp.rs::mlp_weight_grad.

const P_ALONG_K: bool = false; // δ is [row][unit]
const Q_ALONG_K: bool = false; // A_in is [row][input]

fn load_p(k: u32, m: u32) -> f32 {
    if (k < p.rows && m < p.outputs) {
        return work[p.delta_offset + k * p.outputs + m];
    }
    return 0.0;
}

fn load_q(k: u32, n: u32) -> f32 {
    if (k >= p.rows || n > p.inputs) {
        return 0.0;
    }
    if (n == p.inputs) {
        return 1.0;
    }
    return layer_input(k, n);
}

@compute @workgroup_size(16, 16)
fn mlp_weight_grad(@builtin(local_invocation_id) lid: vec3<u32>,
                   @builtin(workgroup_id) wg: vec3<u32>) {
    let stride = p.inputs + 1u;
    if (p.tile_mode == TILE_WIDE) {
        let first = wg.z * p.rows_per_split;
        let end = min(first + p.rows_per_split, p.rows);
        let acc = product(lid, wg, first, end);
        let base = 3u * p.n_params + wg.z * p.n_params + p.w_offset;
        for (var r = 0u; r < PER; r++) {
            let j = tile_m(lid, wg, r);
            for (var c = 0u; c < PER; c++) {
                let i = tile_n(lid, wg, c);
                if (j < p.outputs && i <= p.inputs) {
                    state[base + j * stride + i] = acc[r * PER + c];
                }
            }
        }
        return;
    }
    // Narrow (4 units, or 4 inputs with the bias): a 4-wide block of G per thread leaves most
    // of a workgroup idle, so its threads take different row splits, `sub_lanes` threads each.
    let t = lid.y * 16u + lid.x;
    let lane = t % p.sub_lanes;
    let split = wg.z * (256u / p.sub_lanes) + t / p.sub_lanes;
    if (split >= p.splits) {
        return;
    }
    let first = split * p.rows_per_split;
    let end = min(first + p.rows_per_split, p.rows);
    var m: array<u32, 4>;
    var n: array<u32, 4>;
    for (var r = 0u; r < PER; r++) {
        if (p.tile_mode == TILE_NARROW_N) {
            m[r] = (wg.y * p.sub_lanes + lane) * PER + r;
            n[r] = r;
        } else {
            m[r] = r;
            n[r] = (wg.x * p.sub_lanes + lane) * PER + r;
        }
    }
    var acc: array<f32, 16>;
    for (var k = first; k < end; k++) {
        var a: array<f32, 4>;
        var q: array<f32, 4>;
        for (var r = 0u; r < PER; r++) {
            a[r] = load_p(k, m[r]);
            q[r] = load_q(k, n[r]);
        }
        for (var r = 0u; r < PER; r++) {
            for (var c = 0u; c < PER; c++) {
                acc[r * PER + c] += a[r] * q[c];
            }
        }
    }
    let base = 3u * p.n_params + split * p.n_params + p.w_offset;
    for (var r = 0u; r < PER; r++) {
        for (var c = 0u; c < PER; c++) {
            if (m[r] < p.outputs && n[c] <= p.inputs) {
                state[base + m[r] * stride + n[c]] = acc[r * PER + c];
            }
        }
    }
}
