// The residuals of a layer's inputs: δ_in[b, i] = (Σ_j δ[b, j]·W[j, i])·act′(a_in[b, i]), with
// act′ read from the input activations (relu′ = [a > 0], tanh′ = 1 − a²): mlp_common.wgsl's
// product with m = row, n = input, k = unit. Runs before the layer's update, so it reads this
// step's weights. CPU twin: src/cpu/mlp.rs::mlp_input_grad.

const P_ALONG_K: bool = true;  // δ is [row][unit]
const Q_ALONG_K: bool = false; // W is [unit][input]

fn load_p(k: u32, m: u32) -> f32 {
    if (m < p.rows && k < p.outputs) {
        return work[p.delta_offset + m * p.outputs + k];
    }
    return 0.0;
}

fn load_q(k: u32, n: u32) -> f32 {
    if (k < p.outputs && n < p.inputs) {
        return state[p.w_offset + k * (p.inputs + 1u) + n];
    }
    return 0.0;
}

@compute @workgroup_size(16, 16)
fn mlp_input_grad(@builtin(local_invocation_id) lid: vec3<u32>,
                  @builtin(workgroup_id) wg: vec3<u32>) {
    let acc = product(lid, wg, 0u, p.outputs);
    for (var r = 0u; r < PER; r++) {
        let b = tile_m(lid, wg, r);
        for (var c = 0u; c < PER; c++) {
            let i = tile_n(lid, wg, c);
            if (b < p.rows && i < p.inputs) {
                let a = work[p.in_offset + b * p.inputs + i];
                var slope = select(0.0, 1.0, a > 0.0);
                if ((p.flags & MLP_TANH) != 0u) {
                    slope = 1.0 - a * a;
                }
                work[p.out_offset + b * p.inputs + i] = acc[r * PER + c] * slope;
            }
        }
    }
}
