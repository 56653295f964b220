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

/// The model behind `gen sparse`'s labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SparseModel {
    Linear,
    Logistic,
}

/// `gen sparse`: rows of X with power-law column frequencies (column of rank r is drawn with
/// probability ∝ 1/(r + 1), as words in text), standard normal values, and y from `informative`
/// nonzero true coefficients on frequent columns.
#[derive(Clone, Copy, Debug)]
pub struct SparseSpec {
    pub rows: usize,
    pub features: usize,
    /// Expected stored fraction of rows × features.
    pub density: f64,
    pub informative: usize,
    pub model: SparseModel,
    /// Standard deviation of the noise on a linear target.
    pub noise: f64,
    pub seed: u64,
}

/// The truth of a sparse set: its few nonzero coefficients by LIBSVM index (1-based), not d zeros.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparseTruth {
    pub model: SparseModel,
    pub features: usize,
    pub density: f64,
    /// (LIBSVM index, coefficient) of every nonzero true coefficient.
    pub coef: Vec<(u64, f64)>,
    pub intercept: f64,
    /// The stored entries of X.
    pub nnz: u64,
}

pub fn sparse(spec: &SparseSpec) -> Result<(Dataset, SparseTruth)> {
    use super::{Csr, Matrix, MAX_SPARSE_FEATURES};
    if spec.rows == 0 || spec.rows > u32::MAX as usize {
        return Err(Error::invalid(
            "rows",
            spec.rows,
            "must be in 1..=4294967295",
        ));
    }
    if spec.features == 0 || spec.features > MAX_SPARSE_FEATURES {
        return Err(Error::invalid(
            "features",
            spec.features,
            format!("must be in 1..={MAX_SPARSE_FEATURES}"),
        ));
    }
    if !(spec.density > 0.0 && spec.density <= 1.0) {
        return Err(Error::invalid("density", spec.density, "must be in (0, 1]"));
    }
    if spec.informative > spec.features {
        return Err(Error::invalid(
            "informative",
            spec.informative,
            format!("exceeds --features {}", spec.features),
        ));
    }
    if !(spec.noise.is_finite() && spec.noise >= 0.0) {
        return Err(Error::invalid(
            "noise",
            spec.noise,
            "must be a finite number ≥ 0",
        ));
    }
    let per_row = spec.density * spec.features as f64;
    let expected = per_row * spec.rows as f64;
    let available = super::available_memory().unwrap_or(u64::MAX) as f64;
    if expected * 8.0 > available / 2.0 {
        return Err(Error::invalid(
            "density",
            spec.density,
            format!(
                "{expected:.3e} stored values need {:.1} GB, more than half the memory available",
                expected * 8.0 / 1e9
            ),
        ));
    }
    let d = spec.features;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    // Column of rank r: a random permutation, so frequent columns are spread over the indices.
    let mut column_of_rank: Vec<u32> = (0..d as u32).collect();
    for r in (1..d).rev() {
        column_of_rank.swap(r, rng.random_range(0..=r));
    }
    let mut cdf = Vec::with_capacity(d);
    let mut total = 0.0f64;
    for r in 0..d {
        total += 1.0 / (r as f64 + 1.0);
        cdf.push(total);
    }
    // The informative columns among the most frequent 20·K, so they move y.
    let pool = (20 * spec.informative).clamp(spec.informative, d);
    let mut coef: Vec<(u64, f64)> = rand::seq::index::sample(&mut rng, pool, spec.informative)
        .into_iter()
        .map(|r| {
            let magnitude: f64 = rng.random_range(0.5..=2.0);
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            (column_of_rank[r] as u64 + 1, sign * magnitude)
        })
        .collect();
    coef.sort_by_key(|c| c.0);
    let intercept: f64 = match spec.model {
        SparseModel::Linear => rng.random_range(-2.0..=2.0),
        SparseModel::Logistic => rng.random_range(-0.5..=0.5),
    };
    let mut w = std::collections::HashMap::with_capacity(coef.len());
    for &(j, c) in &coef {
        w.insert(j as u32 - 1, c);
    }
    let count = rand_distr::Poisson::new(per_row.max(1e-9))
        .map_err(|e| Error::invalid("density", spec.density, e.to_string()))?;
    let mut indptr = Vec::with_capacity(spec.rows + 1);
    indptr.push(0u64);
    let mut indices: Vec<u32> = Vec::with_capacity(expected as usize + spec.rows);
    let mut values: Vec<f32> = Vec::with_capacity(expected as usize + spec.rows);
    let mut y = Vec::with_capacity(spec.rows);
    let mut row: Vec<u32> = Vec::new();
    for _ in 0..spec.rows {
        let k = (count.sample(&mut rng) as usize).min(d);
        row.clear();
        // Draws repeat frequent columns: top up (a few rounds) so the row has k distinct ones.
        for _ in 0..8 {
            for _ in row.len()..k {
                let u: f64 = rng.random_range(0.0..total);
                let r = cdf.partition_point(|&c| c <= u).min(d - 1);
                row.push(column_of_rank[r]);
            }
            row.sort_unstable();
            row.dedup();
            if row.len() >= k {
                break;
            }
        }
        let mut z = intercept;
        for &j in &row {
            let v: f64 = StandardNormal.sample(&mut rng);
            let v = v as f32;
            indices.push(j);
            values.push(v);
            if let Some(c) = w.get(&j) {
                z += c * v as f64;
            }
        }
        indptr.push(indices.len() as u64);
        let target = match spec.model {
            SparseModel::Linear => {
                let eps: f64 = StandardNormal.sample(&mut rng);
                z + spec.noise * eps
            }
            SparseModel::Logistic => {
                let p = 1.0 / (1.0 + (-z).exp());
                f64::from(u8::from(rng.random_bool(p.clamp(0.0, 1.0))))
            }
        };
        y.push(target as f32);
    }
    let source = format!(
        "gen sparse --rows {} --features {} --density {} --informative {} --model {} --seed {}",
        spec.rows,
        spec.features,
        spec.density,
        spec.informative,
        match spec.model {
            SparseModel::Linear => "linear",
            SparseModel::Logistic => "logistic",
        },
        spec.seed
    );
    let csr = Csr::new(
        spec.rows,
        d,
        indptr,
        indices,
        values,
        std::path::Path::new(&source),
    )?;
    let nnz = csr.nnz() as u64;
    let data = Dataset::from_matrix(Matrix::sparse(csr), Array1::from(y), &source)?;
    Ok((
        data,
        SparseTruth {
            model: spec.model,
            features: d,
            density: spec.density,
            coef,
            intercept,
            nnz,
        },
    ))
}
