//! Trees as the model file stores them: flat arrays, one entry per node,
//! converted from smartcore's fitted trees. Scoring walks these arrays, so
//! a model file does not depend on smartcore's internal layout.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A regression tree. Node 0 is the root. An inner node sends a row to
/// `left` when `input[feature] <= threshold` and to `right` otherwise; a
/// node whose `left` is 0 is a leaf and predicts `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub feature: Vec<u32>,
    pub threshold: Vec<f64>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub value: Vec<f64>,
}

impl Tree {
    /// Converts a fitted smartcore regression tree through its serde form:
    /// `nodes[]` (a forest's trees) or `tree_regressor.nodes[]` (a
    /// `DecisionTreeRegressor`), each with `output`, `split_feature`,
    /// `split_value`, `true_child` and `false_child`.
    pub fn from_smartcore<T: Serialize>(tree: &T) -> Result<Tree> {
        let bad = |what: &str| Error::data(format!("reading a fitted smartcore tree: {what}"));
        let v = serde_json::to_value(tree).map_err(|e| bad(&e.to_string()))?;
        let nodes = v
            .pointer("/tree_regressor/nodes")
            .or_else(|| v.pointer("/nodes"))
            .and_then(|n| n.as_array())
            .ok_or_else(|| bad("no tree_regressor.nodes"))?;
        let mut t = Tree {
            feature: Vec::with_capacity(nodes.len()),
            threshold: Vec::with_capacity(nodes.len()),
            left: Vec::with_capacity(nodes.len()),
            right: Vec::with_capacity(nodes.len()),
            value: Vec::with_capacity(nodes.len()),
        };
        for n in nodes {
            let num = |k: &str| n.get(k).and_then(|v| v.as_f64());
            let child = |k: &str| n.get(k).and_then(|v| v.as_u64()).map(|c| c as u32);
            let value = num("output").ok_or_else(|| bad("a node without output"))?;
            match (child("true_child"), child("false_child")) {
                (Some(l), Some(r)) => {
                    let threshold =
                        num("split_value").ok_or_else(|| bad("a split without a value"))?;
                    let feature = n
                        .get("split_feature")
                        .and_then(|v| v.as_u64())
                        .ok_or_else(|| bad("a split without a feature"))?;
                    if l == 0 || r == 0 || l as usize >= nodes.len() || r as usize >= nodes.len() {
                        return Err(bad("a child out of range"));
                    }
                    t.feature.push(feature as u32);
                    t.threshold.push(threshold);
                    t.left.push(l);
                    t.right.push(r);
                }
                _ => {
                    t.feature.push(0);
                    t.threshold.push(0.0);
                    t.left.push(0);
                    t.right.push(0);
                }
            }
            t.value.push(value);
        }
        if t.value.is_empty() {
            return Err(bad("no nodes"));
        }
        Ok(t)
    }

    /// Checks the arrays of a loaded tree, so scoring cannot index out of bounds.
    pub fn check(&self, width: usize) -> Result<()> {
        let n = self.value.len();
        let ok = n > 0
            && [
                self.feature.len(),
                self.threshold.len(),
                self.left.len(),
                self.right.len(),
            ]
            .iter()
            .all(|l| *l == n)
            && (0..n).all(|i| {
                self.left[i] == 0
                    || ((self.left[i] as usize) < n
                        && (self.right[i] as usize) < n
                        && self.left[i] as usize > i
                        && self.right[i] as usize > i
                        && (self.feature[i] as usize) < width)
            });
        if ok {
            Ok(())
        } else {
            Err(Error::usage(
                "bad model file: a tree's arrays do not form a tree over the model's inputs",
            ))
        }
    }

    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut i = 0usize;
        loop {
            let l = self.left[i];
            if l == 0 {
                return self.value[i];
            }
            i = if row[self.feature[i] as usize] <= self.threshold[i] {
                l as usize
            } else {
                self.right[i] as usize
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartcore::linalg::basic::matrix::DenseMatrix;
    use smartcore::tree::decision_tree_regressor::{
        DecisionTreeRegressor, DecisionTreeRegressorParameters,
    };

    #[test]
    fn converted_trees_predict_as_smartcore_does() {
        let mut rng = fastrand::Rng::with_seed(3);
        let (rows, width) = (300, 3);
        let x: Vec<f64> = (0..rows * width).map(|_| rng.f64() * 10.0).collect();
        let y: Vec<f64> = x
            .chunks(width)
            .map(|r| if r[0] > 5.0 { r[1] * 2.0 } else { -r[2] })
            .collect();
        let m = DenseMatrix::new(rows, width, x.clone(), false).unwrap();
        let fitted = DecisionTreeRegressor::fit(
            &m,
            &y,
            DecisionTreeRegressorParameters::default().with_max_depth(6),
        )
        .unwrap();
        let expected = fitted.predict(&m).unwrap();
        let tree = Tree::from_smartcore(&fitted).unwrap();
        tree.check(width).unwrap();
        assert!(tree.value.len() > 10);
        for (row, e) in x.chunks(width).zip(expected) {
            assert_eq!(tree.predict_row(row), e);
        }
        let mut broken = tree.clone();
        broken.left[0] = 10_000;
        assert!(broken.check(width).is_err());
    }
}
