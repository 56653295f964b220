// The fused gradient kernel: each workgroup takes tiles of the minibatch, loads each selected row
// of X once into workgroup memory (coalesced), computes the rows' residuals from the tile, and
// accumulates r_i * [x_i, 1] into its own row of `scratch`. No float atomics, XᵀX never formed.
// CPU twin: src/cpu/kernels.rs::grad_partials.

var<workgroup> tile: array<f32, TILE_FLOATS>;                 // tile_rows × d
var<workgroup> tile_resid: array<f32, MAX_TILE_ROWS>;         // tile_rows × K (K = 1 for now)
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
    let out_base = group * width;

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

        // One thread per (row, output): z = x·w_o + b_o, then the residual.
        for (var k = lid; k < rows_here * k_out; k += WORKGROUP_SIZE) {
            let i = k / k_out;
            let o = k - i * k_out;
            let w_base = o * stride;
            var z = weights[w_base + d];
            for (var j = 0u; j < d; j++) {
                z += weights[w_base + j] * tile[i * d + j];
            }
            tile_resid[k] = residual(z, y[tile_index[i]]);
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
