//! `predict`: a saved model (any model file gpu-regfit wrote, version 0.1's linear ones included)
//! applied to new data, in f64 on the CPU. The data's columns are matched to the model's features
//! by name where the names are known, and the model's width is checked.

use crate::config::Model;
use crate::data::{labels, Dataset, Label};
use crate::error::{Error, Result};
use crate::objective::{self, Metrics};
use crate::report::{CoefJson, InterceptJson, NetworkJson, MODEL_FORMAT};
use crate::weights::Weights;
use ndarray::Axis;
use serde::Deserialize;
use std::path::Path;

/// The fields of a model file that prediction needs (the rest is a record of the fit).
#[derive(Deserialize)]
struct SavedModel {
    #[serde(default)]
    format: Option<String>,
    model: String,
    #[serde(default)]
    classes: Option<Vec<Label>>,
    #[serde(default)]
    coef: Option<CoefJson>,
    #[serde(default)]
    intercept: Option<InterceptJson>,
    #[serde(default)]
    network: Option<NetworkJson>,
    feature_names: Vec<String>,
    #[serde(default)]
    target_name: String,
}

/// Rows per block of `predict` (a network's forward pass runs a block at a time).
const PREDICT_ROWS: usize = 4096;

/// A model ready to predict.
#[derive(Clone, Debug)]
pub struct Predictor {
    pub model: Model,
    pub weights: Weights,
    pub classes: Option<Vec<Label>>,
    pub feature_names: Vec<String>,
    pub target_name: String,
}

/// Predictions for every row: the value (regression) or class index, and class probabilities.
#[derive(Clone, Debug)]
pub struct Predictions {
    pub values: Vec<f64>,
    /// Rows × K probabilities (classifiers only).
    pub proba: Option<ndarray::Array2<f64>>,
}

impl Predictor {
    /// Reads and checks a model file: a clear error for anything that is not a gpu-regfit model.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |message: String| Error::Format {
            path: path.into(),
            message: format!("not a gpu-regfit model: {message}"),
        };
        let saved: SavedModel = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if let Some(f) = &saved.format {
            if f != MODEL_FORMAT {
                return Err(bad(format!("format is `{f}`, expected `{MODEL_FORMAT}`")));
            }
        }
        let model = match saved.model.as_str() {
            "linear" => Model::Linear,
            "logistic" => Model::Logistic,
            "softmax" => Model::Softmax,
            other => return Err(bad(format!("unknown model `{other}`"))),
        };
        let d = saved.feature_names.len();
        let weights = match (model, &saved.coef, &saved.intercept, &saved.network) {
            (Model::Linear | Model::Softmax, None, None, Some(net)) => {
                let w = net.weights(d).map_err(bad)?;
                if model == Model::Linear && w.outputs != 1 {
                    return Err(bad(
                        "a network with a linear output has one output unit".into()
                    ));
                }
                w
            }
            (
                Model::Linear | Model::Logistic,
                Some(CoefJson::Vector(c)),
                Some(InterceptJson::Scalar(b)),
                None,
            ) => Weights::from_parts(std::slice::from_ref(c), &[*b]),
            (
                Model::Softmax,
                Some(CoefJson::Matrix(rows)),
                Some(InterceptJson::Vector(b)),
                None,
            ) if rows.len() == b.len() && !rows.is_empty() => Weights::from_parts(rows, b),
            _ => {
                return Err(bad(format!(
                    "coef and intercept do not have the shape of a {} model",
                    saved.model
                )))
            }
        };
        if !weights.is_network()
            && (weights.features != d || weights.values.len() != weights.outputs * (d + 1))
        {
            return Err(bad(format!(
                "coef rows must have {d} numbers, one per feature name"
            )));
        }
        if !weights.is_finite() {
            return Err(bad("coef or intercept holds a non-finite number".into()));
        }
        let classes_needed = match model {
            Model::Linear => None,
            Model::Logistic => Some(2),
            Model::Softmax => Some(weights.outputs),
        };
        match (classes_needed, &saved.classes) {
            (None, _) => {}
            (Some(k), Some(c)) if c.len() == k => {}
            (Some(k), _) => {
                return Err(bad(format!(
                    "a {} model needs `classes` with {k} labels",
                    saved.model
                )))
            }
        }
        Ok(Predictor {
            model,
            weights,
            classes: saved.classes.filter(|_| model.is_classifier()),
            feature_names: saved.feature_names,
            target_name: saved.target_name,
        })
    }

    /// Puts the columns of `data` in the model's feature order: by name when every feature name of
    /// the model is a column, else by position when the count matches (with a warning line
    /// returned), else an error naming both counts.
    pub fn align(&self, data: Dataset) -> Result<(Dataset, Option<String>)> {
        let d = self.feature_names.len();
        if *data.names() == *self.feature_names {
            return Ok((data, None));
        }
        if data.is_sparse() {
            // LIBSVM/.npz columns are positions (f1, f2, ...): the model's width decides.
            if data.n_features() == d {
                return Ok((data, None));
            }
            return Err(Error::Format {
                path: data.source.clone().into(),
                message: format!(
                    "has {} feature columns but the model has {d} (pass --features {d} for LIBSVM)",
                    data.n_features()
                ),
            });
        }
        let positions: Option<Vec<usize>> = self
            .feature_names
            .iter()
            .map(|name| data.feature_names.iter().position(|c| c == name))
            .collect();
        if let Some(cols) = positions {
            let extra: Vec<&str> = data
                .feature_names
                .iter()
                .filter(|c| !self.feature_names.contains(c))
                .map(String::as_str)
                .collect();
            let warning = (!extra.is_empty()).then(|| {
                format!(
                    "warning: ignoring columns of {} that are not features of the model: {}",
                    data.source,
                    preview_str(&extra)
                )
            });
            let mut aligned = data.clone();
            // select along columns gives a column-major array; X is kept row-major.
            aligned.x = data
                .x
                .view()
                .select(Axis(1), &cols)
                .as_standard_layout()
                .into_owned()
                .into();
            aligned.feature_names = self.feature_names.clone();
            return Ok((aligned, warning));
        }
        if data.n_features() == d {
            let warning = format!(
                "warning: the columns of {} are not named as the model's features; matching them by position",
                data.source
            );
            return Ok((data, Some(warning)));
        }
        Err(Error::Format {
            path: data.source.clone().into(),
            message: format!(
                "has {} feature columns but the model was fitted on {d} ({})",
                data.n_features(),
                preview(&self.feature_names)
            ),
        })
    }

    /// Maps the labels in `data`'s target to the model's classes (unseen labels are an error).
    pub fn encode_target(&self, data: &mut Dataset) -> Result<()> {
        match &self.classes {
            Some(classes) => labels::encode_with(data, classes),
            None => labels::encode(data, Model::Linear, 0),
        }
    }

    pub fn predict(&self, data: &Dataset) -> Predictions {
        let n = data.n_rows();
        let mut values = Vec::with_capacity(n);
        let mut proba = self
            .model
            .is_classifier()
            .then(|| ndarray::Array2::<f64>::zeros((n, self.classes.as_ref().map_or(1, Vec::len))));
        let mut z_row = vec![0.0; self.weights.outputs];
        for b in 0..n.div_ceil(PREDICT_ROWS) {
            let rows = b * PREDICT_ROWS..((b + 1) * PREDICT_ROWS).min(n);
            let logits = match data.x.csr() {
                // Sparse rows one by one (a network needs dense data: see fit's checks).
                Some(_) => {
                    let mut l = ndarray::Array2::zeros((rows.len(), self.weights.outputs));
                    for (r, i) in rows.clone().enumerate() {
                        self.weights.logits_row(data.row(i), &mut z_row);
                        l.row_mut(r).assign(&ndarray::ArrayView1::from(&z_row));
                    }
                    l
                }
                None => self
                    .weights
                    .logits(data.x.view().slice(ndarray::s![rows.clone(), ..])),
            };
            for (r, z) in logits.rows().into_iter().enumerate() {
                let z = z.as_slice().expect("standard layout");
                if !self.model.is_classifier() {
                    values.push(z[0]);
                    continue;
                }
                values.push(objective::predicted_class(self.model, z) as f64);
                if let Some(pr) = proba.as_mut() {
                    let mut out = pr.row_mut(b * PREDICT_ROWS + r);
                    let out = out.as_slice_mut().expect("standard layout");
                    objective::probabilities(self.model, z, out);
                }
            }
        }
        Predictions { values, proba }
    }

    /// Loss and accuracy against the labels (or targets) in `data`.
    pub fn score(&self, data: &Dataset) -> Metrics {
        objective::metrics(self.model, data, &self.weights)
    }

    /// The predictions as CSV: `prediction` (the value, or the original class label), then with
    /// `proba` one `proba_<label>` column per class.
    pub fn csv(&self, predictions: &Predictions, proba: bool) -> Result<Vec<u8>> {
        let err = |e: csv::Error| Error::Format {
            path: "predictions".into(),
            message: e.to_string(),
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["prediction".to_string()];
        let classes = self.classes.as_deref().unwrap_or(&[]);
        if proba {
            header.extend(classes.iter().map(|c| format!("proba_{c}")));
        }
        w.write_record(&header).map_err(err)?;
        let mut record = Vec::with_capacity(header.len());
        for (i, v) in predictions.values.iter().enumerate() {
            record.clear();
            if self.model.is_classifier() {
                record.push(classes[*v as usize].to_string());
            } else {
                record.push(v.to_string());
            }
            if let (true, Some(p)) = (proba, &predictions.proba) {
                record.extend(p.row(i).iter().map(|v| v.to_string()));
            }
            w.write_record(&record).map_err(err)?;
        }
        w.into_inner().map_err(|e| Error::Format {
            path: "predictions".into(),
            message: e.to_string(),
        })
    }
}

fn preview(names: &[String]) -> String {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    preview_str(&names)
}

fn preview_str(names: &[&str]) -> String {
    crate::data::labels::preview(names.iter(), 5)
}
