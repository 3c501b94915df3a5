//! `etl model`: train a model on a table (`fit`) and apply it (`predict`,
//! also the `predict` op). Linear and logistic regression, random forests
//! and decision trees come from smartcore (pure Rust); gradient boosting is
//! a small loop here over smartcore's regression trees. The model file is
//! versioned JSON ([`file`]).

mod encode;
pub mod file;
mod fit;
mod metrics;
mod predict;
mod trees;

use std::path::Path;
use std::sync::Arc;

pub use file::{Kind, ModelFile, Task};
pub use fit::{fit, FitRequest};
pub use predict::scores;

use crate::error::Result;
use crate::frame::Frame;

/// Loads `model` and adds its prediction to the frame as column `output`.
pub fn predict(frame: Frame, model: &Path, output: &str) -> Result<Frame> {
    let m = Arc::new(ModelFile::load(model)?);
    predict::predict_frame(frame, m, &model.display().to_string(), output)
}
