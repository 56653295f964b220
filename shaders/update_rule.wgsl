// The update rule of one weight, shared by update.wgsl (linear models) and mlp_update.wgsl (each
// parameter tensor of a network). CPU twin: src/cpu/kernels.rs::update_tensor.
//
// Each weight is kept as an unevaluated sum hi + lo of two f32: near the optimum a step is often
// smaller than half an ulp of w, and a plain f32 weight would stop moving there, short of the
// optimum by up to ~1e-7·|w|/curvature.

// a + b = s + e exactly (Knuth's TwoSum).
fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    return vec2<f32>(s, e);
}

// One step of weight (w, w_lo) with velocity v and data gradient g_data: adds 2·l2·w (and
// l1·sign(w) unless the l1 step is proximal), takes w + μ·v − lr·g and, for prox, the
// soft-threshold. Returns (hi, lo, velocity); the velocity is the displacement actually taken, so
// with prox the fixed point is the exact optimum (proximal heavy ball).
fn update_rule(w: f32, w_lo: f32, v: f32, g_data: f32, l1: f32, l2: f32, lr: f32, mu: f32,
               prox: bool, use_momentum: bool) -> vec3<f32> {
    var g = g_data;
    g += 2.0 * l2 * w;
    if (!prox) {
        g += l1 * sign(w); // sign(0) = 0
    }
    var delta = -lr * g;
    if (use_momentum) {
        delta += mu * v;
    }
    var sum = two_sum(w, w_lo + delta);
    if (prox) {
        // Shrink |w| by lr·l1, or to 0 when it would cross zero.
        let s = sign(sum.x);
        let shrunk = two_sum(sum.x, -s * lr * l1);
        sum = two_sum(shrunk.x, shrunk.y + sum.y);
        if (sign(sum.x) != s) {
            sum = vec2<f32>(0.0, 0.0);
        }
    }
    var v_new = v;
    if (use_momentum) {
        v_new = (sum.x - w) + (sum.y - w_lo);
    }
    return vec3<f32>(sum.x, sum.y, v_new);
}
