//! Model metrics with scikit-learn's definitions: R², MAE, RMSE for
//! regression; accuracy, F1 (of the positive class) and ROC AUC for two
//! classes; accuracy, macro F1 and macro one-vs-rest ROC AUC for more.

use std::collections::BTreeMap;

pub fn regression(y: &[f64], pred: &[f64]) -> BTreeMap<String, f64> {
    let n = y.len().max(1) as f64;
    let mean = y.iter().sum::<f64>() / n;
    let ss_res: f64 = y.iter().zip(pred).map(|(a, p)| (a - p).powi(2)).sum();
    let ss_tot: f64 = y.iter().map(|a| (a - mean).powi(2)).sum();
    let mae = y.iter().zip(pred).map(|(a, p)| (a - p).abs()).sum::<f64>() / n;
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        0.0
    };
    BTreeMap::from([
        ("r2".to_string(), r2),
        ("mae".to_string(), mae),
        ("rmse".to_string(), (ss_res / n).sqrt()),
    ])
}

/// `y` holds 0/1, `prob` the positive class's probability (0.5 and above
/// predicts the positive class).
pub fn classification(y: &[f64], prob: &[f64]) -> BTreeMap<String, f64> {
    let n = y.len().max(1) as f64;
    let (mut tp, mut fp, mut fneg, mut correct) = (0.0, 0.0, 0.0, 0.0);
    for (a, p) in y.iter().zip(prob) {
        let predicted = *p >= 0.5;
        let actual = *a >= 0.5;
        if predicted == actual {
            correct += 1.0;
        }
        match (predicted, actual) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fneg += 1.0,
            _ => {}
        }
    }
    let f1 = if tp > 0.0 {
        2.0 * tp / (2.0 * tp + fp + fneg)
    } else {
        0.0
    };
    let mut m = BTreeMap::from([
        ("accuracy".to_string(), correct / n),
        ("f1".to_string(), f1),
    ]);
    if let Some(auc) = auc(y, prob) {
        m.insert("auc".to_string(), auc);
    }
    m
}

/// `y` holds class indices, `prob` each row's probability of each class.
/// F1 and AUC are the unweighted means over classes (scikit-learn's
/// `average="macro"`, and `multi_class="ovr"` for the AUC); a class absent
/// from `y` has no AUC and is left out of its mean.
pub fn multi_class(y: &[f64], prob: &[Vec<f64>]) -> BTreeMap<String, f64> {
    let n = y.len().max(1) as f64;
    let classes = prob.first().map_or(0, Vec::len);
    let predicted: Vec<usize> = prob
        .iter()
        .map(|p| super::predict::most_probable(p))
        .collect();
    let correct = y
        .iter()
        .zip(&predicted)
        .filter(|(a, p)| **a as usize == **p)
        .count() as f64;
    let (mut f1_sum, mut aucs) = (0.0, Vec::new());
    for k in 0..classes {
        let actual: Vec<f64> = y.iter().map(|a| f64::from(*a as usize == k)).collect();
        let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
        for (a, p) in actual.iter().zip(&predicted) {
            match (*p == k, *a == 1.0) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fneg += 1.0,
                _ => {}
            }
        }
        if tp > 0.0 {
            f1_sum += 2.0 * tp / (2.0 * tp + fp + fneg);
        }
        let scores: Vec<f64> = prob.iter().map(|p| p[k]).collect();
        aucs.extend(auc(&actual, &scores));
    }
    let mut m = BTreeMap::from([
        ("accuracy".to_string(), correct / n),
        ("f1".to_string(), f1_sum / classes.max(1) as f64),
    ]);
    if !aucs.is_empty() {
        m.insert(
            "auc".to_string(),
            aucs.iter().sum::<f64>() / aucs.len() as f64,
        );
    }
    m
}

/// ROC AUC as the Mann-Whitney statistic (ties count one half); none when
/// only one class is present.
pub fn auc(y: &[f64], score: &[f64]) -> Option<f64> {
    let mut pairs: Vec<(f64, bool)> = score
        .iter()
        .copied()
        .zip(y.iter().map(|v| *v >= 0.5))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = pairs.iter().filter(|p| p.1).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Average ranks over ties, then the rank sum of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += rank * pairs[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_match_their_definitions() {
        let m = regression(&[1.0, 2.0, 3.0, 4.0], &[1.5, 2.0, 2.5, 4.0]);
        assert!((m["mae"] - 0.25).abs() < 1e-12);
        assert!((m["rmse"] - (0.125f64).sqrt()).abs() < 1e-12);
        assert!((m["r2"] - (1.0 - 0.5 / 5.0)).abs() < 1e-12);
    }

    #[test]
    fn auc_counts_ties_as_halves() {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert_eq!(
            auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.0, 1.0], &[0.5, 0.5]), Some(0.5));
        assert_eq!(auc(&[1.0, 1.0], &[0.2, 0.3]), None);
        let m = classification(&[0.0, 1.0, 1.0, 0.0], &[0.2, 0.9, 0.4, 0.6]);
        assert_eq!(m["accuracy"], 0.5);
        assert_eq!(m["f1"], 0.5);
    }

    #[test]
    fn multi_class_metrics_are_macro_averages() {
        // y = [0, 1, 2, 2]; predicted = [0, 2, 2, 1]
        let p = vec![
            vec![0.7, 0.2, 0.1],
            vec![0.1, 0.3, 0.6],
            vec![0.2, 0.2, 0.6],
            vec![0.1, 0.5, 0.4],
        ];
        let m = multi_class(&[0.0, 1.0, 2.0, 2.0], &p);
        assert_eq!(m["accuracy"], 0.5);
        // f1 per class: 1, 0, 0.5 (sklearn f1_score(average="macro") = 0.5)
        assert!((m["f1"] - 0.5).abs() < 1e-12);
        // sklearn roc_auc_score(y, p, multi_class="ovr") = (1 + 2/3 + 0.625) / 3
        assert!(
            (m["auc"] - (1.0 + 2.0 / 3.0 + 0.625) / 3.0).abs() < 1e-12,
            "{m:?}"
        );
    }
}
