//! `etl model fit/predict` and the `predict` op. Metrics are checked against
//! scikit-learn on the same rows: scripts/model_check.py writes the data
//! with an `is_test` column, etl trains with `--split-column is_test`, and
//! scikit-learn fits the same kind of model on the same training rows.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/model_check.py")
}

/// The generated data sets, or None (with a reason printed) without scikit-learn.
fn data() -> Option<(tempfile::TempDir, &'static str)> {
    let py = python_with(&["numpy", "sklearn"])?;
    let dir = tempdir();
    let out = Command::new(py)
        .arg(script())
        .arg("gen")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((dir, py))
}

fn etl_metrics(
    csv: &Path,
    kind: &str,
    task: &str,
    target: &str,
    features: &str,
    model: &Path,
) -> serde_json::Value {
    let r = ok(&[
        "model",
        "fit",
        "-i",
        csv.to_str().unwrap(),
        "--target",
        target,
        "--features",
        features,
        "--kind",
        kind,
        "--task",
        task,
        "--split-column",
        "is_test",
        "--trees",
        "60",
        "--json",
        "-o",
        model.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["training"]["metrics-on"], "test", "{v}");
    v["metrics"].clone()
}

fn sklearn_metrics(
    py: &str,
    csv: &Path,
    kind: &str,
    task: &str,
    target: &str,
    features: &str,
) -> serde_json::Value {
    let out = Command::new(py)
        .arg(script())
        .args([
            "fit",
            csv.to_str().unwrap(),
            kind,
            task,
            target,
            features,
            "60",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sklearn: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Compares metrics: R², accuracy, F1 and AUC as they are; MAE and RMSE
/// relative to the target's spread, so the tolerance means the same on any scale.
fn compare(what: &str, etl: &serde_json::Value, sk: &serde_json::Value, tolerance: f64) {
    let spread = sk["target_std"].as_f64().unwrap_or(1.0);
    let names: Vec<&str> = if sk.get("r2").is_some() {
        vec!["r2", "mae", "rmse"]
    } else {
        vec!["accuracy", "f1", "auc"]
    };
    for name in names {
        let (a, b) = (etl[name].as_f64().unwrap(), sk[name].as_f64().unwrap());
        let scale = if matches!(name, "mae" | "rmse") {
            spread
        } else {
            1.0
        };
        eprintln!("{what} {name}: etl {a:.5}, scikit-learn {b:.5}");
        assert!(
            ((a - b) / scale).abs() <= tolerance,
            "{what} {name}: etl {a} against scikit-learn {b} (tolerance {tolerance}, scale {scale})"
        );
    }
}

#[test]
fn linear_and_logistic_metrics_match_scikit_learn() {
    let Some((dir, py)) = data() else { return };
    let presc = dir.path().join("presc.csv");
    let features = "years_of_exp,total_day_supply,presc_state";
    let m = etl_metrics(
        &presc,
        "linear",
        "regression",
        "trx_cnt",
        features,
        &dir.path().join("lin.json"),
    );
    let s = sklearn_metrics(py, &presc, "linear", "regression", "trx_cnt", features);
    // The same least-squares problem: agreement far inside 0.01.
    compare("linear", &m, &s, 1e-6);
    assert!(
        m["r2"].as_f64().unwrap() > 0.9,
        "known linear structure: {m}"
    );
    // MAE itself, not only relative to the spread.
    assert!((m["mae"].as_f64().unwrap() - s["mae"].as_f64().unwrap()).abs() < 0.01);

    let water = dir.path().join("water.csv");
    let features = "ph,hardness,solids,source";
    let m = etl_metrics(
        &water,
        "logistic",
        "classification",
        "potable",
        features,
        &dir.path().join("log.json"),
    );
    let s = sklearn_metrics(
        py,
        &water,
        "logistic",
        "classification",
        "potable",
        features,
    );
    compare("logistic", &m, &s, 0.01);

    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("log.json")).unwrap())
            .unwrap();
    assert_eq!(model["format"], "etl-model");
    assert_eq!(model["version"], 2);
    assert_eq!(model["classes"], serde_json::json!(["no", "yes"]));
    assert_eq!(
        model["features"][3],
        serde_json::json!({"type": "categorical", "name": "source", "categories": ["lake", "river", "well"]})
    );
}

#[test]
fn tree_ensembles_match_scikit_learn_on_clear_structure() {
    let Some((dir, py)) = data() else { return };
    let steps = dir.path().join("steps.csv");
    let features = "x1,x2,x3";
    for kind in ["random-forest", "gradient-boosting"] {
        let m = etl_metrics(
            &steps,
            kind,
            "regression",
            "steps",
            features,
            &dir.path().join(format!("{kind}-r.json")),
        );
        let s = sklearn_metrics(py, &steps, kind, "regression", "steps", features);
        assert!(m["r2"].as_f64().unwrap() > 0.99, "{kind}: {m}");
        compare(kind, &m, &s, 0.01);

        let m = etl_metrics(
            &steps,
            kind,
            "classification",
            "label",
            features,
            &dir.path().join(format!("{kind}-c.json")),
        );
        let s = sklearn_metrics(py, &steps, kind, "classification", "label", features);
        assert!(m["accuracy"].as_f64().unwrap() > 0.97, "{kind}: {m}");
        compare(kind, &m, &s, 0.01);
    }
}

#[test]
fn predictions_come_back_as_columns_from_the_command_and_the_op() {
    let dir = tempdir();
    let mut text = String::from("x,kind,y,good\n");
    for i in 0..200 {
        let kind = ["a", "b", "c"][i % 3];
        let y = 2.0 * i as f64 + if kind == "b" { 10.0 } else { 0.0 };
        text.push_str(&format!("{i},{kind},{y},{}\n", i % 2 == 0 || i > 150));
    }
    let train = csv_in(dir.path(), "train.csv", &text);
    let model = dir.path().join("m.json");
    let m = model.to_str().unwrap();
    let r = ok(&[
        "model",
        "fit",
        "-i",
        &train,
        "--target",
        "y",
        "--features",
        "x,kind",
        "--kind",
        "linear",
        "--test-fraction",
        "0",
        "-o",
        m,
    ]);
    assert!(
        r.stdout
            .contains("linear regression of y on 2 features (3 inputs)"),
        "{}",
        r.stdout
    );
    let new = csv_in(dir.path(), "new.csv", "x,kind\n1000,b\n5,a\n,zz\n");
    let out = ok(&[
        "model", "predict", m, "-i", &new, "--column", "y_hat", "--to", "csv",
    ])
    .stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "x,kind,y_hat");
    let value = |line: &str| line.rsplit(',').next().unwrap().parse::<f64>().unwrap();
    assert!((value(lines[1]) - 2010.0).abs() < 1e-6, "{out}");
    assert!((value(lines[2]) - 10.0).abs() < 1e-6, "{out}");
    // A null number becomes the training mean (99.5), an unseen category the reference.
    assert!((value(lines[3]) - 199.0).abs() < 1e-6, "{out}");

    // The op gives the same numbers, in a clean step.
    let op = format!("predict = {{ model = \"{m}\", output = \"y_hat\" }}");
    let via_op = ok(&["clean", &new, "--op", &op, "--to", "csv"]).stdout;
    assert_eq!(via_op, out);

    // A classifier: the class in the target's type, and its probability.
    let clf = dir.path().join("clf.json");
    ok(&[
        "model",
        "fit",
        "-i",
        &train,
        "--target",
        "good",
        "--features",
        "x",
        "--kind",
        "logistic",
        "-o",
        clf.to_str().unwrap(),
    ]);
    let out = ok(&[
        "model",
        "predict",
        clf.to_str().unwrap(),
        "-i",
        &new,
        "--to",
        "csv",
    ])
    .stdout;
    assert!(
        out.starts_with("x,kind,prediction_probability,prediction\n1000,b,"),
        "{out}"
    );
    assert!(out.lines().nth(1).unwrap().ends_with(",true"), "{out}");
}

#[test]
fn predict_names_missing_and_mistyped_features() {
    let dir = tempdir();
    let train = csv_in(
        dir.path(),
        "t.csv",
        "years,state,y\n1,CA,2\n2,NY,4\n3,CA,6\n4,NY,8\n5,CA,10\n",
    );
    let model = dir.path().join("m.json");
    let m = model.to_str().unwrap();
    ok(&[
        "model",
        "fit",
        "-i",
        &train,
        "--target",
        "y",
        "--features",
        "years,state",
        "--kind",
        "linear",
        "--test-fraction",
        "0",
        "-o",
        m,
    ]);

    let missing = csv_in(dir.path(), "a.csv", "yeers,state\n1,CA\n");
    let r = fails(
        &[
            "model",
            "predict",
            m,
            "-i",
            &missing,
            "-o",
            dir.path().join("o.csv").to_str().unwrap(),
        ],
        1,
    );
    assert!(
        r.stderr
            .contains("no column 'years' (did you mean 'yeers'?)"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("o.csv").exists());

    let mistyped = csv_in(dir.path(), "b.csv", "years,state\nten,CA\n");
    let r = fails(&["model", "predict", m, "-i", &mistyped, "--to", "csv"], 1);
    assert!(
        r.stderr
            .contains("column 'years' is str, but the model was trained with it as a number"),
        "{}",
        r.stderr
    );

    let r = fails(
        &["model", "predict", &train, "-i", &train, "--to", "csv"],
        2,
    );
    assert!(r.stderr.contains("not a model file"), "{}", r.stderr);

    let r = fails(
        &[
            "model",
            "fit",
            "-i",
            &train,
            "--target",
            "y",
            "--features",
            "years",
            "--kind",
            "linear",
            "-o",
            m,
        ],
        2,
    );
    assert!(
        r.stderr.contains("already exists; pass --force"),
        "{}",
        r.stderr
    );
    let other = dir.path().join("other.json");
    let m = other.to_str().unwrap();

    let r = fails(
        &[
            "model",
            "fit",
            "-i",
            &train,
            "--target",
            "y",
            "--features",
            "years,stat",
            "--kind",
            "linear",
            "-o",
            m,
        ],
        2,
    );
    assert!(
        r.stderr.contains("'stat' (did you mean 'state'?)"),
        "{}",
        r.stderr
    );
    let r = fails(
        &[
            "model",
            "fit",
            "-i",
            &train,
            "--target",
            "state",
            "--features",
            "years",
            "--kind",
            "linear",
            "-o",
            m,
        ],
        2,
    );
    assert!(
        r.stderr.contains("regression needs a number"),
        "{}",
        r.stderr
    );
    let r = fails(
        &[
            "model",
            "fit",
            "-i",
            &train,
            "--target",
            "y",
            "--features",
            "years",
            "--kind",
            "logistic",
            "-o",
            m,
        ],
        1,
    );
    // Five classes in five rows: the held-out row's class has nothing to learn from.
    assert!(
        r.stderr.contains("has no training rows (only test rows)"),
        "{}",
        r.stderr
    );
    assert!(!other.exists());
}

#[test]
fn multi_class_models_match_scikit_learn_one_vs_rest() {
    let Some((dir, py)) = data() else { return };
    let flowers = dir.path().join("flowers.csv");
    let features = "petal,sepal,soil";
    let path = dir.path().join("flowers.json");
    let m = etl_metrics(
        &flowers,
        "logistic",
        "classification",
        "species",
        features,
        &path,
    );
    let s = sklearn_metrics(
        py,
        &flowers,
        "logistic",
        "classification",
        "species",
        features,
    );
    compare("logistic, three classes", &m, &s, 0.01);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        model["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    assert_eq!(
        model["estimator"]["one-vs-rest"]["per-class"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let steps = dir.path().join("steps.csv");
    for kind in ["random-forest", "gradient-boosting"] {
        let m = etl_metrics(
            &steps,
            kind,
            "classification",
            "zone",
            "x1,x2,x3",
            &dir.path().join(format!("{kind}-zone.json")),
        );
        let s = sklearn_metrics(py, &steps, kind, "classification", "zone", "x1,x2,x3");
        assert!(m["accuracy"].as_f64().unwrap() > 0.97, "{kind}: {m}");
        compare(kind, &m, &s, 0.01);
    }

    // Predictions: the most probable class, in the target's type, with its probability.
    let new = csv_in(
        dir.path(),
        "new.csv",
        "petal,sepal,soil\n0.5,4,clay\n4,3,loam\n8,2.5,sand\n",
    );
    let r = ok(&[
        "model",
        "predict",
        path.to_str().unwrap(),
        "-i",
        &new,
        "--to",
        "csv",
    ]);
    let rows: Vec<Vec<&str>> = r.stdout.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "petal",
            "sepal",
            "soil",
            "prediction_probability",
            "prediction"
        ]
    );
    let classes: Vec<&str> = rows[1..].iter().map(|r| r[4]).collect();
    assert_eq!(
        classes,
        ["setosa", "versicolor", "virginica"],
        "{}",
        r.stdout
    );
    for row in &rows[1..] {
        let p: f64 = row[3].parse().unwrap();
        assert!(p > 1.0 / 3.0 && p <= 1.0, "{}", r.stdout);
    }
}

#[test]
fn a_random_split_is_repeatable_with_its_seed() {
    let dir = tempdir();
    let mut text = String::from("x,y\n");
    for i in 0..300 {
        text.push_str(&format!("{i},{}\n", (i * 7919) % 101));
    }
    let input = csv_in(dir.path(), "d.csv", &text);
    let fit = |seed: &str| {
        let out = dir.path().join(format!("m{seed}.json"));
        let r = ok(&[
            "model",
            "fit",
            "-i",
            &input,
            "--target",
            "y",
            "--features",
            "x",
            "--kind",
            "linear",
            "--seed",
            seed,
            "--test-fraction",
            "0.3",
            "--json",
            "--force",
            "-o",
            out.to_str().unwrap(),
        ]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["training"]["test-rows"], 90);
        v["metrics"]["rmse"].as_f64().unwrap()
    };
    assert_eq!(fit("1"), fit("1"));
    assert_ne!(fit("1"), fit("2"));
}
