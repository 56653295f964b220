// The matrix kernels (mlp_forward, mlp_input_grad, mlp_weight_grad) each compute a product
// C[m][n] = Σ_k P(k, m)·Q(k, n) over k in [k_first, k_end), with P and Q read through the
// kernel's own load_p and load_q (0 outside the operands), 4 × 4 values of C per thread:
// - TILE_WIDE: a 64 × 64 tile of C per workgroup of 16 × 16 threads, k walked 16 at a time
//   through workgroup tiles of P and Q;
// - TILE_NARROW_N (N ≤ 4) and TILE_NARROW_M (M ≤ 4): 1024 × 4 (or 4 × 1024) per workgroup, each
//   thread reading its operands straight from memory: no tile of a 4-wide operand is worth its
//   barriers, and a 64-wide one would be 94% padding.
const BLOCK: u32 = 64u; // tile side
const DEPTH: u32 = 16u; // reduced values per round
const PER: u32 = 4u;    // values per thread per side

var<workgroup> p_tile: array<f32, 1024>; // [k][m]
var<workgroup> q_tile: array<f32, 1024>; // [k][n]

// Row r (0..4) of this thread's block of C: its m.
fn tile_m(lid: vec3<u32>, wg: vec3<u32>, r: u32) -> u32 {
    let t = lid.y * 16u + lid.x;
    switch p.tile_mode {
        case TILE_NARROW_N: { return wg.y * 1024u + t * PER + r; }
        case TILE_NARROW_M: { return r; }
        default: { return wg.y * BLOCK + lid.y * PER + r; }
    }
}

// Column c (0..4) of this thread's block of C: its n.
fn tile_n(lid: vec3<u32>, wg: vec3<u32>, c: u32) -> u32 {
    let t = lid.y * 16u + lid.x;
    switch p.tile_mode {
        case TILE_NARROW_N: { return c; }
        case TILE_NARROW_M: { return wg.x * 1024u + t * PER + c; }
        default: { return wg.x * BLOCK + lid.x * PER + c; }
    }
}

fn product(lid: vec3<u32>, wg: vec3<u32>, k_first: u32, k_end: u32) -> array<f32, 16> {
    var acc: array<f32, 16>;
    if (p.tile_mode != TILE_WIDE) {
        var m: array<u32, 4>;
        var n: array<u32, 4>;
        for (var r = 0u; r < PER; r++) {
            m[r] = tile_m(lid, wg, r);
            n[r] = tile_n(lid, wg, r);
        }
        for (var k = k_first; k < k_end; k++) {
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
        return acc;
    }
    let t = lid.y * 16u + lid.x;
    let m0 = wg.y * BLOCK;
    let n0 = wg.x * BLOCK;
    for (var k0 = k_first; k0 < k_end; k0 += DEPTH) {
        let depth = min(DEPTH, k_end - k0);
        for (var e = t; e < BLOCK * DEPTH; e += 256u) {
            // Along k or along m/n, whichever the operand keeps contiguous.
            var k = e / BLOCK;
            var i = e % BLOCK;
            if (P_ALONG_K) {
                k = e % DEPTH;
                i = e / DEPTH;
            }
            p_tile[k * BLOCK + i] = select(0.0, load_p(k0 + k, m0 + i), k < depth);
            k = e / BLOCK;
            i = e % BLOCK;
            if (Q_ALONG_K) {
                k = e % DEPTH;
                i = e / DEPTH;
            }
            q_tile[k * BLOCK + i] = select(0.0, load_q(k0 + k, n0 + i), k < depth);
        }
        workgroupBarrier();
        for (var k = 0u; k < depth; k++) {
            var a: array<f32, 4>;
            var q: array<f32, 4>;
            for (var r = 0u; r < PER; r++) {
                a[r] = p_tile[k * BLOCK + lid.y * PER + r];
                q[r] = q_tile[k * BLOCK + lid.x * PER + r];
            }
            for (var r = 0u; r < PER; r++) {
                for (var c = 0u; c < PER; c++) {
                    acc[r * PER + c] += a[r] * q[c];
                }
            }
        }
        workgroupBarrier();
    }
    return acc;
}
