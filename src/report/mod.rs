//! Outputs: the model JSON, the history CSV, the run summary and the compare report. Every file is
//! written to a temporary file in the same folder and renamed, so a reader never sees half of one.

use crate::config::FitConfig;
use crate::error::{Error, Result};
use crate::fit::{Fitted, HistoryRow};
use crate::objective::Objective;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (temporary file in the same folder, flush, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// The model file written by `fit --out`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelJson {
    pub model: String,
    pub coef: Vec<f64>,
    pub intercept: f64,
    pub nnz: usize,
    pub objective: Objective,
    pub feature_names: Vec<String>,
    pub target_name: String,
    pub config: RunConfig,
    pub device: String,
    pub epochs_run: usize,
    pub steps_run: usize,
    pub seconds: f64,
    pub stopped_early: bool,
}

/// Every setting a run used: the fit configuration plus where the data came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunConfig {
    #[serde(flatten)]
    pub fit: FitConfig,
    pub data: String,
    pub rows: usize,
    pub features: usize,
}

impl ModelJson {
    pub fn new(fitted: &Fitted, cfg: &FitConfig, data: &crate::data::Dataset) -> Self {
        let r = &fitted.result;
        ModelJson {
            model: "linear".into(),
            coef: fitted.coef.clone(),
            intercept: fitted.intercept,
            nnz: fitted.coef.iter().filter(|w| **w != 0.0).count(),
            objective: r.objective,
            feature_names: data.feature_names.clone(),
            target_name: data.target_name.clone(),
            config: RunConfig {
                fit: cfg.clone(),
                data: data.source.clone(),
                rows: data.n_rows(),
                features: data.n_features(),
            },
            device: r.device.clone(),
            epochs_run: r.epochs_run,
            steps_run: r.steps_run,
            seconds: r.seconds,
            stopped_early: r.stopped_early,
        }
    }
}

/// History as CSV: epoch, step, data_loss, reg_loss, loss, lr, seconds.
pub fn history_csv(history: &[HistoryRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in history {
        w.serialize(row).map_err(|e| Error::Format {
            path: "history".into(),
            message: e.to_string(),
        })?;
    }
    w.into_inner().map_err(|e| Error::Format {
        path: "history".into(),
        message: e.to_string(),
    })
}

/// The summary `fit` prints (and `fit --json` prints as JSON).
#[derive(Clone, Debug, Serialize)]
pub struct FitSummary {
    pub device: String,
    pub data: String,
    pub rows: usize,
    pub features: usize,
    pub epochs: usize,
    pub steps: usize,
    pub seconds: f64,
    pub seconds_per_epoch: f64,
    pub data_loss: f64,
    pub reg_loss: f64,
    pub loss: f64,
    pub nnz: usize,
    pub stopped_early: bool,
}

impl FitSummary {
    pub fn new(model: &ModelJson) -> Self {
        FitSummary {
            device: model.device.clone(),
            data: model.config.data.clone(),
            rows: model.config.rows,
            features: model.config.features,
            epochs: model.epochs_run,
            steps: model.steps_run,
            seconds: model.seconds,
            seconds_per_epoch: model.seconds / model.epochs_run.max(1) as f64,
            data_loss: model.objective.data_loss,
            reg_loss: model.objective.reg_loss,
            loss: model.objective.total,
            nnz: model.nnz,
            stopped_early: model.stopped_early,
        }
    }

    pub fn text(&self) -> String {
        format!(
            "device:  {}\n\
             data:    {} ({} rows × {} features)\n\
             epochs:  {} ({} steps) in {:.3} s ({:.4} s/epoch){}\n\
             loss:    data {:.6e}  reg {:.6e}  total {:.6e}\n\
             nnz:     {} of {}",
            self.device,
            self.data,
            self.rows,
            self.features,
            self.epochs,
            self.steps,
            self.seconds,
            self.seconds_per_epoch,
            if self.stopped_early {
                ", stopped early (tol)"
            } else {
                ""
            },
            self.data_loss,
            self.reg_loss,
            self.loss,
            self.nnz,
            self.features
        )
    }
}

/// `compare --json`: the GPU solver, the CPU reference and the exact optimum under one config.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompareReport {
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
}

impl CompareReport {
    pub fn table(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "gpu:   {}\ncpu:   {}\nexact: {}\n\n",
            self.gpu_device, self.cpu_device, self.exact_method
        ));
        s.push_str(&format!(
            "{:<8} {:>12} {:>14} {:>16} {:>14}\n",
            "solver", "seconds", "s/epoch", "objective", "gap vs exact"
        ));
        s.push_str(&format!(
            "{:<8} {:>12.4} {:>14.6} {:>16.9e} {:>14.3e}\n",
            "gpu",
            self.gpu_seconds,
            self.gpu_seconds_per_epoch,
            self.gpu_objective,
            self.objective_gap
        ));
        s.push_str(&format!(
            "{:<8} {:>12.4} {:>14.6} {:>16.9e} {:>14.3e}\n",
            "cpu",
            self.cpu_seconds,
            self.cpu_seconds_per_epoch,
            self.cpu_objective,
            self.cpu_objective_gap
        ));
        s.push_str(&format!(
            "{:<8} {:>12} {:>14} {:>16.9e} {:>14}\n\n",
            "exact", "-", "-", self.exact_objective, "0"
        ));
        s.push_str(&format!(
            "speedup (cpu s / gpu s):   {:.2}x over {} epochs\n",
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
        s
    }
}
