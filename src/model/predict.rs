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

/// Predictions for row-major inputs: the value (regression) or, for two
/// classes, the positive class's probability. Multi-class models give
/// their probabilities through [`class_probabilities`].
pub fn scores(model: &ModelFile, x: &[f64], rows: usize) -> Result<Vec<f64>> {
    if rows == 0 {
        return Ok(Vec::new());
    }
    if matches!(model.estimator, Estimator::OneVsRest { .. }) {
        return Err(Error::usage(
            "a multi-class model gives one probability per class, not one score",
        ));
    }
    let classify = model.task == Task::Classification;
    estimator_scores(&model.estimator, classify, x, model.width())
}

/// Each row's probability of each class (rows of `classes.len()` values,
/// summing to 1), for a multi-class model.
pub fn class_probabilities(model: &ModelFile, x: &[f64], rows: usize) -> Result<Vec<Vec<f64>>> {
    let Estimator::OneVsRest { per_class } = &model.estimator else {
        return Err(Error::usage("not a multi-class model"));
    };
    if rows == 0 {
        return Ok(Vec::new());
    }
    let width = model.width();
    let per_class: Vec<Vec<f64>> = per_class
        .iter()
        .map(|e| estimator_scores(e, true, x, width))
        .collect::<Result<_>>()?;
    Ok((0..rows)
        .map(|r| {
            let row: Vec<f64> = per_class.iter().map(|s| s[r]).collect();
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                row.iter().map(|p| p / sum).collect()
            } else {
                vec![1.0 / row.len() as f64; row.len()]
            }
        })
        .collect())
}

/// The index of the most probable class (the first on a tie).
pub fn most_probable(probabilities: &[f64]) -> usize {
    probabilities
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, p)| {
            if *p > best.1 {
                (i, *p)
            } else {
                best
            }
        })
        .0
}

fn estimator_scores(
    estimator: &Estimator,
    classify: bool,
    x: &[f64],
    width: usize,
) -> Result<Vec<f64>> {
    Ok(match estimator {
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
        Estimator::OneVsRest { .. } => {
            return Err(Error::usage(
                "bad model file: one-vs-rest estimators nested in one another",
            ))
        }
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
    let output = output.to_string();
    if let (Estimator::OneVsRest { .. }, Some(classes)) = (&model.estimator, model.classes.clone())
    {
        let labels = classes
            .iter()
            .map(class_literal)
            .collect::<Result<Vec<_>>>()?;
        let best = per_row(model.clone(), &inputs, DataType::UInt32, |m, x, rows| {
            let p = class_probabilities(m, x, rows)?;
            Ok(Column::new(
                "class".into(),
                p.iter()
                    .map(|r| most_probable(r) as u32)
                    .collect::<Vec<_>>(),
            ))
        });
        let top = per_row(model.clone(), &inputs, DataType::Float64, |m, x, rows| {
            let p = class_probabilities(m, x, rows)?;
            Ok(Column::new(
                "probability".into(),
                p.iter().map(|r| r[most_probable(r)]).collect::<Vec<_>>(),
            ))
        });
        return frame.map_keep_rows(move |lf| {
            let label =
                labels
                    .iter()
                    .enumerate()
                    .skip(1)
                    .fold(labels[0].clone(), |rest, (i, l)| {
                        when(col("__etl_class").eq(lit(i as u32)))
                            .then(l.clone())
                            .otherwise(rest)
                    });
            lf.with_column(best.clone().alias("__etl_class"))
                .with_column(top.clone().alias(probability.as_str()))
                .with_column(label.alias(output.as_str()))
                .drop(cols(["__etl_class"]))
        });
    }
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
        _ => per_row(model.clone(), &inputs, DataType::Float64, |m, x, rows| {
            Ok(Column::new("score".into(), scores(m, x, rows)?))
        }),
    };
    match (model.task, model.classes.as_deref()) {
        (Task::Classification, Some([negative, positive])) => {
            let (neg, pos) = (class_literal(negative)?, class_literal(positive)?);
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
        (Task::Classification, _) => Err(Error::usage(
            "the model file's classes do not fit its estimator",
        )),
        (Task::Regression, _) => {
            frame.map_keep_rows(move |lf| lf.with_column(score.clone().alias(output.as_str())))
        }
    }
}

/// An expression computing `f` over the model inputs, batch by batch.
fn per_row(
    model: Arc<ModelFile>,
    inputs: &[Expr],
    dtype: DataType,
    f: fn(&ModelFile, &[f64], usize) -> Result<Column>,
) -> Expr {
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
            f(&model, &x, rows).map_err(|e| PolarsError::ComputeError(e.message.into()))
        },
        rest,
        move |_, _| Ok(Field::new("score".into(), dtype.clone())),
    )
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
