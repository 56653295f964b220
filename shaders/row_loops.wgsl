// One row's work for the one-row-per-thread kernels, written with loops: add_row (grad_rows.wgsl,
// step_rows.wgsl) and read_row (read_rows.wgsl). For narrow shapes the same statements come fully
// unrolled from src/gpu/unroll.rs instead (layout::unrolls_rows): with every index a constant, the
// row, the weights and the sums stay in registers rather than arrays indexed at run time, and
// llvmpipe's per-invocation loop count (see layout::loop_iterations) no longer grows with d.
// CPU twin: src/cpu/kernels.rs::grad_partials (objective::residuals).

// Adds row r's K residuals times [x, 1] into this thread's sums.
fn add_row(r: u32) {
    // The only read of X, each feature going into the K logits as it arrives.
    var row: array<f32, D>;
    var z: array<f32, K>;
    for (var o = 0u; o < K; o++) {
        z[o] = w_reg[o * STRIDE + D];
    }
    for (var j = 0u; j < D; j++) {
        let v = x[r * D + j];
        row[j] = v;
        for (var o = 0u; o < K; o++) {
            z[o] += w_reg[o * STRIDE + j] * v;
        }
    }
    to_residuals(&z, y[r], r);
    for (var o = 0u; o < K; o++) {
        for (var j = 0u; j < D; j++) {
            sums[o * STRIDE + j] += z[o] * row[j];
        }
        sums[o * STRIDE + D] += z[o];
    }
}

// The sum of row r's features: the roofline's read of the same bytes.
fn read_row(r: u32) -> f32 {
    var acc = 0.0;
    for (var j = 0u; j < D; j++) {
        acc += x[r * D + j];
    }
    return acc;
}
