//! The `predict` op: adds a trained model's prediction as a column
//! (`predict = { model = "models/trx.json", output = "trx_pred" }`). See
//! `etl model` and crate::model.

use std::path::Path;

use super::spec::Predict;
use crate::error::Result;
use crate::frame::Frame;

/// The column name when `output` is not given.
pub const DEFAULT_OUTPUT: &str = "prediction";

pub fn predict(frame: Frame, p: &Predict) -> Result<Frame> {
    let output = p.output.as_deref().unwrap_or(DEFAULT_OUTPUT);
    crate::model::predict(frame, Path::new(&p.model), output)
}
