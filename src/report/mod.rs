//! Outputs: the model JSON, the history CSV, the run summary, the compare report, plots and the
//! progress bar. Every file is written to a temporary file in the same folder, flushed and renamed,
//! so an interrupted run leaves the old file or the new one, never half of one.

pub mod cv;
pub mod path;
pub mod plot;
pub mod progress;
pub mod regions;

use crate::config::{FitConfig, Model};
use crate::data::Label;
use crate::error::{Error, Result};
use crate::fit::{Fitted, HistoryRow};
use crate::objective::{Metrics, Objective};
use crate::weights::Weights;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// An I/O error's own words, without the temporary path some wrappers add.
fn io_words(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => e.kind().to_string(),
    }
}

/// Checks before the work that an output path can be written (its folder exists and takes a new
/// file), so a long fit does not end in an error.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Format {
            path: path.into(),
            message: "is a directory, expected a file path".into(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::Format {
            path: path.into(),
            message: format!("folder {} does not exist", dir.display()),
        });
    }
    tempfile::Builder::new()
        .prefix(".gpu-regfit-")
        .tempfile_in(dir)
        .map_err(|e| Error::Format {
            path: path.into(),
            message: format!("cannot write in folder {}: {}", dir.display(), io_words(&e)),
        })?;
    Ok(())
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, flush, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// As [`write_atomic`], for output written piece by piece (a large .npy is never held in memory
/// whole): `write` fills a buffered temporary file that replaces `path` only when complete.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A hidden name, so a reader listing the folder mid-write does not take it for an output.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".gpu-regfit-");
    // As a plain create would: 0o666 less the umask (tempfile's default is owner-only).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(dir).map_err(|e| Error::Format {
        path: path.into(),
        message: format!("cannot write in folder {}: {}", dir.display(), io_words(&e)),
    })?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp);
    write(&mut out).map_err(|e| Error::io(path, e))?;
    let tmp = out
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// The `format` field of every model file gpu-regfit writes.
pub const MODEL_FORMAT: &str = "gpu-regfit model";

/// Coefficients as scikit-learn's coef_: d numbers (linear, logistic) or K rows of d (softmax).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CoefJson {
    Vector(Vec<f64>),
    Matrix(Vec<Vec<f64>>),
}

/// One intercept, or K for softmax.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InterceptJson {
    Scalar(f64),
    Vector(Vec<f64>),
}

/// Loss and accuracy of the returned weights, on the training rows and the validation set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    pub train: Metrics,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub validation: Option<Metrics>,
}

/// The model file written by `fit --out`, read back by `predict`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelJson {
    /// Always [`MODEL_FORMAT`] (absent in files from version 0.1, which were linear).
    #[serde(default)]
    pub format: Option<String>,
    pub model: Model,
    /// The original class labels; class k is row k of coef (softmax) or label 1 of logistic.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub classes: Option<Vec<Label>>,
    /// The coefficients (linear models; absent for a network, whose weights are in `network`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub coef: Option<CoefJson>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub intercept: Option<InterceptJson>,
    /// A network's layers (`--model mlp`); `model` is then its output: softmax (cross-entropy)
    /// or linear (squared loss).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub network: Option<NetworkJson>,
    pub nnz: usize,
    pub objective: Objective,
    #[serde(default)]
    pub metrics: ModelMetrics,
    pub feature_names: Vec<String>,
    pub target_name: String,
    pub config: RunConfig,
    pub device: String,
    pub epochs_run: usize,
    pub steps_run: usize,
    pub seconds: f64,
    pub stopped_early: bool,
    /// "tol" or "early stopping" when the fit stopped before its epochs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_reason: Option<String>,
    /// With early stopping: the epoch whose weights were kept.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub best_epoch: Option<usize>,
    /// The fit was stopped by Ctrl-C or SIGTERM: these are the weights of its last log point.
    #[serde(default)]
    pub interrupted: bool,
    /// sgd or apg.
    #[serde(default)]
    pub solver: String,
    /// G(w) ≥ J(w) − J*, the duality gap of these weights (absent without a penalty on W).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duality_gap: Option<f64>,
    /// G / J.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub relative_gap: Option<f64>,
    /// Whether the relative gap is at most `tol` (apg's stopping rule; for sgd, against 1e-6).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub converged: Option<bool>,
    /// apg: iterations, step, momentum restarts, and the iterations finished in f64 on the host.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub apg: Option<crate::apg::ApgReport>,
}

/// One dense layer of a saved network: W (outputs rows of inputs numbers) and b.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerJson {
    pub inputs: usize,
    pub outputs: usize,
    pub weight: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
    /// Nonzero weights (biases not counted).
    pub nnz: usize,
}

/// A saved network: always `kind` = "mlp", the hidden layers' nonlinearity, the layers in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkJson {
    pub kind: String,
    pub activation: crate::network::Activation,
    pub layers: Vec<LayerJson>,
}

impl NetworkJson {
    pub fn new(w: &Weights) -> Option<Self> {
        let net = w.net.as_ref()?;
        let layers = w
            .layers()
            .iter()
            .zip(crate::network::nnz_per_layer(w))
            .map(|(l, (nnz, _))| {
                let rows: Vec<&[f64]> = w.values[l.range()].chunks_exact(l.stride()).collect();
                LayerJson {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    weight: rows.iter().map(|r| r[..l.inputs].to_vec()).collect(),
                    bias: rows.iter().map(|r| r[l.inputs]).collect(),
                    nnz,
                }
            })
            .collect();
        Some(NetworkJson {
            kind: "mlp".into(),
            activation: net.activation,
            layers,
        })
    }

    /// The weights these layers describe, for `features` inputs; an error message when the
    /// layers do not chain (each layer's inputs the previous one's outputs, shapes as declared).
    pub fn weights(&self, features: usize) -> std::result::Result<Weights, String> {
        if self.kind != "mlp" {
            return Err(format!("unknown network kind `{}`", self.kind));
        }
        let Some(last) = self.layers.last() else {
            return Err("a network needs layers".into());
        };
        if self.layers.len() < 2 {
            return Err("a network has at least one hidden layer".into());
        }
        let mut inputs = features;
        let mut values = Vec::new();
        for (n, l) in self.layers.iter().enumerate() {
            let ok = l.inputs == inputs
                && l.weight.len() == l.outputs
                && l.bias.len() == l.outputs
                && l.weight.iter().all(|r| r.len() == l.inputs);
            if !ok {
                return Err(format!(
                    "layer {} does not have the shape {inputs} → {} its neighbours give it",
                    n + 1,
                    l.outputs
                ));
            }
            for (row, b) in l.weight.iter().zip(&l.bias) {
                values.extend_from_slice(row);
                values.push(*b);
            }
            inputs = l.outputs;
        }
        let net = crate::network::Net {
            hidden: self.layers[..self.layers.len() - 1]
                .iter()
                .map(|l| l.outputs)
                .collect(),
            activation: self.activation,
        };
        Ok(Weights::zeros_net(net, features, last.outputs).with_values(values))
    }
}

/// Every setting a run used: the fit configuration plus where the data came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunConfig {
    #[serde(flatten)]
    pub fit: FitConfig,
    pub data: String,
    pub rows: usize,
    pub features: usize,
    /// Stored values of X when it is sparse (CSR); absent for dense data.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stored: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub validation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub validation_rows: Option<usize>,
}

/// The JSON shape of weights: softmax as K rows, the other models as one vector and one number.
pub fn weights_json(model: Model, w: &Weights) -> (CoefJson, InterceptJson) {
    if model == Model::Softmax {
        (
            CoefJson::Matrix((0..w.outputs).map(|k| w.coef(k).to_vec()).collect()),
            InterceptJson::Vector(w.intercepts()),
        )
    } else {
        (
            CoefJson::Vector(w.coef(0).to_vec()),
            InterceptJson::Scalar(w.intercept(0)),
        )
    }
}

impl ModelJson {
    pub fn new(
        fitted: &Fitted,
        cfg: &FitConfig,
        data: &crate::data::Dataset,
        validation: Option<&crate::data::Dataset>,
    ) -> Self {
        let r = &fitted.result;
        let network = NetworkJson::new(&fitted.weights);
        let (coef, intercept) = match network {
            Some(_) => (None, None),
            None => {
                let (c, i) = weights_json(cfg.model, &fitted.weights);
                (Some(c), Some(i))
            }
        };
        ModelJson {
            format: Some(MODEL_FORMAT.into()),
            model: cfg.model,
            classes: data.classes.clone(),
            coef,
            intercept,
            network,
            nnz: fitted.weights.nnz(),
            objective: r.objective,
            metrics: ModelMetrics {
                train: r.train,
                validation: r.validation,
            },
            feature_names: data.names().into_owned(),
            target_name: data.target_name.clone(),
            config: RunConfig {
                fit: cfg.clone(),
                data: data.source.clone(),
                rows: data.n_rows(),
                features: data.n_features(),
                stored: data.is_sparse().then(|| data.x_nnz()),
                validation: validation.map(|v| v.source.clone()),
                validation_rows: validation.map(|v| v.n_rows()),
            },
            device: r.device.clone(),
            epochs_run: r.epochs_run,
            steps_run: r.steps_run,
            seconds: r.seconds,
            stopped_early: r.stopped_early.is_some(),
            stop_reason: r.stopped_early.clone(),
            best_epoch: r.best_epoch,
            interrupted: r.interrupted(),
            solver: cfg.solver.name().into(),
            duality_gap: r.certificate.map(|c| c.gap),
            relative_gap: r.certificate.map(|c| c.relative),
            converged: r
                .converged
                .or_else(|| r.certificate.map(|c| c.relative <= cfg.gap_tol())),
            apg: r.apg,
        }
    }
}

/// The columns of a history CSV (after `solver`, in `compare --history` files).
pub const HISTORY_COLUMNS: [&str; 11] = [
    "epoch",
    "step",
    "data_loss",
    "reg_loss",
    "loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "seconds",
    "duality_gap",
];

/// History as CSV with [`HISTORY_COLUMNS`] (the accuracy and validation cells are empty when not
/// measured). With several runs, a first column `solver` names each row's run.
pub fn history_csv(runs: &[(&str, &[HistoryRow])]) -> Result<Vec<u8>> {
    let named = runs.len() > 1;
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: &dyn std::fmt::Display| Error::Format {
        path: "history".into(),
        message: e.to_string(),
    };
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut header: Vec<&str> = Vec::new();
    if named {
        header.push("solver");
    }
    header.extend(HISTORY_COLUMNS);
    w.write_record(&header).map_err(|e| fail(&e))?;
    for (name, history) in runs {
        for r in history.iter() {
            let mut record: Vec<String> = Vec::with_capacity(12);
            if named {
                record.push(name.to_string());
            }
            record.extend([
                r.epoch.to_string(),
                r.step.to_string(),
                r.data_loss.to_string(),
                r.reg_loss.to_string(),
                r.loss.to_string(),
                opt(r.train_accuracy),
                opt(r.val_loss),
                opt(r.val_accuracy),
                r.lr.to_string(),
                r.seconds.to_string(),
                opt(r.duality_gap),
            ]);
            w.write_record(&record).map_err(|e| fail(&e))?;
        }
    }
    w.into_inner().map_err(|e| fail(&e))
}

/// The summary `fit` prints (and `fit --json` prints as JSON).
#[derive(Clone, Debug, Serialize)]
pub struct FitSummary {
    pub model: String,
    /// A network's shape, as "2→128→3 relu".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// A network's nonzero weights and weights, per layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nnz_per_layer: Option<Vec<(usize, usize)>>,
    pub device: String,
    pub data: String,
    pub rows: usize,
    pub features: usize,
    /// Stored values of sparse X.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    pub epochs: usize,
    pub steps: usize,
    pub seconds: f64,
    pub seconds_per_epoch: f64,
    pub data_loss: f64,
    pub reg_loss: f64,
    pub loss: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_rows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f64>,
    pub nnz: usize,
    /// Coefficients in all (d, or K·d for softmax).
    pub coefficients: usize,
    pub stopped_early: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
    pub solver: String,
    /// apg: iterations (full passes); sgd: epochs.
    pub iterations: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duality_gap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_gap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
}

impl FitSummary {
    pub fn new(model: &ModelJson) -> Self {
        let classes = model.classes.as_ref().map(Vec::len);
        let outputs = match &model.coef {
            Some(CoefJson::Matrix(rows)) => rows.len(),
            _ => 1,
        };
        let nnz_per_layer = model.network.as_ref().map(|n| {
            n.layers
                .iter()
                .map(|l| (l.nnz, l.inputs * l.outputs))
                .collect::<Vec<_>>()
        });
        let coefficients = match &nnz_per_layer {
            Some(layers) => layers.iter().map(|l| l.1).sum(),
            None => outputs * model.config.features,
        };
        FitSummary {
            model: match &model.network {
                Some(_) => format!("mlp ({})", model.model.name()),
                None => model.model.name().into(),
            },
            network: model.network.as_ref().map(|n| {
                let mut sizes = vec![model.config.features];
                sizes.extend(n.layers.iter().map(|l| l.outputs));
                let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
                format!("{} {}", sizes.join("→"), n.activation.name())
            }),
            nnz_per_layer,
            device: model.device.clone(),
            data: model.config.data.clone(),
            rows: model.config.rows,
            features: model.config.features,
            stored: model.config.stored,
            classes,
            epochs: model.epochs_run,
            steps: model.steps_run,
            seconds: model.seconds,
            seconds_per_epoch: model.seconds / model.epochs_run.max(1) as f64,
            data_loss: model.objective.data_loss,
            reg_loss: model.objective.reg_loss,
            loss: model.objective.total,
            train_accuracy: model.metrics.train.accuracy,
            validation_rows: model.config.validation_rows,
            val_loss: model.metrics.validation.map(|v| v.loss),
            val_accuracy: model.metrics.validation.and_then(|v| v.accuracy),
            nnz: model.nnz,
            coefficients,
            stopped_early: model.stopped_early,
            stop_reason: model.stop_reason.clone(),
            best_epoch: model.best_epoch,
            solver: model.solver.clone(),
            iterations: model.epochs_run,
            duality_gap: model.duality_gap,
            relative_gap: model.relative_gap,
            converged: model.converged,
        }
    }

    pub fn text(&self) -> String {
        let mut s = format!(
            "model:   {}{}{}\n\
             device:  {}\n\
             data:    {} ({} rows × {} features{})\n\
             {} {} ({} steps) in {:.3} s ({:.4} s/epoch){}\n\
             loss:    data {:.6e}  reg {:.6e}  total {:.6e}",
            self.model,
            self.network
                .as_ref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default(),
            self.classes
                .map(|k| format!(" ({k} classes)"))
                .unwrap_or_default(),
            self.device,
            self.data,
            self.rows,
            self.features,
            self.stored
                .map(|nnz| format!(
                    ", sparse: {nnz} stored, density {:.2e}",
                    nnz as f64 / (self.rows as f64 * self.features as f64)
                ))
                .unwrap_or_default(),
            if self.solver == "apg" {
                "iters:  "
            } else {
                "epochs: "
            },
            self.epochs,
            self.steps,
            self.seconds,
            self.seconds_per_epoch,
            match (&self.stop_reason, self.best_epoch) {
                (Some(r), Some(b)) =>
                    format!(", stopped early ({r}); kept the weights of epoch {b}"),
                (Some(r), None) => format!(", stopped early ({r})"),
                _ => String::new(),
            },
            self.data_loss,
            self.reg_loss,
            self.loss,
        );
        if let Some(a) = self.train_accuracy {
            s.push_str(&format!("\ntrain:   accuracy {:.4}", a));
        }
        if let (Some(rows), Some(loss)) = (self.validation_rows, self.val_loss) {
            s.push_str(&format!("\nvalid:   {rows} rows, loss {loss:.6e}"));
            if let Some(a) = self.val_accuracy {
                s.push_str(&format!(", accuracy {a:.4}"));
            }
        }
        s.push_str(&format!("\nnnz:     {} of {}", self.nnz, self.coefficients));
        if let Some(layers) = &self.nnz_per_layer {
            let per: Vec<String> = layers
                .iter()
                .enumerate()
                .map(|(l, (nnz, all))| format!("layer {} {nnz}/{all}", l + 1))
                .collect();
            s.push_str(&format!(" ({})", per.join(", ")));
        }
        if let (Some(gap), Some(rel)) = (self.duality_gap, self.relative_gap) {
            let verdict = match self.converged {
                Some(true) => "converged",
                Some(false) => "not converged",
                None => "",
            };
            s.push_str(&format!(
                "\ngap:     {gap:.3e} (relative {rel:.2e}) {verdict}"
            ));
        }
        s
    }
}

/// `compare --json`: the GPU solver, the CPU reference and the exact optimum under one config.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompareReport {
    pub model: String,
    pub gpu_device: String,
    pub cpu_device: String,
    pub exact_method: String,
    pub epochs: usize,
    pub gpu_seconds: f64,
    pub cpu_seconds: f64,
    pub gpu_seconds_per_epoch: f64,
    pub cpu_seconds_per_epoch: f64,
    /// cpu_seconds / gpu_seconds.
    pub speedup: f64,
    /// max |coef_gpu − coef_cpu| (intercept included), on the scale of the fitted data.
    pub coef_max_abs_diff: f64,
    /// |J_gpu − J_cpu| / |J_cpu|.
    pub loss_rel_diff: f64,
    pub gpu_objective: f64,
    pub cpu_objective: f64,
    pub exact_objective: f64,
    /// (J_gpu − J_exact) / |J_exact|.
    pub objective_gap: f64,
    /// (J_cpu − J_exact) / |J_exact|.
    pub cpu_objective_gap: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gpu_train_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cpu_train_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gpu_val_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cpu_val_accuracy: Option<f64>,
    /// Stopped by Ctrl-C or SIGTERM: the fits ran only to their last log point.
    #[serde(default)]
    pub interrupted: bool,
    /// The solver both ran (apg or sgd).
    #[serde(default)]
    pub solver: String,
    /// Each solver's duality gap G ≥ J − J* and G/J (absent without a penalty on W).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gpu_duality_gap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gpu_relative_gap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cpu_duality_gap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cpu_relative_gap: Option<f64>,
}

impl CompareReport {
    pub fn table(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "model: {}\ngpu:   {}\ncpu:   {}\nexact: {}\n\n",
            self.model, self.gpu_device, self.cpu_device, self.exact_method
        ));
        let gap = |g: Option<f64>| g.map_or("-".to_string(), |g| format!("{g:.3e}"));
        s.push_str(&format!(
            "{:<8} {:>12} {:>14} {:>16} {:>14} {:>14}\n",
            "solver", "seconds", "s/epoch", "objective", "gap vs exact", "duality gap"
        ));
        s.push_str(&format!(
            "{:<8} {:>12.4} {:>14.6} {:>16.9e} {:>14.3e} {:>14}\n",
            "gpu",
            self.gpu_seconds,
            self.gpu_seconds_per_epoch,
            self.gpu_objective,
            self.objective_gap,
            gap(self.gpu_relative_gap)
        ));
        s.push_str(&format!(
            "{:<8} {:>12.4} {:>14.6} {:>16.9e} {:>14.3e} {:>14}\n",
            "cpu",
            self.cpu_seconds,
            self.cpu_seconds_per_epoch,
            self.cpu_objective,
            self.cpu_objective_gap,
            gap(self.cpu_relative_gap)
        ));
        s.push_str(&format!(
            "{:<8} {:>12} {:>14} {:>16.9e} {:>14} {:>14}\n\n",
            "exact", "-", "-", self.exact_objective, "0", "-"
        ));
        s.push_str(&format!(
            "solver {} (gaps relative to J; \"gap vs exact\" is (J − J_exact)/J_exact)\n",
            self.solver
        ));
        s.push_str(&format!(
            "speedup (cpu s / gpu s):   {:.2}x over {} epochs (apg: iterations)\n",
            self.speedup, self.epochs
        ));
        s.push_str(&format!(
            "max |coef gpu - coef cpu|: {:.3e}\n",
            self.coef_max_abs_diff
        ));
        s.push_str(&format!(
            "relative loss difference:  {:.3e}\n",
            self.loss_rel_diff
        ));
        s.push_str(&format!(
            "objective gap (gpu-exact): {:.3e} relative",
            self.objective_gap
        ));
        if let (Some(g), Some(c)) = (self.gpu_train_accuracy, self.cpu_train_accuracy) {
            s.push_str(&format!(
                "\ntrain accuracy:            gpu {g:.4}, cpu {c:.4}"
            ));
        }
        if let (Some(g), Some(c)) = (self.gpu_val_accuracy, self.cpu_val_accuracy) {
            s.push_str(&format!(
                "\nvalidation accuracy:       gpu {g:.4}, cpu {c:.4}"
            ));
        }
        s
    }
}
