//! Inputs other tools write that once read wrong: blank lines in CSV,
//! encoding aliases, nested Hive folders, named pipes, deep JSON.

use crate::common::*;

/// Blank lines (at the end, as editors leave them, or between rows) are not
/// records: 120 rows read as 120, never as rows of nulls.
#[test]
fn csv_blank_lines_are_not_rows() {
    let dir = tempdir();
    let mut text = String::from("id,label\n");
    for i in 0..120 {
        text.push_str(&format!("{i},row-{i}\n"));
        if i == 60 {
            text.push_str("\n\r\n");
        }
    }
    text.push_str("\n\n\n");
    for (name, body) in [
        ("plain.csv", text.clone()),
        ("crlf.csv", text.replace('\n', "\r\n")),
    ] {
        let path = csv_in(dir.path(), name, &body);
        let out = ok(&["ingest", &path, "--to", "csv"]).stdout;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 121, "{name}: {out}");
        assert_eq!(lines[62], "61,row-61", "{name}");
        assert!(!out.contains("\n,\n"), "{name}: a null row: {out}");
        let head = ok(&["head", "-n", "200", &path, "--to", "csv"]).stdout;
        assert_eq!(head.lines().count(), 121, "{name} head: {head}");
    }
}

/// `--encoding` takes Python's, Java's and iconv's spellings too.
#[test]
fn encoding_aliases_of_other_tools_are_accepted() {
    let expected = fixture_text("formats/people.expected.csv");
    let latin1 = fixture("formats/people.latin1.csv");
    for alias in ["latin-1", "ISO8859_1", "iso-8859-1", "cp1252", "Latin_1"] {
        let got = as_csv(&latin1, &["--encoding", alias]);
        assert_eq!(got, expected, "--encoding {alias}");
    }
    let r = fails(
        &[
            "ingest",
            latin1.to_str().unwrap(),
            "--encoding",
            "klingon",
            "--to",
            "csv",
        ],
        2,
    );
    assert!(
        r.stderr.contains("'klingon'") && r.stderr.contains("latin-1"),
        "{}",
        r.stderr
    );
}

/// Hive partition columns type alike at every folder level and whatever
/// the file format: integer keys are i64, Hive's null marker stays null
/// without turning its key into text.
#[test]
fn hive_partitions_type_alike_at_every_level() {
    let dir = tempdir();
    let write = |rel: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "v\n1\n").unwrap();
    };
    write("one/year=2023/a.csv");
    write("one/year=2024/a.csv");
    write("two/year=2023/month=11/a.csv");
    write("two/year=2024/month=12/a.csv");
    write("two/year=2024/month=__HIVE_DEFAULT_PARTITION__/a.csv");
    write("three/year=2024/month=12/city=Paris/a.csv");
    write("three/year=2024/month=01/city=Rome/a.csv");
    let types = |rel: &str| column_types(&dir.path().join(rel));
    assert_eq!(types("one"), ["i64", "i64"]);
    assert_eq!(types("two"), ["i64", "i64", "i64"]);
    assert_eq!(types("three"), ["i64", "i64", "i64", "str"]);
    let out = ok(&[
        "ingest",
        dir.path().join("two").to_str().unwrap(),
        "--to",
        "csv",
    ])
    .stdout;
    assert_eq!(out, "v,year,month\n1,2023,11\n1,2024,12\n1,2024,\n");
    // Parquet parts: the same types as the CSV layout.
    for rel in ["two/year=2023/month=11", "two/year=2024/month=12"] {
        let part = dir.path().join(rel).join("a.csv");
        let out = dir
            .path()
            .join("pq")
            .join(rel.trim_start_matches("two/"))
            .join("p.parquet");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        ok(&[
            "ingest",
            part.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
    }
    assert_eq!(types("pq"), ["i64", "i64", "i64"]);
}
