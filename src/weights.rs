//! The weights of a fitted model: a K × (d + 1) matrix, row k = [w_k0 .. w_k(d−1), b_k], laid out
//! exactly as the GPU's `weights` buffer. Linear and logistic regression have K = 1; softmax has one
//! row per class. A network ([`crate::network`]) keeps its layers one after another in `values`,
//! each in this same layout, with `net` giving the hidden widths.

use crate::network::{self, Layer, Net};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// K, the number of outputs.
    pub outputs: usize,
    /// d, the number of features.
    pub features: usize,
    /// K × (d + 1), row-major (a network: every layer's matrix, first layer first).
    pub values: Vec<f64>,
    /// The hidden layers, for a network; `None` for a linear model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<Net>,
}

impl Weights {
    pub fn zeros(outputs: usize, features: usize) -> Self {
        Weights {
            outputs,
            features,
            values: vec![0.0; outputs * (features + 1)],
            net: None,
        }
    }

    /// The zero weights of a network d → hidden… → K.
    pub fn zeros_net(net: Net, features: usize, outputs: usize) -> Self {
        let len = network::layers(features, &net.hidden, outputs)
            .iter()
            .map(Layer::len)
            .sum();
        Weights {
            outputs,
            features,
            values: vec![0.0; len],
            net: Some(net),
        }
    }

    /// The same shape (network or not) with these values (as read back from a device).
    pub fn with_values(&self, values: Vec<f64>) -> Self {
        debug_assert_eq!(values.len(), self.values.len());
        Weights {
            values,
            ..self.clone()
        }
    }

    /// The dense layers: one (d → K) for a linear model.
    pub fn layers(&self) -> Vec<Layer> {
        match &self.net {
            Some(net) => network::layers(self.features, &net.hidden, self.outputs),
            None => network::layers(self.features, &[], self.outputs),
        }
    }

    pub fn is_network(&self) -> bool {
        self.net.is_some()
    }

    /// Wraps a K × (d + 1) row-major vector (as read back from a device).
    pub fn from_values(outputs: usize, features: usize, values: Vec<f64>) -> Self {
        debug_assert_eq!(values.len(), outputs * (features + 1));
        Weights {
            outputs,
            features,
            values,
            net: None,
        }
    }

    /// Builds the matrix from K coefficient rows and K intercepts.
    pub fn from_parts(coef: &[Vec<f64>], intercept: &[f64]) -> Self {
        let features = coef.first().map_or(0, Vec::len);
        let mut values = Vec::with_capacity(coef.len() * (features + 1));
        for (row, b) in coef.iter().zip(intercept) {
            values.extend_from_slice(row);
            values.push(*b);
        }
        Weights {
            outputs: coef.len(),
            features,
            values,
            net: None,
        }
    }

    pub fn stride(&self) -> usize {
        self.features + 1
    }

    /// Row k: [w_k, b_k] (of a linear model).
    pub fn row(&self, k: usize) -> &[f64] {
        &self.values[k * self.stride()..(k + 1) * self.stride()]
    }

    pub fn coef(&self, k: usize) -> &[f64] {
        &self.row(k)[..self.features]
    }

    pub fn intercept(&self, k: usize) -> f64 {
        self.row(k)[self.features]
    }

    /// Every coefficient (no intercepts), row by row (a network: layer by layer).
    pub fn all_coef(&self) -> impl Iterator<Item = f64> + '_ {
        self.layers().into_iter().flat_map(move |l| {
            self.values[l.range()]
                .chunks_exact(l.stride())
                .flat_map(move |row| row[..l.inputs].iter().copied())
        })
    }

    /// The intercepts (a network: every layer's biases).
    pub fn intercepts(&self) -> Vec<f64> {
        self.layers()
            .into_iter()
            .flat_map(|l| {
                self.values[l.range()]
                    .chunks_exact(l.stride())
                    .map(move |row| row[l.inputs])
            })
            .collect()
    }

    /// Number of nonzero coefficients (intercepts not counted).
    pub fn nnz(&self) -> usize {
        self.all_coef().filter(|w| *w != 0.0).count()
    }

    pub fn is_finite(&self) -> bool {
        self.values.iter().all(|v| v.is_finite())
    }

    /// The largest |a − b| over every weight and intercept.
    pub fn max_abs_diff(&self, other: &Weights) -> f64 {
        self.values
            .iter()
            .zip(&other.values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// The logits of a block of rows (rows × K): a network's forward pass on the whole block,
    /// a linear model's rows one by one.
    pub fn logits(&self, x: ndarray::ArrayView2<f32>) -> ndarray::Array2<f64> {
        if self.is_network() {
            return network::logits(self, x);
        }
        let mut out = ndarray::Array2::zeros((x.nrows(), self.outputs));
        for (row, mut z) in x.rows().into_iter().zip(out.rows_mut()) {
            let row = row.to_slice().expect("standard layout");
            self.logits_into(row, z.as_slice_mut().expect("standard layout"));
        }
        out
    }

    /// [`Weights::logits_into`] for a dense or sparse row (networks take dense rows only).
    #[inline]
    pub fn logits_row(&self, row: crate::data::Row, z: &mut [f64]) {
        match row {
            crate::data::Row::Dense(x) => self.logits_into(x, z),
            sparse => {
                for (k, zk) in z.iter_mut().enumerate().take(self.outputs) {
                    let r = self.row(k);
                    *zk = sparse.dot(r) + r[self.features];
                }
            }
        }
    }

    /// The K logits z_k = x·w_k + b_k of one row, accumulated in f64 (a network: its forward
    /// pass).
    pub fn logits_into(&self, row: &[f32], z: &mut [f64]) {
        if self.is_network() {
            let x = ndarray::ArrayView2::from_shape((1, row.len()), row).expect("one row");
            z.copy_from_slice(&network::logits(self, x).row(0).to_vec());
            return;
        }
        for (k, zk) in z.iter_mut().enumerate().take(self.outputs) {
            let r = self.row(k);
            *zk = crate::objective::dot(row, &r[..self.features]) + r[self.features];
        }
    }
}
