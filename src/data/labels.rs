//! Class labels: the target column of a classifier is mapped to class indices 0..K−1 in sorted
//! order, and the original labels are kept (in the dataset and the model JSON) to map predictions
//! back. Numeric labels must be integers (0/1, −1/+1, 0..9); any non-numeric cell makes the whole
//! column text labels ("cat", "dog").

use super::Dataset;
use crate::config::Model;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// One original class label.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Int(i64),
    Text(String),
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Int(v) => write!(f, "{v}"),
            Label::Text(s) => f.write_str(s),
        }
    }
}

/// Default of `--max-classes`.
pub const DEFAULT_MAX_CLASSES: usize = 1000;

/// The first `max` items joined by ", ", then ", ..." when there are more (for error lines).
pub fn preview<T: fmt::Display>(items: impl ExactSizeIterator<Item = T>, max: usize) -> String {
    let more = if items.len() > max { ", ..." } else { "" };
    let shown: Vec<String> = items.take(max).map(|t| t.to_string()).collect();
    format!("{}{more}", shown.join(", "))
}

fn list(labels: &[Label]) -> String {
    preview(labels.iter().map(|l| format!("`{l}`")), 6)
}

/// The labels of every row, before encoding.
fn raw_labels(data: &Dataset) -> Result<Vec<Label>> {
    let bad = |row: usize, value: &str, reason: &str| Error::Label {
        path: data.source.clone().into(),
        location: data.locate(row),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    match &data.target_text {
        Some(text) => {
            if let Some(row) = text.iter().position(|t| t.is_empty()) {
                return Err(bad(row, "", "is empty"));
            }
            let numbers: Option<Vec<f64>> = text.iter().map(|t| t.parse::<f64>().ok()).collect();
            match numbers {
                Some(values) => values
                    .iter()
                    .zip(text)
                    .enumerate()
                    .map(|(row, (&v, t))| integer_label(v).ok_or_else(|| bad(row, t, NOT_INTEGER)))
                    .collect(),
                None => Ok(text.iter().map(|t| Label::Text(t.clone())).collect()),
            }
        }
        None => data
            .y
            .iter()
            .enumerate()
            .map(|(row, &v)| {
                integer_label(v as f64).ok_or_else(|| bad(row, &v.to_string(), NOT_INTEGER))
            })
            .collect(),
    }
}

const NOT_INTEGER: &str =
    "is not an integer; numeric class labels must be integers (text labels are also accepted)";

fn integer_label(v: f64) -> Option<Label> {
    (v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15).then_some(Label::Int(v as i64))
}

/// Maps the target of `data` to class indices for `model`, checking the class count, and stores
/// the sorted labels in `data.classes`. Regression data is left as it is.
pub fn encode(data: &mut Dataset, model: Model, max_classes: usize) -> Result<()> {
    if !model.is_classifier() {
        if data.target_text.is_some() {
            return Err(Error::Format {
                path: data.source.clone().into(),
                message: "the target column is text; --model linear needs numbers".into(),
            });
        }
        return Ok(());
    }
    let raw = raw_labels(data)?;
    let mut distinct = BTreeSet::new();
    for label in &raw {
        distinct.insert(label.clone());
        if distinct.len() > max_classes {
            return Err(Error::invalid(
                "max-classes",
                max_classes,
                format!(
                    "the target `{}` of {} has more than {max_classes} distinct labels; raise --max-classes if that is intended",
                    data.target_name, data.source
                ),
            ));
        }
    }
    let classes: Vec<Label> = distinct.into_iter().collect();
    let problem = match (model, classes.len()) {
        (Model::Logistic, 2) | (Model::Softmax, 2..) => None,
        (Model::Logistic, k) => Some(format!(
            "has {k} distinct label{} ({}); --model logistic needs exactly two (use --model softmax for more)",
            if k == 1 { "" } else { "s" },
            list(&classes)
        )),
        (_, k) => Some(format!(
            "has {k} class ({}); --model softmax needs at least two",
            list(&classes)
        )),
    };
    if let Some(message) = problem {
        return Err(Error::Format {
            path: data.source.clone().into(),
            message: format!("target `{}` {message}", data.target_name),
        });
    }
    apply(data, raw, classes)
}

/// Maps the target of `data` (a validation or test file) to the indices of a model's `classes`;
/// a label the model has never seen is an error naming its line.
pub fn encode_with(data: &mut Dataset, classes: &[Label]) -> Result<()> {
    let raw = raw_labels(data)?;
    apply(data, raw, classes.to_vec())
}

fn apply(data: &mut Dataset, raw: Vec<Label>, classes: Vec<Label>) -> Result<()> {
    let index: std::collections::HashMap<&Label, usize> =
        classes.iter().enumerate().map(|(k, l)| (l, k)).collect();
    for (row, (label, y)) in raw.iter().zip(data.y.iter_mut()).enumerate() {
        match index.get(label) {
            Some(&k) => *y = k as f32,
            None => {
                return Err(Error::Label {
                    path: data.source.clone().into(),
                    location: data.locate(row),
                    value: label.to_string(),
                    reason: format!("is not one of the model's classes ({})", list(&classes)),
                })
            }
        }
    }
    data.target_text = None;
    data.classes = Some(classes);
    Ok(())
}
