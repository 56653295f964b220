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

/// The classic spiral: `points` points per class on `classes` interleaved arms, 2 features.
#[derive(Clone, Copy, Debug)]
pub struct SpiralSpec {
    pub points: usize,
    pub classes: usize,
    pub noise: f64,
    pub seed: u64,
}

impl SpiralSpec {
    /// The walkthrough's data: 2 000 points on each of 3 arms, angle noise 0.2.
    pub const WALKTHROUGH: SpiralSpec = SpiralSpec {
        points: 2000,
        classes: 3,
        noise: 0.2,
        seed: 0,
    };
}

fn class_labels(classes: usize) -> Vec<super::Label> {
    (0..classes as i64).map(super::Label::Int).collect()
}

/// Arm k: radius r = i/(P−1) from 0 to 1, angle t = 4k + 4r + N(0, σ²); x = (r·sin t, r·cos t).
/// Rows are ordered by class. Linear models separate the arms poorly, which is the point.
pub fn spiral(spec: &SpiralSpec) -> Result<Dataset> {
    if spec.points < 2 {
        return Err(Error::invalid("points", spec.points, "must be at least 2"));
    }
    if spec.classes < 2 {
        return Err(Error::invalid(
            "classes",
            spec.classes,
            "must be at least 2",
        ));
    }
    if !(spec.noise.is_finite() && spec.noise >= 0.0) {
        return Err(Error::invalid(
            "noise",
            spec.noise,
            "must be a finite number ≥ 0",
        ));
    }
    let n = spec.points * spec.classes;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut x = Array2::<f32>::zeros((n, 2));
    let mut y = Array1::<f32>::zeros(n);
    for k in 0..spec.classes {
        for i in 0..spec.points {
            let row = k * spec.points + i;
            let r = i as f64 / (spec.points - 1) as f64;
            let eps: f64 = StandardNormal.sample(&mut rng);
            let t = 4.0 * k as f64 + 4.0 * r + spec.noise * eps;
            x[[row, 0]] = (r * t.sin()) as f32;
            x[[row, 1]] = (r * t.cos()) as f32;
            y[row] = k as f32;
        }
    }
    let source = format!(
        "gen spiral --points {} --classes {} --noise {} --seed {}",
        spec.points, spec.classes, spec.noise, spec.seed
    );
    let mut data = Dataset::new(x, y, &source)?;
    data.classes = Some(class_labels(spec.classes));
    Ok(data)
}

/// Gaussian clusters whose class depends on `informative` features only.
#[derive(Clone, Copy, Debug)]
pub struct ClassificationSpec {
    pub rows: usize,
    pub features: usize,
    pub informative: usize,
    pub classes: usize,
    /// Spread of the class centres (standard deviation of each centre coordinate).
    pub separation: f64,
    pub seed: u64,
}

impl ClassificationSpec {
    /// The built-in problem of `fit --model logistic|softmax` without --data.
    pub fn builtin(classes: usize) -> Self {
        ClassificationSpec {
            rows: 20_000,
            features: 32,
            informative: 8,
            classes,
            separation: 1.0,
            seed: 0,
        }
    }
}

/// The truth behind `gen classification`, written to `FILE.truth.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationTruth {
    /// The informative columns, ascending.
    pub informative: Vec<usize>,
    /// centres[k][i]: class k's mean in informative column `informative[i]`.
    pub centres: Vec<Vec<f64>>,
}

/// Each row's class is uniform over K; its informative features are the class centre plus
/// N(0, 1) noise, every other feature is N(0, 1) noise independent of the class. Centre
/// coordinates are N(0, separation²).
pub fn classification(spec: &ClassificationSpec) -> Result<(Dataset, ClassificationTruth)> {
    if spec.rows == 0 {
        return Err(Error::invalid("rows", 0, "must be at least 1"));
    }
    if spec.features == 0 {
        return Err(Error::invalid("features", 0, "must be at least 1"));
    }
    if spec.informative == 0 || spec.informative > spec.features {
        return Err(Error::invalid(
            "informative",
            spec.informative,
            format!("must lie in 1..={}", spec.features),
        ));
    }
    if spec.classes < 2 {
        return Err(Error::invalid(
            "classes",
            spec.classes,
            "must be at least 2",
        ));
    }
    if !(spec.separation.is_finite() && spec.separation > 0.0) {
        return Err(Error::invalid(
            "separation",
            spec.separation,
            "must be a finite number > 0",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut informative: Vec<usize> =
        rand::seq::index::sample(&mut rng, spec.features, spec.informative).into_vec();
    informative.sort_unstable();
    let centres: Vec<Vec<f64>> = (0..spec.classes)
        .map(|_| {
            (0..spec.informative)
                .map(|_| {
                    let v: f64 = StandardNormal.sample(&mut rng);
                    spec.separation * v
                })
                .collect()
        })
        .collect();
    let mut x = Array2::<f32>::zeros((spec.rows, spec.features));
    let mut y = Array1::<f32>::zeros(spec.rows);
    for (mut row, target) in x.rows_mut().into_iter().zip(y.iter_mut()) {
        let k = rng.random_range(0..spec.classes);
        *target = k as f32;
        for v in row.iter_mut() {
            let noise: f64 = StandardNormal.sample(&mut rng);
            *v = noise as f32;
        }
        for (i, &j) in informative.iter().enumerate() {
            row[j] += centres[k][i] as f32;
        }
    }
    let source = format!(
        "gen classification --rows {} --features {} --informative {} --classes {} --separation {} --seed {}",
        spec.rows, spec.features, spec.informative, spec.classes, spec.separation, spec.seed
    );
    let mut data = Dataset::new(x, y, &source)?;
    data.classes = Some(class_labels(spec.classes));
    Ok((
        data,
        ClassificationTruth {
            informative,
            centres,
        },
    ))
}
