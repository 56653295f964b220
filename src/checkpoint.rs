//! Checkpoints: everything a fit needs to go on where it stopped and reach the same weights, bit
//! for bit on the same device, as a fit that never stopped.
//!
//! A checkpoint holds the optimizer state exactly as the engine keeps it (the GPU's f32 weights
//! with their low parts and momentum, or the CPU reference's f64), the place in the schedule (epoch,
//! batch within it, global step: the learning rate and the batch order follow from these and the
//! seed), the driver's bookkeeping (history, best loss, epochs without improvement), the config and
//! the shape of the data. `--resume` refuses one whose config (but for `epochs`, which may be raised
//! to train further) or data shape differs from the run's.

use crate::config::FitConfig;
use crate::data::{Dataset, Label};
use crate::error::{Error, Result};
use crate::fit::HistoryRow;
use crate::weights::Weights;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `format` field of every checkpoint file.
pub const CHECKPOINT_FORMAT: &str = "gpu-regfit checkpoint";
/// Bumped whenever the layout of a checkpoint changes.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Where `drive` writes checkpoints, and every how many epochs.
#[derive(Clone, Debug)]
pub struct CheckpointPlan {
    pub path: PathBuf,
    pub every: usize,
}

/// An engine's optimizer state, exactly as the engine holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// K × (d + 1) weights: f64 on the CPU reference; on the GPU the f32 high parts.
    pub weights: Vec<f64>,
    /// GPU only: the f32 low parts (each weight is the unevaluated sum high + low).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_lo: Option<Vec<f64>>,
    /// Momentum velocity (zeros for plain SGD).
    pub velocity: Vec<f64>,
}

impl OptimizerState {
    /// The weights as one f64 each (high + low on the GPU).
    pub fn combined_weights(&self) -> Vec<f64> {
        match &self.weights_lo {
            Some(lo) => self.weights.iter().zip(lo).map(|(h, l)| h + l).collect(),
            None => self.weights.clone(),
        }
    }

    /// The state of a device that keeps `hi | lo | velocity` as f32 blocks of `n` (the sparse
    /// and network engines).
    pub fn from_hi_lo_velocity(state: &[f32], n: usize) -> Self {
        let as64 = |s: &[f32]| s.iter().map(|v| f64::from(*v)).collect::<Vec<f64>>();
        OptimizerState {
            weights: as64(&state[..n]),
            weights_lo: Some(as64(&state[n..2 * n])),
            velocity: as64(&state[2 * n..3 * n]),
        }
    }

    /// The `hi | lo | velocity` f32 blocks of this state, or a typed error naming `what` when it
    /// does not have `n` weights. A checkpoint of the f64 reference has each weight split into
    /// hi + lo.
    pub fn to_hi_lo_velocity(&self, n: usize, what: &str) -> crate::error::Result<Vec<f32>> {
        if self.weights.len() != n || self.velocity.len() != n {
            return Err(crate::error::Error::invalid(
                "checkpoint",
                format!("{} weights", self.weights.len()),
                format!("this {what} has {n}"),
            ));
        }
        let mut values = vec![0.0f32; 3 * n];
        for (k, w) in self.weights.iter().enumerate() {
            let hi = *w as f32;
            values[k] = hi;
            values[n + k] = match self.weights_lo.as_ref() {
                Some(lo) => lo[k] as f32,
                None => (*w - f64::from(hi)) as f32,
            };
            values[2 * n + k] = self.velocity[k] as f32;
        }
        Ok(values)
    }
}

/// Where the schedule stands: the next step is batch `batch` of epoch `epoch` (both from 0), and
/// `global_step` steps have run (the learning rate of step t is lr / (1 + decay·t)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub epoch: usize,
    pub batch: usize,
    pub global_step: usize,
}

/// The batch-order generator: ChaCha8 seeded with `seed`; epoch e draws from stream e, so the
/// order of the epoch to resume is `stream` = the checkpoint's epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    pub algorithm: String,
    pub seed: u64,
    pub stream: u64,
}

/// The data a checkpoint was made on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataShape {
    pub source: String,
    pub rows: usize,
    pub features: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<Label>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_rows: Option<usize>,
}

impl DataShape {
    pub fn of(data: &Dataset, validation: Option<&Dataset>) -> Self {
        DataShape {
            source: data.source.clone(),
            rows: data.n_rows(),
            features: data.n_features(),
            classes: data.classes.clone(),
            validation_rows: validation.map(Dataset::n_rows),
        }
    }
}

/// The driver's bookkeeping: what it has logged and what stopping rules have seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriverState {
    pub history: Vec<HistoryRow>,
    /// Best watched loss so far (none before the first epoch that watches one).
    pub best: Option<f64>,
    pub no_improvement: usize,
    /// With early stopping: the best epoch's weights and that epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_weights: Option<(Weights, usize)>,
    pub epochs_run: usize,
    pub steps_run: usize,
    /// The weights at the last log point.
    pub weights: Weights,
    /// Seconds spent in epochs so far (history times go on from here).
    pub seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    pub version: u32,
    /// Written because the run was interrupted (Ctrl-C, SIGTERM) rather than on schedule.
    pub interrupted: bool,
    pub device: String,
    pub config: FitConfig,
    pub data: DataShape,
    pub position: Position,
    pub rng: RngState,
    pub state: OptimizerState,
    pub driver: DriverState,
    /// The file it was read from (for errors; not stored).
    #[serde(skip)]
    pub file: PathBuf,
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.into(),
        message: message.into(),
    }
}

/// `{"a": {"b": 1}}` as `[("a.b", 1)]`, for naming the first setting that differs.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        _ => out.push((prefix.to_string(), value.clone())),
    }
}

fn settings(cfg: &FitConfig) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    if let Ok(value) = serde_json::to_value(cfg) {
        flatten("", &value, &mut out);
    }
    out.retain(|(k, _)| k != "epochs");
    out
}

fn shown(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "none".into(),
        Some(v) => v.to_string(),
    }
}

impl Checkpoint {
    /// Reads a checkpoint; a file that is not one, or is damaged, is a one-line error naming it.
    pub fn load(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Err(bad(path, "is a directory, expected a checkpoint file"));
        }
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::EmptyFile { path: path.into() });
        }
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| Error::Parse {
            path: path.into(),
            line: e.line() as u64,
            message: format!("not a valid checkpoint (JSON: {e})"),
        })?;
        let format = value.get("format").and_then(|f| f.as_str());
        if format != Some(CHECKPOINT_FORMAT) {
            return Err(bad(
                path,
                format!(
                    "not a gpu-regfit checkpoint (format = {}, expected \"{CHECKPOINT_FORMAT}\")",
                    shown(value.get("format"))
                ),
            ));
        }
        let version = value.get("version").and_then(|v| v.as_u64());
        if version != Some(CHECKPOINT_VERSION as u64) {
            return Err(bad(
                path,
                format!(
                    "checkpoint version {} is not supported (this build reads version {CHECKPOINT_VERSION})",
                    shown(value.get("version"))
                ),
            ));
        }
        let mut ck: Checkpoint = serde_json::from_value(value)
            .map_err(|e| bad(path, format!("damaged checkpoint: {e}")))?;
        ck.file = path.into();
        ck.check_consistent(path)?;
        Ok(ck)
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_vec(self).map_err(|e| bad(path, e.to_string()))?;
        crate::report::write_atomic(path, &text)
    }

    /// The parts agree with each other (a hand-edited or damaged file is refused here).
    fn check_consistent(&self, path: &Path) -> Result<()> {
        let width = self.driver.weights.values.len();
        let lens_ok = self.state.weights.len() == width
            && self.state.velocity.len() == width
            && self
                .state
                .weights_lo
                .as_ref()
                .is_none_or(|lo| lo.len() == width)
            && self.driver.weights.features == self.data.features
            && width
                == self
                    .driver
                    .weights
                    .layers()
                    .iter()
                    .map(|l| l.len())
                    .sum::<usize>();
        if !lens_ok {
            return Err(bad(
                path,
                format!(
                    "damaged checkpoint: the weights do not match {} features",
                    self.data.features
                ),
            ));
        }
        let finite = self
            .state
            .weights
            .iter()
            .chain(&self.state.velocity)
            .chain(self.state.weights_lo.iter().flatten())
            .all(|v| v.is_finite());
        if !finite {
            return Err(bad(path, "damaged checkpoint: non-finite weights"));
        }
        if self.rng.seed != self.config.seed || self.rng.stream != self.position.epoch as u64 {
            return Err(bad(
                path,
                "damaged checkpoint: the batch-order state does not match its seed and epoch",
            ));
        }
        Ok(())
    }

    /// Refuses to resume `cfg` on this data from this checkpoint unless the config (but for
    /// `epochs`) and the data shape are the ones it was made with.
    pub fn check_resumable(
        &self,
        cfg: &FitConfig,
        data: &Dataset,
        validation: Option<&Dataset>,
        steps_per_epoch: usize,
    ) -> Result<()> {
        let path = self.file.as_path();
        let shape = DataShape::of(data, validation);
        let describe = |s: &DataShape| {
            let mut t = format!("{} rows × {} features", s.rows, s.features);
            if let Some(c) = &s.classes {
                t.push_str(&format!(", {} classes", c.len()));
            }
            if let Some(v) = s.validation_rows {
                t.push_str(&format!(", {v} validation rows"));
            }
            t
        };
        let same_shape = self.data.rows == shape.rows
            && self.data.features == shape.features
            && self.data.classes == shape.classes
            && self.data.validation_rows == shape.validation_rows;
        if !same_shape {
            return Err(bad(
                path,
                format!(
                    "checkpoint was made on {} ({}), this run's data is {} ({})",
                    self.data.source,
                    describe(&self.data),
                    shape.source,
                    describe(&shape)
                ),
            ));
        }
        let then = settings(&self.config);
        let now = settings(cfg);
        let mut keys: Vec<&String> = then.iter().chain(&now).map(|(k, _)| k).collect();
        keys.sort();
        keys.dedup();
        let get = |list: &[(String, serde_json::Value)], key: &str| {
            list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        };
        for key in keys {
            let (a, b) = (get(&then, key), get(&now, key));
            if a.as_ref().filter(|v| !v.is_null()) != b.as_ref().filter(|v| !v.is_null()) {
                let hint = if key == "chunk_rows" {
                    " (pass the --gpu-memory-budget the checkpoint was made with)"
                } else {
                    " (only --epochs may change on --resume)"
                };
                return Err(bad(
                    path,
                    format!(
                        "checkpoint was made with {key} = {}, this run has {key} = {}{hint}",
                        shown(a.as_ref()),
                        shown(b.as_ref())
                    ),
                ));
            }
        }
        if self.position.batch > steps_per_epoch {
            return Err(bad(
                path,
                format!(
                    "damaged checkpoint: batch {} of an epoch of {steps_per_epoch}",
                    self.position.batch
                ),
            ));
        }
        if self.position.epoch >= cfg.epochs {
            return Err(Error::invalid(
                "epochs",
                cfg.epochs,
                format!(
                    "{} already ran {} epochs; pass a larger --epochs to train further",
                    path.display(),
                    self.position.epoch
                ),
            ));
        }
        Ok(())
    }
}
