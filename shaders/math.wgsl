// Numerically safe functions shared by every kernel (prepended after the generated constants).

// 1 / (1 + e^-z) without overflow for large |z|. CPU twin: objective::sigmoid.
fn sigmoid(z: f32) -> f32 {
    let e = exp(-abs(z));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}

// log(1 + e^z) without overflow for large |z|. CPU twin: objective::softplus.
fn softplus(z: f32) -> f32 {
    return max(z, 0.0) + log(1.0 + exp(-abs(z)));
}
