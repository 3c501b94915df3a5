//! Applying a model to a frame. Linear and logistic models become polars
//! expressions; tree models run batch by batch inside an elementwise
//! expression. Either way scoring is row-local, so a piped or lazy table
//! streams through it.

use std::sync::Arc;

use polars::prelude::*;

use super::encode::{self, row_major};
use super::file::{Estimator, ModelFile, Task};
use crate::error::{Error, Result};
use crate::frame::Frame;

/// Predictions for row-major inputs: the value (regression) or the positive
/// class's probability (classification).
pub fn scores(model: &ModelFile, x: &[f64], rows: usize) -> Result<Vec<f64>> {
    let width = model.width();
    if rows == 0 {
        return Ok(Vec::new());
    }
    let classify = model.task == Task::Classification;
    Ok(match &model.estimator {
        Estimator::Linear {
            intercept,
            coefficients,
        } => {
            if coefficients.len() != width {
                return Err(Error::usage(format!(
                    "the model file has {} coefficients for {width} inputs",
                    coefficients.len()
                )));
            }
            x.chunks(width)
                .map(|row| {
                    let z = intercept
                        + row
                            .iter()
                            .zip(coefficients)
                            .map(|(a, b)| a * b)
                            .sum::<f64>();
                    if classify {
                        sigmoid(z)
                    } else {
                        z
                    }
                })
                .collect()
        }
        Estimator::Forest { trees } => {
            let n = trees.len() as f64;
            x.chunks(width)
                .map(|row| trees.iter().map(|t| t.predict_row(row)).sum::<f64>() / n)
                .map(|p| if classify { p.clamp(0.0, 1.0) } else { p })
                .collect()
        }
        Estimator::Boosting {
            init,
            learning_rate,
            trees,
        } => x
            .chunks(width)
            .map(|row| init + learning_rate * trees.iter().map(|t| t.predict_row(row)).sum::<f64>())
            .map(|f| if classify { sigmoid(f) } else { f })
            .collect(),
    })
}

/// Adds the prediction as column `output` (and, for classification,
/// `output_probability`). Fails, naming the column, when a feature is
/// missing or has a type the model cannot use.
pub fn predict_frame(
    mut frame: Frame,
    model: Arc<ModelFile>,
    shown: &str,
    output: &str,
) -> Result<Frame> {
    let schema = frame.schema()?;
    encode::check_table(&model.features, &schema, shown)?;
    let probability = format!("{output}_probability");
    for name in [output, probability.as_str()] {
        if schema.contains(name) && (name == output || model.task == Task::Classification) {
            return Err(Error::usage(format!(
                "the input already has a column '{name}': name the prediction with another output"
            )));
        }
    }
    let inputs: Vec<Expr> = model.features.iter().flat_map(encode::inputs).collect();
    let score = match &model.estimator {
        Estimator::Linear {
            intercept,
            coefficients,
        } => {
            let z = inputs
                .iter()
                .zip(coefficients)
                .fold(lit(*intercept), |acc, (x, c)| acc + x.clone() * lit(*c));
            match model.task {
                Task::Classification => lit(1.0) / (lit(1.0) + (-z).exp()),
                Task::Regression => z,
            }
        }
        _ => {
            let m = model.clone();
            let (first, rest) = inputs.split_first().expect("a model has inputs");
            first.clone().map_many(
                move |cols: &mut [Column]| {
                    let rows = cols.first().map(|c| c.len()).unwrap_or(0);
                    let columns: Vec<Vec<f64>> = cols
                        .iter()
                        .map(|c| {
                            let c = c.cast(&DataType::Float64)?;
                            Ok(c.f64()?.iter().map(|v| v.unwrap_or(0.0)).collect())
                        })
                        .collect::<PolarsResult<_>>()?;
                    let x = row_major(&columns, rows);
                    let s = scores(&m, &x, rows)
                        .map_err(|e| PolarsError::ComputeError(e.message.into()))?;
                    Ok(Column::new("score".into(), s))
                },
                rest,
                |_, _| Ok(Field::new("score".into(), DataType::Float64)),
            )
        }
    };
    let output = output.to_string();
    match (model.task, model.classes.clone()) {
        (Task::Classification, Some([negative, positive])) => {
            let (neg, pos) = (class_literal(&negative)?, class_literal(&positive)?);
            frame.map_keep_rows(move |lf| {
                lf.with_column(score.clone().alias(probability.as_str()))
                    .with_column(
                        when(col(probability.as_str()).gt_eq(lit(0.5)))
                            .then(pos.clone())
                            .otherwise(neg.clone())
                            .alias(output.as_str()),
                    )
            })
        }
        (Task::Classification, None) => Err(Error::usage(
            "the model file has no classes for its classification",
        )),
        (Task::Regression, _) => {
            frame.map_keep_rows(move |lf| lf.with_column(score.clone().alias(output.as_str())))
        }
    }
}

/// A class label as a literal of the target's type.
fn class_literal(v: &serde_json::Value) -> Result<Expr> {
    Ok(match v {
        serde_json::Value::Bool(b) => lit(*b),
        serde_json::Value::String(s) => lit(s.clone()),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => lit(i),
            (None, Some(f)) => lit(f),
            _ => return Err(Error::usage(format!("class {n} is out of range"))),
        },
        other => {
            return Err(Error::usage(format!(
                "the model file has a class {other}, not a value"
            )))
        }
    })
}

/// The logistic function: a log-odds score to a probability.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}
