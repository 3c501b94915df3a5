//! The model file: versioned JSON that says everything needed to apply the
//! model to new rows: the features, how each is encoded, how missing values
//! are filled, the target's classes, the training split and metrics, and
//! the estimator itself. README.md, "Model files", documents the format.

use std::collections::BTreeMap;
use std::path::Path;

use super::trees::Tree;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FORMAT: &str = "etl-model";
/// Bumped when a reader of the previous version could misread the file.
/// Version 2 added multi-class models (`one-vs-rest`); version 1 files
/// (two classes at most) read unchanged.
pub const VERSION: u32 = 2;
const OLDEST_READABLE: u32 = 1;

/// More classes than this is almost surely an id column, not a target.
pub const MAX_CLASSES: usize = 100;

/// The ML library that trained the estimator.
pub const LIBRARY: &str = "smartcore 0.7";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Linear,
    Logistic,
    RandomForest,
    GradientBoosting,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Linear => "linear",
            Kind::Logistic => "logistic",
            Kind::RandomForest => "random-forest",
            Kind::GradientBoosting => "gradient-boosting",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    Regression,
    /// Two classes (the model gives the probability of the second, positive,
    /// one) or more (one model per class, one-vs-rest).
    Classification,
}

/// One input column and its encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Feature {
    /// Used as a float64 number; booleans are 0 and 1. A null or NaN becomes `impute`
    /// (the training rows' mean).
    Numeric { name: String, impute: f64 },
    /// One 0/1 indicator per category after the first (the reference, all
    /// zeros). A null or a category not seen in training is all zeros too.
    Categorical {
        name: String,
        categories: Vec<String>,
    },
}

impl Feature {
    pub fn name(&self) -> &str {
        match self {
            Feature::Numeric { name, .. } | Feature::Categorical { name, .. } => name,
        }
    }

    /// How many model inputs the feature becomes.
    pub fn width(&self) -> usize {
        match self {
            Feature::Numeric { .. } => 1,
            Feature::Categorical { categories, .. } => categories.len().saturating_sub(1),
        }
    }
}

/// How the model was trained and tested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Training {
    pub rows: u64,
    pub train_rows: u64,
    pub test_rows: u64,
    /// `random` (with test_fraction and seed) or `column NAME` (true = test row).
    pub split: String,
    pub test_fraction: Option<f64>,
    pub seed: Option<u64>,
    /// Rows left out because the target was null.
    pub null_target_rows: u64,
    /// Metrics come from `test` rows, or `train` rows when there were none.
    pub metrics_on: String,
    pub trained_at: String,
    pub etl_version: String,
    pub library: String,
}

/// Hyper-parameters (defaults follow scikit-learn's where they exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Params {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trees: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features_per_split: Option<usize>,
}

/// The fitted estimator.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Estimator {
    /// `intercept + Σ coefficients[i] · input[i]`; for logistic models that is
    /// the log-odds of the positive class.
    Linear {
        intercept: f64,
        coefficients: Vec<f64>,
    },
    /// The mean of regression trees (a random forest); for classification
    /// the trees are fitted on 0/1 and the mean is the positive class's probability.
    Forest { trees: Vec<Tree> },
    /// `init + learning-rate · Σ tree(input)` (log-odds for classification),
    /// each tree fitted to the residuals of the trees before it.
    #[serde(rename_all = "kebab-case")]
    Boosting {
        init: f64,
        learning_rate: f64,
        trees: Vec<Tree>,
    },
    /// More than two classes: one two-class estimator per class (that class
    /// against the rest), in the order of `classes`. A row's probabilities
    /// are the estimators' scores divided by their sum; the prediction is
    /// the most probable class (the first on a tie), as scikit-learn's
    /// `OneVsRestClassifier` does.
    #[serde(rename_all = "kebab-case")]
    OneVsRest { per_class: Vec<Estimator> },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ModelFile {
    pub format: String,
    pub version: u32,
    pub kind: Kind,
    pub task: Task,
    pub target: String,
    /// Classification: the target values in sorted order (with two, the
    /// negative one first); predictions are given in the target's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<serde_json::Value>>,
    pub features: Vec<Feature>,
    pub training: Training,
    pub params: Params,
    pub metrics: BTreeMap<String, f64>,
    pub estimator: Estimator,
}

impl ModelFile {
    pub fn width(&self) -> usize {
        self.features.iter().map(Feature::width).sum()
    }

    pub fn save(&self, path: &Path) -> Result<u64> {
        let text = serde_json::to_string(self).map_err(|e| Error::data(format!("model: {e}")))?;
        let bytes = format!("{text}\n");
        crate::cleanup::write_durably(path, bytes.as_bytes())
            .map_err(|e| Error::from(e).context(path.display()))?;
        Ok(bytes.len() as u64)
    }

    /// Reads a model file, checking its format and version first so that an
    /// unrelated JSON file or a newer model says so plainly.
    pub fn load(path: &Path) -> Result<ModelFile> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("{shown}: {}", crate::error::io_message(&e))))?;
        let head: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::usage(format!("{shown}: not a model file (not JSON: {e})")))?;
        if head.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(Error::usage(format!(
                "{shown}: not an etl model file (no \"format\": \"{FORMAT}\")"
            )));
        }
        match head.get("version").and_then(|v| v.as_u64()) {
            Some(v) if (OLDEST_READABLE as u64..=VERSION as u64).contains(&v) => {}
            Some(v) => {
                return Err(Error::usage(format!(
                    "{shown}: model file version {v}; this etl reads versions {OLDEST_READABLE} to {VERSION}"
                )))
            }
            None => {
                return Err(Error::usage(format!(
                    "{shown}: the model file has no version"
                )))
            }
        }
        let model: ModelFile = serde_json::from_value(head)
            .map_err(|e| Error::usage(format!("{shown}: bad model file: {e}")))?;
        model.check().map_err(|e| e.context(shown))?;
        Ok(model)
    }

    /// Checks that the estimator fits the features (a hand-edited or
    /// truncated file must fail here, not while scoring).
    fn check(&self) -> Result<()> {
        let classes = self.classes.as_ref().map_or(0, Vec::len);
        match (&self.task, &self.estimator) {
            (Task::Classification, Estimator::OneVsRest { per_class })
                if classes < 3 || per_class.len() != classes =>
            {
                return Err(Error::usage(format!(
                    "bad model file: {} one-vs-rest estimators for {classes} classes",
                    per_class.len()
                )));
            }
            (Task::Classification, Estimator::OneVsRest { .. }) => {}
            (Task::Classification, _) if classes != 2 => {
                return Err(Error::usage(format!(
                    "bad model file: a two-class estimator with {classes} classes"
                )))
            }
            (Task::Regression, Estimator::OneVsRest { .. }) => {
                return Err(Error::usage(
                    "bad model file: a regression model with one-vs-rest estimators",
                ))
            }
            _ => {}
        }
        check_estimator(&self.estimator, self.width(), true)
    }
}

fn check_estimator(estimator: &Estimator, width: usize, top: bool) -> Result<()> {
    match estimator {
        Estimator::Linear { coefficients, .. } if coefficients.len() != width => {
            Err(Error::usage(format!(
                "bad model file: {} coefficients for {width} inputs",
                coefficients.len()
            )))
        }
        Estimator::Linear { .. } => Ok(()),
        Estimator::Forest { trees } | Estimator::Boosting { trees, .. } => {
            if trees.is_empty() {
                return Err(Error::usage("bad model file: no trees"));
            }
            trees.iter().try_for_each(|t| t.check(width))
        }
        Estimator::OneVsRest { per_class } if top => per_class
            .iter()
            .try_for_each(|e| check_estimator(e, width, false)),
        Estimator::OneVsRest { .. } => Err(Error::usage(
            "bad model file: one-vs-rest estimators nested in one another",
        )),
    }
}
