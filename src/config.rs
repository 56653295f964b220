//! The fit configuration: model, penalty, optimizer, schedule and stopping, validated once.
//!
//! The objective every solver minimises (one convention everywhere):
//!
//! ```text
//! J(W, b) = (1/m) Σᵢ loss(W xᵢ + b, yᵢ) + l1·‖W‖₁ + l2·‖W‖₂² + bias_l1·‖b‖₁ + bias_l2·‖b‖₂²
//! ```
//!
//! with loss ½(z − y)² (linear), log(1 + eᶻ) − y·z (logistic, y ∈ {0, 1}) or the softmax
//! cross-entropy logsumexp(z) − z_y (softmax, K classes, W is K × d).
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
//! | `log_every` | once per epoch | steps between loss readbacks (longer than an epoch: epoch ends in between are not logged) | ≥ 1 |
//! | `tol`, `n_iter_no_change` | off, 5 | stop when the epoch loss has not improved by `tol` for that many epochs | tol ≥ 0 |
//! | `fit_intercept` | true | fit b | |
//! | `standardize` | false | z-score features; coefficients reported on the original scale | |
//! | `early_stopping` | false | stop when the validation loss has not improved by `tol` (default 0) for `n_iter_no_change` epochs; keep the best weights | needs a validation set |
//! | `solver` | sgd (library), apg (CLI) | `sgd`: minibatch SGD with the settings above; `apg`: full-batch accelerated proximal gradient stopped on the duality gap | |
//! | `max_iter` | 10 000 | apg: most iterations | ≥ 1 |
//!
//! With `solver = apg`, `tol` is the relative duality gap G/J at which the fit stops (default
//! 1e-6), and the SGD settings (lr, decay, optimizer, momentum, batch size, epochs) are unused.

use crate::error::{Error, Result};
use crate::network::NetworkSpec;
use crate::weights::Weights;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Least squares, loss ½(z − y)².
    Linear,
    /// Binary logistic regression, loss log(1 + eᶻ) − y·z with labels mapped to {0, 1}.
    Logistic,
    /// Multinomial logistic regression over K classes, softmax cross-entropy.
    Softmax,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::Linear => "linear",
            Model::Logistic => "logistic",
            Model::Softmax => "softmax",
        }
    }

    pub fn is_classifier(self) -> bool {
        self != Model::Linear
    }

    /// K, the rows of the weight matrix, for a target with `classes` classes.
    pub fn outputs(self, classes: usize) -> usize {
        match self {
            Model::Softmax => classes,
            _ => 1,
        }
    }
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

/// How the weights are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SolverKind {
    /// Minibatch stochastic gradient descent (sgd or momentum) over epochs.
    #[default]
    Sgd,
    /// Full-batch accelerated proximal gradient (FISTA with adaptive restart), stopped when the
    /// relative duality gap falls to `tol`.
    Apg,
}

impl SolverKind {
    pub fn name(self) -> &'static str {
        match self {
            SolverKind::Sgd => "sgd",
            SolverKind::Apg => "apg",
        }
    }
}

/// apg's default relative duality gap at which it stops.
pub const APG_DEFAULT_TOL: f64 = 1e-6;
/// apg's default most iterations.
pub const APG_DEFAULT_MAX_ITER: usize = 10_000;

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
    /// (l1, l2) of one coordinate: the intercept's (bias_l1, bias_l2) or a coefficient's.
    pub fn of_coordinate(&self, is_bias: bool) -> (f64, f64) {
        if is_bias {
            (self.bias_l1, self.bias_l2)
        } else {
            (self.l1, self.l2)
        }
    }

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

    /// scikit-learn's `LogisticRegression(C, l1_ratio)` on `n` rows (its objective is
    /// C·Σ loss + l1_ratio·‖w‖₁ + (1 − l1_ratio)/2·‖w‖², divided here by C·n):
    /// l1 = l1_ratio/(C·n), l2 = (1 − l1_ratio)/(2·C·n). L2 is l1_ratio = 0, L1 is l1_ratio = 1.
    pub fn from_sklearn_logistic(c: f64, l1_ratio: f64, n: usize) -> Result<Self> {
        if !(c > 0.0 && c.is_finite()) {
            return Err(Error::invalid("C", c, "must be a finite number > 0"));
        }
        if !(0.0..=1.0).contains(&l1_ratio) {
            return Err(Error::invalid("l1-ratio", l1_ratio, "must lie in [0, 1]"));
        }
        let cn = c * n as f64;
        Ok(Penalty {
            l1: l1_ratio / cn,
            l2: (1.0 - l1_ratio) / (2.0 * cn),
            ..Penalty::default()
        })
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
    /// Steps between log points; `None` logs once per epoch. Every epoch end is a log point while
    /// this is at most an epoch; a longer one logs every `log_every` steps (and at the last), and
    /// `tol` and early stopping then look at the log points that end an epoch.
    pub log_every: Option<usize>,
    pub tol: Option<f64>,
    pub n_iter_no_change: usize,
    pub fit_intercept: bool,
    pub standardize: bool,
    /// Stop on the validation loss and keep the best weights (needs a validation set).
    #[serde(default)]
    pub early_stopping: bool,
    /// Draw minibatches within consecutive chunks of this many rows, visited in a seeded order
    /// (see [`crate::schedule`]). The GPU solver sets it when it streams data larger than its
    /// memory budget; `None` shuffles all rows together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_rows: Option<usize>,
    /// sgd (the default here and in checkpoints) or apg (the CLI's default).
    #[serde(default)]
    pub solver: SolverKind,
    /// apg: most iterations.
    #[serde(default = "default_max_iter")]
    pub max_iter: usize,
    /// A dense network in front of the loss (`--model mlp`, see [`crate::network`]); `None`
    /// fits the linear model. Trained by sgd only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
}

fn default_max_iter() -> usize {
    APG_DEFAULT_MAX_ITER
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
            early_stopping: false,
            chunk_rows: None,
            solver: SolverKind::Sgd,
            max_iter: APG_DEFAULT_MAX_ITER,
            network: None,
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
    /// apg's stopping tolerance on the relative duality gap.
    pub fn gap_tol(&self) -> f64 {
        self.tol.unwrap_or(APG_DEFAULT_TOL)
    }

    /// The regularization term of J at `w`: the penalty, or for a network the sum of its
    /// layers' penalties.
    pub fn reg_loss(&self, w: &Weights) -> f64 {
        match &self.network {
            Some(net) if w.is_network() => crate::network::penalty_value(net, &self.penalty, w),
            _ => crate::objective::penalty_value(&self.penalty, w),
        }
    }

    /// Checks every setting once, against a dataset of `n_rows` rows.
    pub fn validate(&self, n_rows: usize) -> Result<()> {
        if let Some(net) = &self.network {
            net.validate(self.model)?;
            if self.solver == SolverKind::Apg {
                return Err(Error::invalid(
                    "solver",
                    "apg",
                    "apg solves convex models; an mlp trains with --solver sgd",
                ));
            }
        }
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
        // apg takes full-batch steps: the batch setting is not used.
        if let (BatchSize::Rows(b), SolverKind::Sgd) = (self.batch_size, self.solver) {
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
        if let Some(c) = self.chunk_rows {
            let batch = self.batch_size.rows(n_rows);
            if c == 0 || (c < batch && c < n_rows) {
                return Err(Error::invalid(
                    "chunk-rows",
                    c,
                    format!("a chunk must hold at least one batch of {batch} rows"),
                ));
            }
        }
        if self.log_every == Some(0) {
            return Err(Error::invalid("log-every", 0, "must be at least 1"));
        }
        if let Some(t) = self.tol {
            non_negative("tol", t)?;
        }
        if self.max_iter == 0 {
            return Err(Error::invalid("max-iter", 0, "must be at least 1"));
        }
        if self.n_iter_no_change == 0 {
            return Err(Error::invalid("n-iter-no-change", 0, "must be at least 1"));
        }
        Ok(())
    }
}
