//! Inputs the cluster cannot read itself (Arrow IPC, Excel, Avro: a stock
//! Spark has no reader for them) are read here and sent in the plan, up to
//! a limit (ETL_SPARK_SEND_LIMIT_MB, 64 MB by default); above it, a clear
//! refusal: by `--check` when the files are already larger on disk, else
//! when the stage reads them.

use std::path::Path;

use crate::common::{ok, run, tempdir};

fn pipeline(dir: &Path, tables: &Path) -> std::path::PathBuf {
    let mut text = format!(
        "[pipeline]\nname = \"sent\"\nroot = \"{}\"\n",
        dir.join("root").display()
    );
    for ext in ["xlsx", "avro", "arrow"] {
        text.push_str(&format!(
            r#"
[[stage]]
name = "in-{ext}"
ingest = "{tables}/people.{ext}"
output = "bronze.people_{ext}"

[[stage]]
name = "join-{ext}"
input = "bronze.people_{ext}"
ops = [ {{ join = {{ table = "{tables}/cities.xlsx", on = ["city"], how = "left" }} }} ]
output = "gold.people_{ext}"

[[stage]]
name = "out-{ext}"
input = "gold.people_{ext}"
extract = {{ path = "{out}/{ext}.csv" }}
"#,
            tables = tables.display(),
            out = dir.join("out").display(),
        ));
    }
    let file = dir.join("p.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn excel_avro_and_arrow_inputs_are_sent_and_give_the_local_result() {
    let Some(remote) = super::remote() else {
        return;
    };
    let tables = tempdir();
    super::write_tables(tables.path());
    let t = |name: &str| tables.path().join(name).to_str().unwrap().to_string();
    for ext in ["xlsx", "avro", "arrow"] {
        ok(&[
            "ingest",
            &t("people.csv"),
            "-o",
            &t(&format!("people.{ext}")),
        ]);
    }
    ok(&["ingest", &t("cities.csv"), "-o", &t("cities.xlsx")]);
    let (local, spark) = (tempdir(), tempdir());
    super::run_pipeline(&pipeline(local.path(), tables.path()), &[]);
    let manifest = spark.path().join("m.json");
    super::run_pipeline(
        &pipeline(spark.path(), tables.path()),
        &[
            "--engine",
            "spark",
            "--remote",
            &remote,
            "--manifest",
            manifest.to_str().unwrap(),
        ],
    );
    for ext in ["xlsx", "avro", "arrow"] {
        let read = |d: &Path| {
            super::sorted_lines(&std::fs::read_to_string(d.join(format!("out/{ext}.csv"))).unwrap())
        };
        let (a, b) = (read(local.path()), read(spark.path()));
        assert_eq!(a, b, "{ext}");
        assert_eq!(
            a.len(),
            1 + 10,
            "{ext}: 8 people, the two in Berlin twice: {a:?}"
        );
        assert!(a[0].ends_with(",country"), "{ext}: joined: {}", a[0]);
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let ingest = m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "in-avro")
        .unwrap();
    assert_eq!(ingest["rows_out"], 8, "{ingest}");
    assert!(!ingest["spark_operations"].as_array().unwrap().is_empty());
}

#[test]
fn an_input_above_the_limit_on_disk_is_refused_by_check() {
    let dir = tempdir();
    let big = dir.path().join("big.arrow");
    // Only its size is looked at: --check reads no data.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(3 << 20)
        .unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        format!(
            "[pipeline]\nroot = \"{}\"\n\n[[stage]]\nname = \"in\"\ningest = \"{}\"\noutput = \"bronze.x\"\n",
            dir.path().join("root").display(),
            big.display()
        ),
    )
    .unwrap();
    let check = |limit: &str| {
        crate::common::Run::from(
            crate::common::etl()
                .args(["run-pipeline", "--check", file.to_str().unwrap()])
                .args(["--engine", "spark", "--remote", "sc://127.0.0.1:9"])
                .env("ETL_SPARK_SEND_LIMIT_MB", limit)
                .output()
                .unwrap(),
        )
    };
    let r = check("2");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}:6: stage 'in': not supported yet: {} (ipc input: Spark has no built-in reader for it) is 3 MB on disk, and inputs the cluster cannot read are sent from here only up to 2 MB of Arrow data",
            file.display(),
            big.display()
        )),
        "{}",
        r.stderr
    );
    // Under the limit it would be sent: the check passes.
    let r = check("4");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!dir.path().join("root").exists(), "nothing ran");
}

#[test]
fn an_input_above_the_limit_in_arrow_is_refused_when_read() {
    let Some(remote) = super::remote() else {
        return;
    };
    let dir = tempdir();
    // 30,000 rows of 100 characters: 3 MB of Arrow data, a few KB compressed.
    let csv = dir.path().join("wide.csv");
    let mut text = String::from("id,text\n");
    for i in 0..30_000 {
        text.push_str(&format!("{i},{}\n", "x".repeat(100)));
    }
    std::fs::write(&csv, text).unwrap();
    let arrow = dir.path().join("wide.arrow");
    ok(&[
        "ingest",
        csv.to_str().unwrap(),
        "-o",
        arrow.to_str().unwrap(),
        "--compression",
        "zstd",
    ]);
    assert!(std::fs::metadata(&arrow).unwrap().len() < 1 << 20);
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        format!(
            "[pipeline]\nroot = \"{}\"\n\n[[stage]]\nname = \"in\"\ningest = \"{}\"\noutput = \"bronze.x\"\n",
            dir.path().join("root").display(),
            arrow.display()
        ),
    )
    .unwrap();
    let r = crate::common::Run::from(
        crate::common::etl()
            .args(["run-pipeline", file.to_str().unwrap()])
            .args(["--engine", "spark", "--remote", &remote])
            .env("ETL_SPARK_SEND_LIMIT_MB", "1")
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "stage 'in': not supported yet: {} (ipc input: Spark has no built-in reader for it) is more than 1 MB, and inputs the cluster cannot read are sent from here only up to 1 MB of Arrow data",
            arrow.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("root/bronze/x.parquet").exists());
    // The same file under the default limit runs.
    let r = run(&[
        "run-pipeline",
        file.to_str().unwrap(),
        "--engine",
        "spark",
        "--remote",
        &remote,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(dir.path().join("root/bronze/x.parquet").exists());
}
