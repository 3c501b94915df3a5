#!/usr/bin/env python3
"""scikit-learn's side of the `etl model` tests (tests/cli/model.rs).

  model_check.py gen OUTDIR
      Writes the test data sets as CSV, each with an `is_test` column
      (true marks the held-out rows) so that etl and scikit-learn train and
      test on the very same rows:
        presc.csv     regression with known linear structure: trx_cnt from
                      years_of_exp (with nulls), total_day_supply and presc_state
        water.csv     a public-style toy set (water potability): potable
                      yes/no from ph, hardness, solids and source, logistic link
        steps.csv     clear tree structure: steps (regression), label (two
                      classes) and zone (three classes) from thresholds on
                      x1, x2, x3, with no point near a threshold
        flowers.csv   three classes (species) from a multinomial logit of
                      petal, sepal and soil

  model_check.py fit CSV KIND TASK TARGET FEATURES [TREES]
      Encodes FEATURES as the etl model file says (numbers as float with
      nulls replaced by the training mean; text as one indicator per sorted
      category after the first, fitted on the training rows), fits the same
      kind of model with scikit-learn on the rows where is_test is false,
      and prints its metrics on the test rows as JSON.
"""

from __future__ import annotations

import csv
import json
import sys

import numpy as np


def gen(out: str) -> None:
    rng = np.random.default_rng(20261130)

    n = 2000
    years = rng.integers(1, 41, n).astype(float)
    supply = rng.uniform(10, 400, n)
    states = np.array(["CA", "NY", "TX", "OH", "FL"])
    state = states[rng.integers(0, 5, n)]
    effect = {"CA": 5.0, "NY": -3.0, "TX": 8.0, "OH": 0.0, "FL": 2.5}
    trx = 2.0 * years + 0.05 * supply + np.array([effect[s] for s in state]) + rng.normal(0, 3, n)
    years_text = [("" if rng.random() < 0.05 else f"{y:.0f}") for y in years]
    write(f"{out}/presc.csv", ["years_of_exp", "total_day_supply", "presc_state", "trx_cnt"],
          zip(years_text, supply, state, trx), n, rng)

    n = 2000
    ph = rng.normal(7, 1.5, n)
    hardness = rng.normal(200, 30, n)
    solids = rng.normal(20000, 8000, n)
    sources = np.array(["lake", "river", "well"])
    source = sources[rng.integers(0, 3, n)]
    z = -1.2 * (ph - 7) + 0.03 * (hardness - 200) - 0.00008 * (solids - 20000) + np.where(source == "well", 1.0, 0.0)
    potable = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "yes", "no")
    write(f"{out}/water.csv", ["ph", "hardness", "solids", "source", "potable"],
          zip(ph, hardness, solids, source, potable), n, rng)

    # Clear structure: no point closer than 0.03 to a threshold, so any
    # good tree learner separates the steps exactly.
    x = rng.random((4000, 3))
    far = (np.abs(x[:, 0] - 0.5) > 0.03) & (np.abs(x[:, 1] - 0.3) > 0.03) & (np.abs(x[:, 1] - 0.4) > 0.03) & (np.abs(x[:, 2] - 0.7) > 0.03)
    x = x[far][:1600]
    n = len(x)
    x1, x2, x3 = x[:, 0], x[:, 1], x[:, 2]
    steps = 10 * (x1 > 0.5) + 5 * (x2 > 0.3) + 3 * (x3 > 0.7) + rng.normal(0, 0.05, n)
    label = np.where((x1 > 0.5) ^ (x2 > 0.4), 1, 0)
    zone = np.where(x1 <= 0.5, "a", np.where(x3 <= 0.7, "b", "c"))
    write(f"{out}/steps.csv", ["x1", "x2", "x3", "steps", "label", "zone"],
          zip(x1, x2, x3, steps, label, zone), n, rng)

    n = 2000
    petal = rng.normal(4, 1.5, n)
    sepal = rng.normal(3, 0.8, n)
    soils = np.array(["clay", "loam", "sand"])
    soil = soils[rng.integers(0, 3, n)]
    logits = np.column_stack([
        2.0 - 1.2 * petal + 0.5 * sepal,
        0.3 * petal + np.where(soil == "loam", 0.8, 0.0),
        -4.0 + 1.1 * petal - 0.4 * sepal,
    ])
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    species = np.array(["setosa", "versicolor", "virginica"])[[rng.choice(3, p=row) for row in p]]
    write(f"{out}/flowers.csv", ["petal", "sepal", "soil", "species"],
          zip(petal, sepal, soil, species), n, rng)


def write(path, header, rows, n, rng) -> None:
    test = rng.random(n) < 0.25
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header + ["is_test"])
        for row, t in zip(rows, test):
            w.writerow([*row, "true" if t else "false"])


def load(path: str):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [r[k] for r in rows] for k in rows[0]}


def number(v: str) -> float:
    return float(v) if v != "" else np.nan


def encode(cols, features, train):
    parts = []
    for name in features:
        values = cols[name]
        try:
            x = np.array([number(v) for v in values])
        except ValueError:
            cats = sorted({v for v, t in zip(values, train) if t and v != ""})
            for c in cats[1:]:
                parts.append(np.array([1.0 if v == c else 0.0 for v in values]))
            continue
        mean = np.nanmean(x[train])
        parts.append(np.where(np.isnan(x), mean, x))
    return np.column_stack(parts)


def fit(path, kind, task, target, features, trees) -> dict:
    from sklearn import ensemble, linear_model, metrics, multiclass

    cols = load(path)
    test = np.array([v == "true" for v in cols["is_test"]])
    train = ~test
    x = encode(cols, features, train)
    raw = cols[target]
    if task == "classification":
        classes = sorted(set(raw), key=lambda v: (float(v) if v.replace(".", "").isdigit() else v))
        y = np.array([classes.index(v) for v in raw])
    else:
        y = np.array([float(v) for v in raw])
    model = {
        ("linear", "regression"): lambda: linear_model.LinearRegression(),
        ("logistic", "classification"): lambda: linear_model.LogisticRegression(C=np.inf, max_iter=5000),
        ("random-forest", "regression"): lambda: ensemble.RandomForestRegressor(n_estimators=trees, random_state=0),
        ("random-forest", "classification"): lambda: ensemble.RandomForestClassifier(n_estimators=trees, random_state=0),
        ("gradient-boosting", "regression"): lambda: ensemble.GradientBoostingRegressor(n_estimators=trees, random_state=0),
        ("gradient-boosting", "classification"): lambda: ensemble.GradientBoostingClassifier(n_estimators=trees, random_state=0),
    }[(kind, task)]()
    many = task == "classification" and len(classes) > 2
    if many:
        # etl's multi-class models are one-vs-rest: the same algorithm here.
        model = multiclass.OneVsRestClassifier(model)
    model.fit(x[train], y[train])
    if task == "regression":
        p = model.predict(x[test])
        return {
            "r2": metrics.r2_score(y[test], p),
            "mae": metrics.mean_absolute_error(y[test], p),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y[test], p))),
            "target_std": float(np.std(y[test])),
        }
    if many:
        prob = model.predict_proba(x[test])
        pred = prob.argmax(axis=1)
        return {
            "accuracy": metrics.accuracy_score(y[test], pred),
            "f1": metrics.f1_score(y[test], pred, average="macro"),
            "auc": metrics.roc_auc_score(y[test], prob, multi_class="ovr"),
        }
    prob = model.predict_proba(x[test])[:, 1]
    pred = (prob >= 0.5).astype(int)
    return {
        "accuracy": metrics.accuracy_score(y[test], pred),
        "f1": metrics.f1_score(y[test], pred),
        "auc": metrics.roc_auc_score(y[test], prob),
    }


def main() -> None:
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif sys.argv[1] == "fit":
        path, kind, task, target, features = sys.argv[2:7]
        trees = int(sys.argv[7]) if len(sys.argv) > 7 else 100
        print(json.dumps(fit(path, kind, task, target, features.split(","), trees)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
