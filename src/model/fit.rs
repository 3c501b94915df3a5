//! Training: read the features and target, split train and test rows,
//! encode (means and categories from the training rows only), fit with
//! smartcore, and measure on the test rows.

use polars::prelude::*;
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::linear_regression::{LinearRegression, LinearRegressionParameters};
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use super::encode::{self, MAX_CATEGORIES};
use super::file::MAX_CLASSES;
use super::file::{Estimator, Feature, Kind, ModelFile, Params, Task, Training};
use super::predict::{class_probabilities, scores, sigmoid};
use super::trees::Tree;
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameData};

/// What to train.
#[derive(Debug, Clone)]
pub struct FitRequest {
    pub kind: Kind,
    /// Default: classification for logistic models and for text or boolean
    /// targets, regression otherwise.
    pub task: Option<Task>,
    pub target: String,
    pub features: Vec<String>,
    /// Share of rows held out for testing, chosen at random with `seed`.
    pub test_fraction: f64,
    pub seed: u64,
    /// A boolean column choosing the test rows (true) instead of a random split.
    pub split_column: Option<String>,
    pub trees: Option<usize>,
    pub max_depth: Option<u16>,
    pub learning_rate: Option<f64>,
}

fn fit_failed(kind: Kind, e: impl std::fmt::Display) -> Error {
    Error::data(format!("fitting the {} model failed: {e}", kind.name()))
}

pub fn fit(mut frame: Frame, req: &FitRequest) -> Result<ModelFile> {
    let schema = frame.schema()?;
    let mut wanted = req.features.clone();
    wanted.push(req.target.clone());
    wanted.extend(req.split_column.clone());
    crate::names::require_columns(&schema, &wanted, "model fit")?;
    if req.features.is_empty() {
        return Err(Error::usage("name the features: --features a,b,c"));
    }
    if req.features.contains(&req.target) {
        return Err(Error::usage(format!(
            "'{}' is the target: it cannot also be a feature",
            req.target
        )));
    }
    if !(0.0..1.0).contains(&req.test_fraction) {
        return Err(Error::usage(format!(
            "--test-fraction {}: give a share from 0 up to (not including) 1",
            req.test_fraction
        )));
    }
    let numeric: Vec<bool> = req
        .features
        .iter()
        .map(|f| encode::check_feature_type(f, schema.get(f).expect("checked")))
        .collect::<Result<_>>()?;
    let target_type = schema.get(&req.target).expect("checked").clone();
    let task = task_for(req, &target_type)?;

    let frame = frame.into_lazy()?;
    let FrameData::Lazy(lf) = &frame.data else {
        unreachable!("into_lazy gives a plan")
    };
    let mut columns: Vec<Expr> = wanted.iter().map(|c| col(c.as_str())).collect();
    columns.dedup_by(|a, b| a == b);
    let all = lf
        .clone()
        .select(columns)
        .collect()
        .map_err(|e| frame.explain(e.into()))?;
    let rows = all.height() as u64;
    let df = all
        .lazy()
        .filter(col(req.target.as_str()).is_not_null())
        .collect()?;
    let null_target_rows = rows - df.height() as u64;

    let (y, classes) = target_values(&df, &req.target, task)?;
    let (train, test) = split(&df, req)?;
    if train.len() < 2 {
        return Err(Error::data(format!(
            "only {} training rows with a target: too few to fit a model",
            train.len()
        )));
    }
    let train_mask = {
        let mut m = vec![false; df.height()];
        for i in &train {
            m[*i] = true;
        }
        BooleanChunked::from_slice("train".into(), &m)
    };
    let train_df = df.filter(&train_mask)?;
    let features = req
        .features
        .iter()
        .zip(&numeric)
        .map(|(name, is_num)| feature(&train_df, name, *is_num))
        .collect::<Result<Vec<_>>>()?;
    let (x, width) = encode::matrix(&df, &features)?;
    if width == 0 {
        return Err(Error::data(
            "the features give the model no inputs (each text feature has a single value)",
        ));
    }
    let pick = |idx: &[usize]| -> (Vec<f64>, Vec<f64>) {
        let mut xs = Vec::with_capacity(idx.len() * width);
        for i in idx {
            xs.extend_from_slice(&x[i * width..(i + 1) * width]);
        }
        (xs, idx.iter().map(|i| y[*i]).collect())
    };
    let (x_train, y_train) = pick(&train);
    let classes_count = classes.as_ref().map_or(0, Vec::len);
    let (estimator, params) = if classes_count > 2 {
        one_vs_rest(
            req,
            classes.as_deref().unwrap_or_default(),
            &x_train,
            &y_train,
            width,
        )?
    } else {
        train_estimator(req, task, &x_train, &y_train, width)?
    };

    let mut model = ModelFile {
        format: super::file::FORMAT.into(),
        version: super::file::VERSION,
        kind: req.kind,
        task,
        target: req.target.clone(),
        classes,
        features,
        training: Training {
            rows,
            train_rows: train.len() as u64,
            test_rows: test.len() as u64,
            split: match &req.split_column {
                Some(c) => format!("column {c}"),
                None => "random".into(),
            },
            test_fraction: req.split_column.is_none().then_some(req.test_fraction),
            seed: req.split_column.is_none().then_some(req.seed),
            null_target_rows,
            metrics_on: if test.is_empty() { "train" } else { "test" }.into(),
            trained_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            etl_version: env!("CARGO_PKG_VERSION").into(),
            library: super::file::LIBRARY.into(),
        },
        params,
        metrics: Default::default(),
        estimator,
    };
    let (x_eval, y_eval) = if test.is_empty() {
        (x_train, y_train)
    } else {
        pick(&test)
    };
    model.metrics = match task {
        Task::Regression => {
            super::metrics::regression(&y_eval, &scores(&model, &x_eval, y_eval.len())?)
        }
        Task::Classification if classes_count > 2 => super::metrics::multi_class(
            &y_eval,
            &class_probabilities(&model, &x_eval, y_eval.len())?,
        ),
        Task::Classification => {
            super::metrics::classification(&y_eval, &scores(&model, &x_eval, y_eval.len())?)
        }
    };
    Ok(model)
}

fn task_for(req: &FitRequest, target: &DataType) -> Result<Task> {
    let task =
        match (req.kind, req.task) {
            (Kind::Logistic, Some(Task::Regression)) => return Err(Error::usage(
                "a logistic model classifies: use --kind linear (or a tree kind) for regression",
            )),
            (Kind::Linear, Some(Task::Classification)) => return Err(Error::usage(
                "a linear model does regression: use --kind logistic (or a tree kind) to classify",
            )),
            (Kind::Logistic, _) => Task::Classification,
            (Kind::Linear, _) => Task::Regression,
            (_, Some(t)) => t,
            (_, None) if encode::is_categorical(target) || target == &DataType::Boolean => {
                Task::Classification
            }
            (_, None) => Task::Regression,
        };
    if task == Task::Regression
        && !(target.is_primitive_numeric() || matches!(target, DataType::Decimal(..)))
    {
        return Err(Error::usage(format!(
            "target '{}' is {}: regression needs a number (or classify with --task classification)",
            req.target,
            crate::dtype::display_dtype(target)
        )));
    }
    Ok(task)
}

/// The target as numbers: the values for regression; for classification
/// the index of each row's class among the sorted target values (with two
/// classes: 0 and 1, the second value being the positive class).
fn target_values(
    df: &DataFrame,
    target: &str,
    task: Task,
) -> Result<(Vec<f64>, Option<Vec<serde_json::Value>>)> {
    let c = df.column(target)?;
    if task == Task::Regression {
        let f = c.cast(&DataType::Float64)?;
        return Ok((
            f.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            None,
        ));
    }
    let values = c
        .as_materialized_series()
        .unique()?
        .sort(SortOptions::default())?;
    if values.len() < 2 || values.len() > MAX_CLASSES {
        return Err(Error::data(format!(
            "target '{target}' has {} distinct values; classification needs 2 to {MAX_CLASSES}",
            values.len()
        )));
    }
    let json = |v: AnyValue| -> serde_json::Value {
        match v {
            AnyValue::Boolean(b) => b.into(),
            AnyValue::String(s) => s.into(),
            AnyValue::StringOwned(s) => s.to_string().into(),
            v if v.is_integer() => v.extract::<i64>().map(Into::into).unwrap_or_default(),
            v => v.extract::<f64>().map(Into::into).unwrap_or_default(),
        }
    };
    let classes = (0..values.len())
        .map(|i| Ok(json(values.get(i)?)))
        .collect::<Result<Vec<_>>>()?;
    let text = values.cast(&DataType::String)?;
    let index: std::collections::HashMap<&str, f64> = text
        .str()?
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((v?, i as f64)))
        .collect();
    let as_text = c.cast(&DataType::String)?;
    let y = as_text
        .str()?
        .iter()
        .map(|v| v.and_then(|v| index.get(v)).copied().unwrap_or(0.0))
        .collect();
    Ok((y, Some(classes)))
}

/// Row indices of the training and test rows.
fn split(df: &DataFrame, req: &FitRequest) -> Result<(Vec<usize>, Vec<usize>)> {
    let n = df.height();
    if let Some(name) = &req.split_column {
        let c = df.column(name)?;
        let b = c.bool().map_err(|_| {
            Error::usage(format!(
                "--split-column {name} is {}: it must be boolean (true marks a test row)",
                crate::dtype::display_dtype(c.dtype())
            ))
        })?;
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (i, v) in b.iter().enumerate() {
            if v == Some(true) {
                test.push(i)
            } else {
                train.push(i)
            }
        }
        return Ok((train, test));
    }
    let mut order: Vec<usize> = (0..n).collect();
    fastrand::Rng::with_seed(req.seed).shuffle(&mut order);
    let n_test = (n as f64 * req.test_fraction).round() as usize;
    let n_test = if req.test_fraction > 0.0 {
        n_test.max(1)
    } else {
        0
    }
    .min(n);
    let mut test = order[..n_test].to_vec();
    let mut train = order[n_test..].to_vec();
    test.sort_unstable();
    train.sort_unstable();
    Ok((train, test))
}

/// A feature's encoding from the training rows: the mean of a number, the
/// categories of a text column.
fn feature(train: &DataFrame, name: &str, numeric: bool) -> Result<Feature> {
    let c = train.column(name)?;
    if numeric {
        let f = c.cast(&DataType::Float64)?;
        let (sum, n) = f
            .f64()?
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        let impute = if n > 0 { sum / n as f64 } else { 0.0 };
        return Ok(Feature::Numeric {
            name: name.into(),
            impute,
        });
    }
    let text = c.cast(&DataType::String)?;
    let values = text
        .as_materialized_series()
        .drop_nulls()
        .unique()?
        .sort(SortOptions::default())?;
    if values.len() > MAX_CATEGORIES {
        return Err(Error::data(format!(
            "feature '{name}' has {} categories; at most {MAX_CATEGORIES} are supported (group rare ones first)",
            values.len()
        )));
    }
    let categories = values.str()?.iter().flatten().map(str::to_string).collect();
    Ok(Feature::Categorical {
        name: name.into(),
        categories,
    })
}

fn dense(x: &[f64], width: usize) -> Result<DenseMatrix<f64>> {
    DenseMatrix::new(x.len() / width, width, x.to_vec(), false)
        .map_err(|e| Error::data(format!("model inputs: {e}")))
}

/// One two-class estimator per class: that class (1) against the rest (0).
fn one_vs_rest(
    req: &FitRequest,
    classes: &[serde_json::Value],
    x: &[f64],
    y: &[f64],
    width: usize,
) -> Result<(Estimator, Params)> {
    let mut per_class = Vec::with_capacity(classes.len());
    let mut params = None;
    for (class, label) in classes.iter().enumerate() {
        let is_class: Vec<f64> = y
            .iter()
            .map(|v| if *v == class as f64 { 1.0 } else { 0.0 })
            .collect();
        if !is_class.contains(&1.0) {
            return Err(Error::data(format!(
                "target '{}': class {label} has no training rows (only test rows); \
                 use a larger training share or drop the class",
                req.target
            )));
        }
        let (e, p) = train_estimator(req, Task::Classification, x, &is_class, width)?;
        per_class.push(e);
        params = Some(p);
    }
    Ok((
        Estimator::OneVsRest { per_class },
        params.expect("at least three classes"),
    ))
}

fn train_estimator(
    req: &FitRequest,
    task: Task,
    x: &[f64],
    y: &[f64],
    width: usize,
) -> Result<(Estimator, Params)> {
    let kind = req.kind;
    let none = Params {
        trees: None,
        max_depth: None,
        learning_rate: None,
        features_per_split: None,
    };
    match kind {
        Kind::Linear => {
            let m = LinearRegression::fit(
                &dense(x, width)?,
                &y.to_vec(),
                LinearRegressionParameters::default(),
            )
            .map_err(|e| fit_failed(kind, e))?;
            let coefficients: Vec<f64> =
                (0..width).map(|i| *m.coefficients().get((i, 0))).collect();
            let intercept = *m.intercept();
            Ok((
                Estimator::Linear {
                    intercept,
                    coefficients,
                },
                none,
            ))
        }
        Kind::Logistic => {
            // Standardised inputs converge well; coefficients are scaled back.
            let n = y.len() as f64;
            let mut mean = vec![0.0; width];
            let mut sd = vec![0.0; width];
            for row in x.chunks(width) {
                for (j, v) in row.iter().enumerate() {
                    mean[j] += v / n;
                }
            }
            for row in x.chunks(width) {
                for (j, v) in row.iter().enumerate() {
                    sd[j] += (v - mean[j]).powi(2) / n;
                }
            }
            let sd: Vec<f64> = sd
                .iter()
                .map(|v| if *v > 0.0 { v.sqrt() } else { 1.0 })
                .collect();
            let z: Vec<f64> = x
                .iter()
                .enumerate()
                .map(|(i, v)| (v - mean[i % width]) / sd[i % width])
                .collect();
            let labels: Vec<i32> = y.iter().map(|v| *v as i32).collect();
            let m = LogisticRegression::fit(
                &dense(&z, width)?,
                &labels,
                LogisticRegressionParameters::default().with_alpha(0.0),
            )
            .map_err(|e| fit_failed(kind, e))?;
            let w: Vec<f64> = (0..width).map(|j| *m.coefficients().get((0, j))).collect();
            let b = *m.intercept().get((0, 0));
            let coefficients: Vec<f64> = w.iter().zip(&sd).map(|(w, s)| w / s).collect();
            let intercept = b - coefficients
                .iter()
                .zip(&mean)
                .map(|(c, m)| c * m)
                .sum::<f64>();
            Ok((
                Estimator::Linear {
                    intercept,
                    coefficients,
                },
                none,
            ))
        }
        Kind::RandomForest => {
            let trees = req.trees.unwrap_or(100);
            // scikit-learn's defaults: every input per split for regression, √inputs to classify.
            let m = match task {
                Task::Regression => width,
                Task::Classification => ((width as f64).sqrt().floor() as usize).max(1),
            };
            let mut p = RandomForestRegressorParameters::default()
                .with_n_trees(trees)
                .with_m(m)
                .with_seed(req.seed);
            if let Some(d) = req.max_depth {
                p = p.with_max_depth(d);
            }
            let forest = RandomForestRegressor::fit(&dense(x, width)?, &y.to_vec(), p)
                .map_err(|e| fit_failed(kind, e))?;
            let v = serde_json::to_value(&forest).map_err(|e| fit_failed(kind, e))?;
            let fitted = v
                .pointer("/forest_regressor/trees")
                .and_then(|t| t.as_array())
                .ok_or_else(|| fit_failed(kind, "no trees in the fitted forest"))?
                .iter()
                .map(Tree::from_smartcore)
                .collect::<Result<Vec<_>>>()?;
            Ok((
                Estimator::Forest { trees: fitted },
                Params {
                    trees: Some(trees),
                    max_depth: req.max_depth,
                    learning_rate: None,
                    features_per_split: Some(m),
                },
            ))
        }
        Kind::GradientBoosting => {
            let trees = req.trees.unwrap_or(100);
            let depth = req.max_depth.unwrap_or(3);
            let rate = req.learning_rate.unwrap_or(0.1);
            if !(rate > 0.0 && rate <= 1.0) {
                return Err(Error::usage(format!(
                    "--learning-rate {rate}: give a value in (0, 1]"
                )));
            }
            let xm = dense(x, width)?;
            let n = y.len() as f64;
            let mean = y.iter().sum::<f64>() / n;
            let init = match task {
                Task::Regression => mean,
                Task::Classification => {
                    let p = mean.clamp(1e-6, 1.0 - 1e-6);
                    (p / (1.0 - p)).ln()
                }
            };
            let mut f = vec![init; y.len()];
            let mut fitted = Vec::with_capacity(trees);
            let params = DecisionTreeRegressorParameters::default().with_max_depth(depth);
            for _ in 0..trees {
                // The negative gradient of squared error or log loss.
                let residual: Vec<f64> = match task {
                    Task::Regression => y.iter().zip(&f).map(|(a, p)| a - p).collect(),
                    Task::Classification => {
                        y.iter().zip(&f).map(|(a, p)| a - sigmoid(*p)).collect()
                    }
                };
                let tree = DecisionTreeRegressor::fit(&xm, &residual, params.clone())
                    .map_err(|e| fit_failed(kind, e))?;
                let step = tree.predict(&xm).map_err(|e| fit_failed(kind, e))?;
                for (fi, s) in f.iter_mut().zip(step) {
                    *fi += rate * s;
                }
                fitted.push(Tree::from_smartcore(&tree)?);
            }
            Ok((
                Estimator::Boosting {
                    init,
                    learning_rate: rate,
                    trees: fitted,
                },
                Params {
                    trees: Some(trees),
                    max_depth: Some(depth),
                    learning_rate: Some(rate),
                    features_per_split: None,
                },
            ))
        }
    }
}
