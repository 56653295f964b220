//! Synthetic data with a known truth, seeded so every run and every device sees the same numbers.

use super::Dataset;
use crate::error::{Error, Result};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The true model behind a generated dataset, written to `FILE.truth.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub coef: Vec<f64>,
    pub intercept: f64,
}

#[derive(Clone, Copy, Debug)]
pub struct LinearSpec {
    pub rows: usize,
    pub features: usize,
    pub informative: usize,
    pub noise: f64,
    pub seed: u64,
}

impl LinearSpec {
    /// The built-in problem that `fit` and `compare` use when no `--data` is given.
    pub const BUILTIN: LinearSpec = LinearSpec {
        rows: 20_000,
        features: 32,
        informative: 8,
        noise: 1.0,
        seed: 0,
    };
}

/// y = X·w* + b* + noise, X standard normal, exactly `informative` nonzero coefficients of magnitude
/// in [1, 5] with random signs, b* uniform in [-2, 2], noise ~ N(0, σ²).
pub fn linear(spec: &LinearSpec) -> Result<(Dataset, Truth)> {
    if spec.rows == 0 {
        return Err(Error::invalid("rows", 0, "must be at least 1"));
    }
    if spec.features == 0 {
        return Err(Error::invalid("features", 0, "must be at least 1"));
    }
    if spec.informative > spec.features {
        return Err(Error::invalid(
            "informative",
            spec.informative,
            format!("cannot exceed --features {}", spec.features),
        ));
    }
    if !(spec.noise.is_finite() && spec.noise >= 0.0) {
        return Err(Error::invalid(
            "noise",
            spec.noise,
            "must be a finite number ≥ 0",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut coef = vec![0.0f64; spec.features];
    for j in rand::seq::index::sample(&mut rng, spec.features, spec.informative) {
        let magnitude: f64 = rng.random_range(1.0..=5.0);
        coef[j] = if rng.random_bool(0.5) {
            magnitude
        } else {
            -magnitude
        };
    }
    let intercept: f64 = rng.random_range(-2.0..=2.0);
    let mut x = Array2::<f32>::zeros((spec.rows, spec.features));
    let mut y = Array1::<f32>::zeros(spec.rows);
    for (mut row, target) in x.rows_mut().into_iter().zip(y.iter_mut()) {
        let mut z = intercept;
        for (v, w) in row.iter_mut().zip(&coef) {
            let value: f64 = StandardNormal.sample(&mut rng);
            *v = value as f32;
            z += *v as f64 * w;
        }
        let eps: f64 = StandardNormal.sample(&mut rng);
        *target = (z + spec.noise * eps) as f32;
    }
    let source = format!(
        "gen linear --rows {} --features {} --informative {} --noise {} --seed {}",
        spec.rows, spec.features, spec.informative, spec.noise, spec.seed
    );
    Ok((Dataset::new(x, y, &source)?, Truth { coef, intercept }))
}
