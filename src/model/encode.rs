//! From columns to model inputs: which columns are numbers and which are
//! categories, the encoding of each (as polars expressions, so scoring
//! streams), and the checks that a table fits a model.

use polars::prelude::*;

use super::file::Feature;
use crate::error::{Error, Result};

/// Most categories one text feature may have.
pub const MAX_CATEGORIES: usize = 1000;

/// Whether a column type is used as a number.
pub fn is_numeric(t: &DataType) -> bool {
    t.is_primitive_numeric() || matches!(t, DataType::Boolean | DataType::Decimal(..))
}

pub fn is_categorical(t: &DataType) -> bool {
    matches!(
        t,
        DataType::String | DataType::Categorical(..) | DataType::Enum(..)
    )
}

/// The kind of feature a column makes, or why it cannot be one.
pub fn check_feature_type(name: &str, t: &DataType) -> Result<bool> {
    if is_numeric(t) {
        Ok(true)
    } else if is_categorical(t) {
        Ok(false)
    } else {
        Err(Error::usage(format!(
            "feature '{name}' is {}: features are numbers, booleans or text (derive a number from it first)",
            crate::dtype::display_dtype(t)
        )))
    }
}

/// The model inputs of one feature as float64 expressions.
pub fn inputs(feature: &Feature) -> Vec<Expr> {
    match feature {
        Feature::Numeric { name, impute } => {
            let v = col(name.as_str()).cast(DataType::Float64);
            vec![when(v.clone().is_nan())
                .then(lit(*impute))
                .otherwise(v)
                .fill_null(lit(*impute))]
        }
        Feature::Categorical { name, categories } => categories
            .iter()
            .skip(1)
            .map(|c| {
                col(name.as_str())
                    .cast(DataType::String)
                    .eq(lit(c.as_str()))
                    .fill_null(lit(false))
                    .cast(DataType::Float64)
            })
            .collect(),
    }
}

/// Fails unless every feature is present with a usable type: a missing or
/// mistyped column is named, with what the model expects.
pub fn check_table(features: &[Feature], schema: &Schema, model: &str) -> Result<()> {
    for f in features {
        let name = f.name();
        let Some(t) = schema.get(name) else {
            let known: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
            let hint = crate::names::closest(name, &known)
                .map(|c| format!(" (did you mean '{c}'?)"))
                .unwrap_or_default();
            return Err(Error::data(format!(
                "{model}: the input has no column '{name}'{hint}, a feature of the model; the columns are: {}",
                known.join(", ")
            )));
        };
        let fits = match f {
            Feature::Numeric { .. } => is_numeric(t),
            Feature::Categorical { .. } => is_categorical(t),
        };
        if !fits {
            let wanted = match f {
                Feature::Numeric { .. } => "a number (or boolean)",
                Feature::Categorical { .. } => "text (a categorical feature)",
            };
            return Err(Error::data(format!(
                "{model}: column '{name}' is {}, but the model was trained with it as {wanted}",
                crate::dtype::display_dtype(t)
            )));
        }
    }
    Ok(())
}

/// Row-major float64 inputs of a frame's rows, encoded as the features say.
pub fn matrix(df: &DataFrame, features: &[Feature]) -> Result<(Vec<f64>, usize)> {
    let exprs: Vec<Expr> = features
        .iter()
        .flat_map(inputs)
        .enumerate()
        .map(|(i, e)| e.alias(format!("__x{i}")))
        .collect();
    let width = exprs.len();
    let encoded = df.clone().lazy().select(exprs).collect()?;
    let columns: Vec<Vec<f64>> = encoded
        .columns()
        .iter()
        .map(|c| Ok(c.f64()?.iter().map(|v| v.unwrap_or(0.0)).collect()))
        .collect::<Result<_>>()?;
    Ok((row_major(&columns, df.height()), width))
}

/// Interleaves columns into rows.
pub fn row_major(columns: &[Vec<f64>], rows: usize) -> Vec<f64> {
    let width = columns.len();
    let mut out = vec![0.0; rows * width];
    for (j, c) in columns.iter().enumerate() {
        for (i, v) in c.iter().enumerate() {
            out[i * width + j] = *v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_become_indicators_after_the_reference() {
        let df = df!("s" => [Some("a"), Some("b"), None, Some("zz")], "x" => [Some(1.0), None, Some(f64::NAN), Some(4.0)]).unwrap();
        let features = vec![
            Feature::Categorical {
                name: "s".into(),
                categories: vec!["a".into(), "b".into(), "c".into()],
            },
            Feature::Numeric {
                name: "x".into(),
                impute: 2.5,
            },
        ];
        let (m, width) = matrix(&df, &features).unwrap();
        assert_eq!(width, 3);
        assert_eq!(
            m,
            vec![0.0, 0.0, 1.0, 1.0, 0.0, 2.5, 0.0, 0.0, 2.5, 0.0, 0.0, 4.0]
        );
    }

    #[test]
    fn a_missing_or_mistyped_column_is_named() {
        let schema = Schema::from_iter([
            Field::new("years".into(), DataType::String),
            Field::new("state".into(), DataType::String),
        ]);
        let f = vec![Feature::Numeric {
            name: "years".into(),
            impute: 0.0,
        }];
        let e = check_table(&f, &schema, "m.json").unwrap_err();
        assert!(e.message.contains("column 'years' is str"), "{}", e.message);
        let f = vec![Feature::Numeric {
            name: "stat".into(),
            impute: 0.0,
        }];
        let e = check_table(&f, &schema, "m.json").unwrap_err();
        assert!(
            e.message
                .contains("no column 'stat' (did you mean 'state'?)"),
            "{}",
            e.message
        );
    }
}
