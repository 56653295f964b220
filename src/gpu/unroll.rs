//! The one-row-per-thread kernels' per-row work, `add_row` and `read_row`, fully unrolled for one
//! shape: the same statements as shaders/row_loops.wgsl in the same order, with every index a
//! constant. Measured on lavapipe (BENCHMARKS.md, "kernel efficiency"): at 200000 × 128 the
//! unrolled row takes two thirds of the looped one's time, since a CPU adapter keeps arrays
//! indexed at run time in memory; it also keeps llvmpipe's per-invocation loop count (see
//! [`super::layout::loop_iterations`]) independent of d, so fewer, longer workgroups suffice.

use std::fmt::Write;

/// WGSL for `add_row` and `read_row` over D = `features`, K = `outputs`, fully unrolled.
pub fn unrolled_rows(features: usize, outputs: usize) -> String {
    let (d, k) = (features.max(1), outputs.max(1));
    let stride = d + 1;
    let mut s = String::with_capacity(64 * d * (k + 2));
    s.push_str(
        "// add_row and read_row of shaders/row_loops.wgsl, unrolled by src/gpu/unroll.rs.\n\
         fn add_row(r: u32) {\n    let base = r * D;\n",
    );
    for j in 0..d {
        let _ = writeln!(s, "    let x{j} = x[base + {j}u];");
    }
    s.push_str("    var z: array<f32, K>;\n");
    for o in 0..k {
        let _ = writeln!(s, "    z[{o}u] = w_reg[{}u];", o * stride + d);
    }
    for j in 0..d {
        for o in 0..k {
            let _ = writeln!(s, "    z[{o}u] += w_reg[{}u] * x{j};", o * stride + j);
        }
    }
    s.push_str("    to_residuals(&z, y[r], r);\n");
    for o in 0..k {
        let _ = writeln!(s, "    let z{o} = z[{o}u];");
        for j in 0..d {
            let _ = writeln!(s, "    sums[{}u] += z{o} * x{j};", o * stride + j);
        }
        let _ = writeln!(s, "    sums[{}u] += z{o};", o * stride + d);
    }
    s.push_str("}\n\nfn read_row(r: u32) -> f32 {\n    let base = r * D;\n    var acc = 0.0;\n");
    for j in 0..d {
        let _ = writeln!(s, "    acc += x[base + {j}u];");
    }
    s.push_str("    return acc;\n}\n");
    s
}
