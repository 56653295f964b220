// The summed data gradient as plain f32, for the kernels after the residual passes
// (sparse_gather adds to it; sparse_update and sparse_apg read and zero it).

@group(0) @binding(4) var<storage, read_write> grad: array<f32>;

// Weight k's summed data gradient for this step, leaving 0 behind for the next: a coefficient's
// from `grad`, a bias's (output o) as the sum of the step's n_parts workgroup residual sums.
fn take_gradient(k: u32, o: u32, is_bias: bool) -> f32 {
    if (is_bias) {
        var g = 0.0;
        for (var q = 0u; q < p.n_parts; q++) {
            g += work[p.part_base + q * p.n_outputs + o];
        }
        return g;
    }
    let g = grad[k];
    grad[k] = 0.0;
    return g;
}
