//! Stage outputs on Spark: swapped into place only when whole, and each
//! stage's own operation ids in the manifest when stages run at once.

use std::path::Path;

use crate::common::{ok, run, tempdir};

fn pipeline(dir: &Path, tables: &Path, clean: &[&str]) -> std::path::PathBuf {
    let mut text = format!(
        "[pipeline]\nname = \"outputs\"\nroot = \"{}\"\n\n[[stage]]\nname = \"ingest\"\ningest = \"{}\"\noutput = \"bronze.people\"\n",
        dir.join("root").display(),
        tables.join("people.parquet").display()
    );
    for (i, op) in clean.iter().enumerate() {
        text.push_str(&format!(
            "\n[[stage]]\nname = \"clean-{i}\"\ninput = \"bronze.people\"\nops = [ {op} ]\noutput = \"silver.people_{i}\"\n"
        ));
    }
    let file = dir.join("p.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn rows(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = ok(&["ingest", path.to_str().unwrap(), "--to", "csv"])
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn a_stage_failing_on_spark_leaves_the_earlier_dataset_as_it_was() {
    let Some(remote) = super::remote() else {
        return;
    };
    let tables = tempdir();
    super::write_tables(tables.path());
    let dir = tempdir();
    let spark = ["--engine", "spark", "--remote", remote.as_str()];
    let file = pipeline(dir.path(), tables.path(), &[r#"{ upper = ["name"] }"#]);
    super::run_pipeline(&file, &spark);
    let silver = dir.path().join("root/silver");
    let before = rows(&silver.join("people_0.parquet"));
    assert!(before.iter().any(|r| r.contains("O'HARA")), "{before:?}");
    // Names are not numbers: Spark fails while it writes (ANSI casts).
    let file = pipeline(
        dir.path(),
        tables.path(),
        &[r#"{ cast = { columns = { name = "int" } } }"#],
    );
    let mut args = vec!["run-pipeline", file.to_str().unwrap()];
    args.extend_from_slice(&spark);
    let r = run(&args);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("stage 'clean-0'"), "{}", r.stderr);
    assert_eq!(rows(&silver.join("people_0.parquet")), before);
    let left: Vec<String> = std::fs::read_dir(&silver)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["people_0.parquet".to_string()],
        "no staging left"
    );
}

#[test]
fn stages_running_at_once_record_their_own_operations() {
    let Some(remote) = super::remote() else {
        return;
    };
    let tables = tempdir();
    super::write_tables(tables.path());
    let dir = tempdir();
    let ops = [
        r#"{ upper = ["name"] }"#,
        r#"{ sql = { query = "select city, count(*) as n from input group by city" } }"#,
        r#"{ sql = { query = "select id, name from input where id > 2" } }"#,
        r#"{ dedup = { key = ["city"] } }"#,
    ];
    let file = pipeline(dir.path(), tables.path(), &ops);
    let manifest = dir.path().join("m.json");
    super::run_pipeline(
        &file,
        &[
            "--engine",
            "spark",
            "--remote",
            &remote,
            "--jobs",
            "4",
            "--manifest",
            manifest.to_str().unwrap(),
        ],
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let mut seen = std::collections::HashMap::new();
    for s in m["stages"].as_array().unwrap() {
        let ids = s["spark_operations"].as_array().unwrap();
        assert!(ids.len() >= 3, "{s}");
        for id in ids {
            if let Some(other) = seen.insert(id.as_str().unwrap().to_string(), s["name"].clone()) {
                panic!("operation {id} in stages {other} and {}", s["name"]);
            }
        }
    }
    // The two sql stages each read their own `input`.
    let n = rows(&dir.path().join("root/silver/people_1.parquet"));
    assert_eq!(n.len(), 1 + 5, "a header and five cities (one null): {n:?}");
    let kept = rows(&dir.path().join("root/silver/people_2.parquet"));
    assert_eq!(kept.len(), 1 + 6, "{kept:?}");
}
