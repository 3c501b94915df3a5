//! The healthcare flow of HEALTHCARE_FLOW.md on the bundled sample, as a
//! chain of etl commands and with --ops files; both must equal the reports
//! computed independently with DuckDB (fixtures/healthcare/*.expected.csv).

use crate::common::*;

/// Lines of a CSV as a sorted multiset (row order is not part of the contract).
fn rows(text: &str) -> (String, Vec<String>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let mut body: Vec<String> = lines.map(str::to_string).collect();
    body.sort();
    (header, body)
}

/// Re-reads a CSV and writes it back, so quoting style does not matter.
fn normalised(path: &std::path::Path) -> String {
    ok(&[
        "ingest",
        path.to_str().unwrap(),
        "--infer-rows",
        "0",
        "--to",
        "csv",
    ])
    .stdout
}

pub fn assert_same_report(got: &str, expected_file: &str) {
    let dir = tempdir();
    let got_path = dir.path().join("got.csv");
    std::fs::write(&got_path, got).unwrap();
    let (gh, gb) = rows(&normalised(&got_path));
    let (eh, eb) = rows(&normalised(&fixture(expected_file)));
    assert_eq!(gh, eh, "{expected_file}: header");
    let missing: Vec<&String> = eb.iter().filter(|r| !gb.contains(r)).take(5).collect();
    let extra: Vec<&String> = gb.iter().filter(|r| !eb.contains(r)).take(5).collect();
    assert!(
        gb == eb,
        "{expected_file}: {} rows vs {} expected; missing {missing:?}; extra {extra:?}",
        gb.len(),
        eb.len()
    );
}

#[test]
fn flow_as_a_chain_of_commands_matches_the_reference() {
    let out = tempdir();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/healthcare-pipes.sh");
    let r = std::process::Command::new("bash")
        .arg(&script)
        .arg(fixture("healthcare"))
        .arg(out.path())
        .env("ETL", etl_bin())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_same_report(
        &std::fs::read_to_string(out.path().join("city_report.csv")).unwrap(),
        "healthcare/city_report.expected.csv",
    );
    assert_same_report(
        &std::fs::read_to_string(out.path().join("top_prescribers.csv")).unwrap(),
        "healthcare/top_prescribers.expected.csv",
    );
}

#[test]
fn flow_with_ops_files_matches_the_reference() {
    let out = tempdir();
    let ops = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/ops");
    let city = out.path().join("city.parquet");
    let presc = out.path().join("presc.parquet");
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    ok(&[
        "clean",
        &p(&fixture("healthcare/us_cities_dimension.parquet")),
        "--ops",
        &p(&ops.join("clean_city.toml")),
        "-o",
        &p(&city),
        "-q",
    ]);
    let r = ok(&[
        "clean",
        &p(&fixture("healthcare/USA_Presc_Medicare_Data_2021.csv")),
        "--ops",
        &p(&ops.join("clean_presc.toml")),
        "-o",
        &p(&presc),
    ]);
    assert!(
        r.stderr.contains("5000 rows in, 4910 out"),
        "rows dropped for null npi/drug_name: {}",
        r.stderr
    );
    let report = etl()
        .args([
            "transform",
            &p(&presc),
            "--ops",
            &p(&ops.join("city_report.toml")),
            "--to",
            "csv",
        ])
        .env("CITY", &city)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert_same_report(
        &String::from_utf8_lossy(&report.stdout),
        "healthcare/city_report.expected.csv",
    );
    let top = ok(&[
        "transform",
        &p(&presc),
        "--ops",
        &p(&ops.join("top_prescribers.toml")),
        "--to",
        "csv",
    ]);
    assert_same_report(&top.stdout, "healthcare/top_prescribers.expected.csv");
}

#[test]
fn an_unset_variable_in_an_ops_file_is_named() {
    let ops =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/ops/city_report.toml");
    let r = etl()
        .args([
            "transform",
            fixture("formats/people.csv").to_str().unwrap(),
            "--ops",
            ops.to_str().unwrap(),
            "--to",
            "csv",
        ])
        .env_remove("CITY")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("${CITY} not set"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

#[test]
fn flow_as_sql_matches_the_reference() {
    let out = tempdir();
    let sql = |name: &str| {
        format!(
            "@{}",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("pipelines/sql")
                .join(name)
                .display()
        )
    };
    let city = out.path().join("city.parquet");
    let presc = out.path().join("presc.parquet");
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    ok(&[
        "transform",
        &p(&fixture("healthcare/us_cities_dimension.parquet")),
        "--sql",
        &sql("clean_city.sql"),
        "-o",
        &p(&city),
        "-q",
    ]);
    ok(&[
        "transform",
        &p(&fixture("healthcare/USA_Presc_Medicare_Data_2021.csv")),
        "--sql",
        &sql("clean_presc.sql"),
        "-o",
        &p(&presc),
        "-q",
    ]);
    let report = ok(&[
        "transform",
        &p(&presc),
        "--sql",
        &sql("city_report.sql"),
        "--with",
        &format!("city={}", p(&city)),
        "--to",
        "csv",
    ]);
    assert_same_report(&report.stdout, "healthcare/city_report.expected.csv");
    let top = ok(&[
        "transform",
        &p(&presc),
        "--sql",
        &sql("top_prescribers.sql"),
        "--to",
        "csv",
    ]);
    assert_same_report(&top.stdout, "healthcare/top_prescribers.expected.csv");
}
