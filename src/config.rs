//! The fit configuration: model, penalty, optimizer, schedule and stopping, validated once.
//!
//! The objective every solver minimises (one convention everywhere):
//!
//! ```text
//! J(w, b) = (1/m) Σᵢ ½(xᵢ·w + b − yᵢ)² + l1·‖w‖₁ + l2·‖w‖₂² + bias_l1·|b| + bias_l2·b²
//! ```
//!
//! | parameter | default | meaning | range |
//! |---|---|---|---|
//! | `l1` | 0 | weight of ‖w‖₁ | ≥ 0 |
//! | `l2` | 0 | weight of ‖w‖₂² | ≥ 0 |
//! | `bias_l1`, `bias_l2` | 0 | penalties on the intercept | ≥ 0 |
//! | `l1_update` | sign | `sign`: l1·sign(w) in the gradient; `prox`: soft-threshold after the step | |
//! | `optimizer` | sgd | `sgd` or `momentum` (v ← μv − lr·g; w ← w + v; with `prox`, v is the step taken after the threshold) | |
//! | `momentum` | 0.9 | μ for the momentum optimizer | [0, 1) |
//! | `lr` | 0.05 | learning rate; lr_t = lr / (1 + decay·t), t = global step | > 0 |
//! | `decay` | 0 | learning-rate decay | ≥ 0 |
//! | `epochs` | 20 | passes over the data | ≥ 1 |
//! | `batch_size` | 256 | rows per step, or full batch | 1..=rows |
//! | `seed` | 0 | seed of the minibatch order | |
//! | `log_every` | once per epoch | steps between loss readbacks | ≥ 1 |
//! | `tol`, `n_iter_no_change` | off, 5 | stop when the epoch loss has not improved by `tol` for that many epochs | tol ≥ 0 |
//! | `fit_intercept` | true | fit b | |
//! | `standardize` | false | z-score features; coefficients reported on the original scale | |

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    Linear,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum L1Update {
    /// l1·sign(w) added to the gradient (sign(0) = 0).
    Sign,
    /// Soft-threshold w ← sign(w)·max(|w| − lr·l1, 0) after the gradient step: exact zeros.
    Prox,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    Sgd,
    Momentum,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchSize {
    Full,
    Rows(usize),
}

impl BatchSize {
    /// Rows per step for a dataset of `n_rows` rows.
    pub fn rows(self, n_rows: usize) -> usize {
        match self {
            BatchSize::Full => n_rows,
            BatchSize::Rows(b) => b,
        }
    }
}

/// Penalty weights in the objective's own convention (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Penalty {
    pub l1: f64,
    pub l2: f64,
    pub bias_l1: f64,
    pub bias_l2: f64,
}

impl Penalty {
    /// scikit-learn's `ElasticNet(alpha, l1_ratio)` (and `Lasso(alpha)` with l1_ratio = 1):
    /// l1 = alpha·l1_ratio, l2 = alpha·(1 − l1_ratio)/2.
    pub fn from_sklearn(alpha: f64, l1_ratio: f64) -> Result<Self> {
        if !(alpha >= 0.0 && alpha.is_finite()) {
            return Err(Error::invalid(
                "alpha",
                alpha,
                "must be a finite number ≥ 0",
            ));
        }
        if !(0.0..=1.0).contains(&l1_ratio) {
            return Err(Error::invalid("l1-ratio", l1_ratio, "must lie in [0, 1]"));
        }
        Ok(Penalty {
            l1: alpha * l1_ratio,
            l2: alpha * (1.0 - l1_ratio) / 2.0,
            ..Penalty::default()
        })
    }

    /// scikit-learn's `Ridge(alpha)` on `n` rows: l2 = alpha / (2n).
    pub fn from_sklearn_ridge(alpha: f64, n: usize) -> Self {
        Penalty {
            l2: alpha / (2.0 * n as f64),
            ..Penalty::default()
        }
    }

    /// l1·‖w‖₁ + l2·‖w‖² + bias_l1·|b| + bias_l2·b².
    pub fn value(&self, coef: &[f64], intercept: f64) -> f64 {
        let l1: f64 = coef.iter().map(|w| w.abs()).sum();
        let l2: f64 = coef.iter().map(|w| w * w).sum();
        self.l1 * l1
            + self.l2 * l2
            + self.bias_l1 * intercept.abs()
            + self.bias_l2 * intercept * intercept
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    pub model: Model,
    pub penalty: Penalty,
    pub l1_update: L1Update,
    pub optimizer: Optimizer,
    pub momentum: f64,
    pub lr: f64,
    pub decay: f64,
    pub epochs: usize,
    pub batch_size: BatchSize,
    pub seed: u64,
    /// Steps between log points; `None` logs once per epoch. Every epoch end is a log point.
    pub log_every: Option<usize>,
    pub tol: Option<f64>,
    pub n_iter_no_change: usize,
    pub fit_intercept: bool,
    pub standardize: bool,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            model: Model::Linear,
            penalty: Penalty::default(),
            l1_update: L1Update::Sign,
            optimizer: Optimizer::Sgd,
            momentum: 0.9,
            lr: 0.05,
            decay: 0.0,
            epochs: 20,
            batch_size: BatchSize::Rows(256),
            seed: 0,
            log_every: None,
            tol: None,
            n_iter_no_change: 5,
            fit_intercept: true,
            standardize: false,
        }
    }
}

fn non_negative(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, v, "must be a finite number ≥ 0"))
    }
}

impl FitConfig {
    /// Checks every setting once, against a dataset of `n_rows` rows.
    pub fn validate(&self, n_rows: usize) -> Result<()> {
        non_negative("l1", self.penalty.l1)?;
        non_negative("l2", self.penalty.l2)?;
        non_negative("bias-l1", self.penalty.bias_l1)?;
        non_negative("bias-l2", self.penalty.bias_l2)?;
        non_negative("decay", self.decay)?;
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::invalid("lr", self.lr, "must be a finite number > 0"));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::invalid(
                "momentum",
                self.momentum,
                "must lie in [0, 1)",
            ));
        }
        if self.epochs == 0 {
            return Err(Error::invalid("epochs", 0, "must be at least 1"));
        }
        if let BatchSize::Rows(b) = self.batch_size {
            if b == 0 {
                return Err(Error::invalid(
                    "batch-size",
                    0,
                    "must be at least 1 (or `full`)",
                ));
            }
            if b > n_rows {
                return Err(Error::invalid(
                    "batch-size",
                    b,
                    format!("larger than the {n_rows} rows of the data"),
                ));
            }
        }
        if self.log_every == Some(0) {
            return Err(Error::invalid("log-every", 0, "must be at least 1"));
        }
        if let Some(t) = self.tol {
            non_negative("tol", t)?;
        }
        if self.n_iter_no_change == 0 {
            return Err(Error::invalid("n-iter-no-change", 0, "must be at least 1"));
        }
        Ok(())
    }
}
