// Forward through one dense layer: A_out[b, j] = act(Σ_i A_in[b, i]·W[j, i] + b_j) for the rows
// of a batch (the last layer writes logits, no activation): mlp_common.wgsl's product with
// m = row, n = unit, k = input. CPU twin: src/cpu/mlp.rs::mlp_forward.

const P_ALONG_K: bool = true; // A_in is [row][input]
const Q_ALONG_K: bool = true; // W is [unit][input]

fn load_p(k: u32, m: u32) -> f32 {
    if (m < p.rows && k < p.inputs) {
        return layer_input(m, k);
    }
    return 0.0;
}

fn load_q(k: u32, n: u32) -> f32 {
    if (n < p.outputs && k < p.inputs) {
        return state[p.w_offset + n * (p.inputs + 1u) + k];
    }
    return 0.0;
}

fn activate(z: f32) -> f32 {
    if ((p.flags & MLP_TANH) != 0u) {
        return tanh(z);
    }
    return max(z, 0.0);
}

@compute @workgroup_size(16, 16)
fn mlp_forward(@builtin(local_invocation_id) lid: vec3<u32>,
               @builtin(workgroup_id) wg: vec3<u32>) {
    let acc = product(lid, wg, 0u, p.inputs);
    let stride = p.inputs + 1u;
    for (var r = 0u; r < PER; r++) {
        let b = tile_m(lid, wg, r);
        for (var c = 0u; c < PER; c++) {
            let j = tile_n(lid, wg, c);
            if (b < p.rows && j < p.outputs) {
                var z = acc[r * PER + c] + state[p.w_offset + j * stride + p.inputs];
                if ((p.flags & MLP_ACTIVATE) != 0u) {
                    z = activate(z);
                }
                work[p.out_offset + b * p.outputs + j] = z;
            }
        }
    }
}
