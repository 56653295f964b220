//! z-scoring of features, as glmnet does with `standardize = TRUE`: the fit runs on (x − mean)/std
//! and the coefficients are mapped back to the original scale afterwards.

use super::Dataset;
use crate::weights::Weights;

#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    /// Population standard deviation; 0 marks a constant column (left at 0, coefficient 0).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Computes column means and standard deviations in f64 and rescales X in place. Sparse X is
    /// only scaled (mean kept at 0: centering would fill every zero); with an unpenalized
    /// intercept the fitted coefficients are the same, the intercept absorbs the means.
    pub fn fit_transform(data: &mut Dataset) -> Self {
        let n = data.n_rows() as f64;
        let d = data.n_features();
        if let Some(csr) = data.x.csr() {
            let (mut sum, mut sq) = (vec![0.0f64; d], vec![0.0f64; d]);
            for (&j, &v) in csr.indices().iter().zip(csr.values()) {
                sum[j as usize] += v as f64;
                sq[j as usize] += v as f64 * v as f64;
            }
            let std = sum
                .iter()
                .zip(&sq)
                .map(|(s, q)| {
                    let mean = s / n;
                    let sd = (q / n - mean * mean).max(0.0).sqrt();
                    if sd <= 1e-12 * mean.abs().max(1.0) {
                        0.0
                    } else {
                        sd
                    }
                })
                .collect();
            let standardizer = Standardizer {
                mean: vec![0.0; d],
                std,
            };
            standardizer.transform(data);
            return standardizer;
        }
        let mut mean = vec![0.0f64; d];
        let mut sq = vec![0.0f64; d];
        for row in data.x.view().rows() {
            for (j, &v) in row.iter().enumerate() {
                mean[j] += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        for row in data.x.view().rows() {
            for (j, &v) in row.iter().enumerate() {
                let c = v as f64 - mean[j];
                sq[j] += c * c;
            }
        }
        let std: Vec<f64> = sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let sd = (s / n).sqrt();
                // Relative test: a column whose spread is rounding noise counts as constant.
                if sd <= 1e-12 * m.abs().max(1.0) {
                    0.0
                } else {
                    sd
                }
            })
            .collect();
        let standardizer = Standardizer { mean, std };
        standardizer.transform(data);
        standardizer
    }

    /// Names of constant columns, for the warning.
    pub fn constant_columns<'a>(&self, names: &'a [String]) -> Vec<&'a str> {
        self.std
            .iter()
            .zip(names)
            .filter(|(s, _)| **s == 0.0)
            .map(|(_, n)| n.as_str())
            .collect()
    }

    /// Applies this scaling (learned on the training rows) to another dataset, e.g. validation.
    pub fn transform(&self, data: &mut Dataset) {
        if let Some(csr) = data.x.csr_mut() {
            // Scaling only (the mean is 0 for sparse data, see fit_transform).
            let indices = csr.indices().to_vec();
            for (v, j) in csr.values_mut().iter_mut().zip(indices) {
                let (m, s) = (self.mean[j as usize], self.std[j as usize]);
                *v = if s == 0.0 {
                    0.0
                } else {
                    ((*v as f64 - m) / s) as f32
                };
            }
            return;
        }
        for mut row in data.x.to_mut().rows_mut() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = if self.std[j] == 0.0 {
                    0.0
                } else {
                    ((*v as f64 - self.mean[j]) / self.std[j]) as f32
                };
            }
        }
    }

    /// Maps weights fitted on standardized X back to the original scale, output by output:
    /// w ← w/s, b ← b − Σ w·m/s (a network: its first layer, the one that reads X).
    pub fn unscale(&self, fitted: &Weights) -> Weights {
        let mut out = fitted.clone();
        let d = fitted.features;
        let rows = fitted.layers()[0].outputs;
        for k in 0..rows {
            let row = &mut out.values[k * (d + 1)..(k + 1) * (d + 1)];
            let mut b = row[d];
            for ((w, m), s) in row[..d].iter_mut().zip(&self.mean).zip(&self.std) {
                if *s == 0.0 {
                    *w = 0.0;
                } else {
                    b -= *w * m / s;
                    *w /= s;
                }
            }
            row[d] = b;
        }
        out
    }
}
