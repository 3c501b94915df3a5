//! `etl ingest`: every input format and layout, every output format.

use crate::common::*;

const EXPECTED: &str = "formats/people.expected.csv";
const SPREADSHEET_EXPECTED: &str = "formats/people.spreadsheet.expected.csv";

/// Files written by other implementations (pyarrow, fastavro, openpyxl, xlwt,
/// odfpy, Python's csv and compressors) read back to the same table.
#[test]
fn reads_every_format_written_by_other_implementations() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("people.csv", &[], EXPECTED),
        ("people.tsv", &[], EXPECTED),
        ("people.semicolon.csv", &["--delimiter", ";"], EXPECTED),
        ("people.crlf.csv", &[], EXPECTED),
        ("people.bom.csv", &[], EXPECTED),
        ("people.latin1.csv", &["--encoding", "latin1"], EXPECTED),
        ("people.comments.csv", &["--comment", "#"], EXPECTED),
        ("people.nulltokens.csv", &["--null", "NA,NULL"], EXPECTED),
        ("people.csv.gz", &[], EXPECTED),
        ("people.csv.zst", &[], EXPECTED),
        ("people.csv.bz2", &[], EXPECTED),
        ("people.csv.xz", &[], EXPECTED),
        ("people.snappy.parquet", &[], EXPECTED),
        ("people.zstd.parquet", &[], EXPECTED),
        ("people.gzip.parquet", &[], EXPECTED),
        ("people.lz4.parquet", &[], EXPECTED),
        ("people.brotli.parquet", &[], EXPECTED),
        ("people.none.parquet", &[], EXPECTED),
        ("people.snappy.orc", &[], EXPECTED),
        ("people.zlib.orc", &[], EXPECTED),
        ("people.zstd.orc", &[], EXPECTED),
        ("people.lz4.orc", &[], EXPECTED),
        ("people.none.orc", &[], EXPECTED),
        ("people.arrow", &[], EXPECTED),
        ("people.arrows", &[], EXPECTED),
        ("people.json", &[], EXPECTED),
        ("people.ndjson", &[], EXPECTED),
        ("people.xlsx", &[], SPREADSHEET_EXPECTED),
        ("people.xlsm", &[], SPREADSHEET_EXPECTED),
        ("people.xls", &[], SPREADSHEET_EXPECTED),
        ("people.ods", &[], EXPECTED),
        ("people_parquet_noext", &[], EXPECTED),
        ("people-is-parquet.csv", &[], EXPECTED),
    ];
    let mut failures = Vec::new();
    for (file, extra, expected) in cases {
        let got = as_csv(&fixture(&format!("formats/{file}")), extra);
        if got != fixture_text(expected) {
            failures.push(format!("{file}:\n{got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "differs from the expected table:\n{}",
        failures.join("\n")
    );
}

/// Avro's timestamp-micros is an instant (UTC), so it reads as a UTC datetime.
#[test]
fn avro_codecs_read_with_utc_timestamps() {
    let timestamp = regex::Regex::new(r"(\d{4}-\d{2}-\d{2}T[0-9:.]+)").unwrap();
    let expected = timestamp
        .replace_all(&fixture_text(EXPECTED), "${1}+0000")
        .into_owned();
    for codec in ["null", "deflate", "snappy"] {
        let got = as_csv(&fixture(&format!("formats/people.{codec}.avro")), &[]);
        assert_eq!(got, expected, "people.{codec}.avro");
    }
}

#[test]
fn avro_logical_types_decimal_date_timestamps() {
    let got = as_csv(&fixture("formats/logical.avro"), &[]);
    let timestamp = regex::Regex::new(r"(\d{4}-\d{2}-\d{2}T[0-9:.]+)").unwrap();
    let expected = timestamp
        .replace_all(&fixture_text("formats/logical.expected.csv"), "${1}+0000")
        .into_owned();
    assert_eq!(got, expected);
    let types = column_types(&fixture("formats/logical.avro"));
    assert!(types.iter().any(|t| t.starts_with("decimal")), "{types:?}");
    assert!(types.iter().any(|t| t == "date"), "{types:?}");
}

#[test]
fn column_types_survive_binary_formats() {
    for file in [
        "people.snappy.parquet",
        "people.snappy.orc",
        "people.arrow",
        "people.ods",
        "people.json",
    ] {
        let types = column_types(&fixture(&format!("formats/{file}")));
        assert_eq!(
            types,
            ["i64", "str", "f64", "bool", "date", "datetime[μs]"],
            "{file}"
        );
    }
}

/// Whatever etl writes, etl reads back to the same table.
#[test]
fn writes_every_format_and_reads_it_back() {
    let dir = tempdir();
    let src = fixture("formats/people.snappy.parquet");
    let mut failures = Vec::new();
    for ext in [
        "csv",
        "csv.gz",
        "csv.zst",
        "csv.bz2",
        "csv.xz",
        "tsv",
        "parquet",
        "orc",
        "avro",
        "json",
        "json.gz",
        "ndjson",
        "ndjson.zst",
        "xlsx",
        "arrow",
        "arrows",
    ] {
        let out = dir.path().join(format!("people.{ext}"));
        ok(&[
            "ingest",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-q",
        ]);
        let got = as_csv(&out, &[]);
        let expected = if ext == "xlsx" {
            fixture_text(SPREADSHEET_EXPECTED)
        } else {
            fixture_text(EXPECTED)
        };
        let got = if ext == "avro" {
            got.replace("+0000", "")
        } else {
            got
        };
        if got != expected {
            failures.push(format!("{ext}:\n{got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "round trips that differ:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        &std::fs::read(dir.path().join("people.csv.gz")).unwrap()[..2],
        &[0x1f, 0x8b]
    );
    assert_eq!(
        &std::fs::read(dir.path().join("people.tsv")).unwrap()[..3],
        b"id\t"
    );
}

#[test]
fn codecs_are_applied_inside_binary_formats() {
    let dir = tempdir();
    let src = fixture("formats/people.csv");
    for (ext, codec) in [
        ("parquet", "zstd"),
        ("parquet", "gzip"),
        ("parquet", "none"),
        ("orc", "zlib"),
        ("avro", "deflate"),
    ] {
        let out = dir.path().join(format!("{codec}.{ext}"));
        ok(&[
            "ingest",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--compression",
            codec,
            "-q",
        ]);
        assert_eq!(as_csv(&out, &[]), fixture_text(EXPECTED), "{codec}.{ext}");
        if ext == "parquet" {
            let r = ok(&["inspect", out.to_str().unwrap(), "--json", "--no-stats"]);
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            let want = if codec == "none" {
                "uncompressed"
            } else {
                codec
            };
            assert_eq!(v["compression"], want, "{codec}.{ext}");
        }
    }
    let r = fails(
        &[
            "ingest",
            src.to_str().unwrap(),
            "-o",
            dir.path().join("x.parquet").to_str().unwrap(),
            "--compression",
            "bzip2",
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("parquet output cannot use --compression bzip2"),
        "{}",
        r.stderr
    );
}

/// Files from etl open in pyarrow, fastavro and openpyxl.
#[test]
fn other_implementations_read_what_etl_writes() {
    let Some(py) = python_with(&["pyarrow", "fastavro", "openpyxl"]) else {
        return;
    };
    let dir = tempdir();
    let src = fixture("formats/people.csv");
    for ext in ["parquet", "orc", "avro", "arrow", "xlsx"] {
        ok(&[
            "ingest",
            src.to_str().unwrap(),
            "-o",
            dir.path().join(format!("p.{ext}")).to_str().unwrap(),
            "-q",
        ]);
    }
    let script = r#"
import sys, pyarrow.parquet as pq, pyarrow.orc as orc, pyarrow.ipc as ipc, fastavro, openpyxl
d = sys.argv[1]
rows = [
    pq.read_table(f"{d}/p.parquet").num_rows,
    orc.read_table(f"{d}/p.orc").num_rows,
    len(list(fastavro.reader(open(f"{d}/p.avro", "rb")))),
    ipc.open_file(f"{d}/p.arrow").read_all().num_rows,
    openpyxl.load_workbook(f"{d}/p.xlsx").active.max_row - 1,
]
names = pq.read_table(f"{d}/p.parquet").column("name").to_pylist()
assert names[1] == "Smith, John" and names[3] == "line1\nline2" and names[5] is None, names
orc_born = orc.read_table(f"{d}/p.orc").column("born").to_pylist()
assert str(orc_born[0]) == "1980-01-31", orc_born
print(rows)
"#;
    let out = std::process::Command::new(py)
        .args(["-c", script, dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[6, 6, 6, 6, 6]"
    );
}

#[test]
fn spark_part_folder_skips_markers_and_hidden_files() {
    assert_eq!(
        as_csv(&fixture("layouts/spark_out"), &[]),
        fixture_text(EXPECTED)
    );
}

#[test]
fn hive_partitions_become_columns() {
    let got = as_csv(&fixture("layouts/hive"), &[]);
    let mut got: Vec<&str> = got.lines().collect();
    let expected = fixture_text("layouts/hive.expected.csv");
    let mut expected: Vec<&str> = expected.lines().collect();
    assert_eq!(got[0], "id,name,state");
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn glob_inputs_concatenate_by_column_name() {
    let pattern = fixture("layouts/landing").join("*.csv");
    let got = as_csv(&pattern, &[]);
    assert_eq!(got, fixture_text("layouts/landing.expected.csv"));
}

#[test]
fn several_inputs_concatenate_and_widen_numbers() {
    let dir = tempdir();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(&a, "k,v\n1,2\n").unwrap();
    std::fs::write(&b, "v,k\n2.5,3\n").unwrap();
    let r = ok(&[
        "ingest",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, "k,v\n1,2.0\n3,2.5\n");
}

#[test]
fn incompatible_column_types_name_both_files() {
    let r = fails(
        &[
            "ingest",
            fixture("layouts/landing_bad").to_str().unwrap(),
            "--to",
            "csv",
        ],
        1,
    );
    assert!(r.stderr.contains("column 'id'"), "{}", r.stderr);
    assert!(
        r.stderr.contains("b1.csv") && r.stderr.contains("b2.csv"),
        "{}",
        r.stderr
    );
}

#[test]
fn limit_select_and_provenance_columns() {
    let pattern = fixture("layouts/landing").join("*.csv");
    let r = ok(&[
        "ingest",
        pattern.to_str().unwrap(),
        "--add-source-column",
        "src",
        "--add-ingest-time",
        "loaded_at",
        "--select",
        "id,src,loaded_at",
        "--limit",
        "4",
        "--to",
        "csv",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "id,src,loaded_at");
    assert_eq!(lines.len(), 5, "{}", r.stdout);
    assert!(
        lines[1].contains("a1.csv") && lines[4].contains("a2.csv"),
        "{}",
        r.stdout
    );
    let stamp = lines[1].rsplit(',').next().unwrap();
    assert!(
        stamp.starts_with("20") && stamp.ends_with("+0000"),
        "{stamp}"
    );
    assert!(
        lines[1..].iter().all(|l| l.ends_with(stamp)),
        "one ingest time for all rows"
    );
}

#[test]
fn unknown_select_column_suggests_a_close_one() {
    let r = fails(
        &[
            "ingest",
            fixture("formats/people.csv").to_str().unwrap(),
            "--select",
            "id,nme",
            "--to",
            "csv",
        ],
        2,
    );
    assert!(
        r.stderr.contains("'nme' (did you mean 'name'?)"),
        "{}",
        r.stderr
    );
}

#[test]
fn csv_options_headerless_schema_escape() {
    let dir = tempdir();
    let r = ok(&[
        "ingest",
        fixture("formats/people.noheader.csv").to_str().unwrap(),
        "--no-header",
        "--schema",
        "id:int,name:str,score:float,active:bool,born:date,updated:datetime",
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, fixture_text(EXPECTED));
    let esc = dir.path().join("esc.csv");
    std::fs::write(&esc, "id,quote\n1,\"say \\\"hi\\\"\"\n2,plain\n").unwrap();
    let r = ok(&[
        "ingest",
        esc.to_str().unwrap(),
        "--escape",
        "\\",
        "--to",
        "ndjson",
    ]);
    assert_eq!(
        r.stdout,
        "{\"id\":1,\"quote\":\"say \\\"hi\\\"\"}\n{\"id\":2,\"quote\":\"plain\"}\n"
    );
}

#[test]
fn schema_types_override_inference() {
    let r = ok(&[
        "ingest",
        fixture("formats/people.csv").to_str().unwrap(),
        "--schema",
        "id:str,score:float32",
        "--to",
        "ndjson",
        "--limit",
        "1",
    ]);
    assert!(
        r.stdout
            .starts_with("{\"id\":\"1\",\"name\":\"plain\",\"score\":1.5,"),
        "{}",
        r.stdout
    );
}

#[test]
fn excel_sheets_by_name_and_index() {
    let book = fixture("formats/people.xlsx");
    assert_eq!(
        ok(&[
            "ingest",
            book.to_str().unwrap(),
            "--sheet",
            "other",
            "--to",
            "csv"
        ])
        .stdout,
        "a,b\n1,x\n2,y\n"
    );
    assert_eq!(
        ok(&[
            "ingest",
            book.to_str().unwrap(),
            "--sheet",
            "1",
            "--to",
            "csv"
        ])
        .stdout,
        "a,b\n1,x\n2,y\n"
    );
    let r = fails(
        &[
            "ingest",
            book.to_str().unwrap(),
            "--sheet",
            "nope",
            "--to",
            "csv",
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("no sheet named 'nope' (sheets: people, other)"),
        "{}",
        r.stderr
    );
}

#[test]
fn split_writes_part_files_like_spark() {
    let dir = tempdir();
    let out = dir.path().join("report");
    let r = ok(&[
        "ingest",
        fixture("formats/people.csv").to_str().unwrap(),
        "--to",
        "orc",
        "--split",
        "2",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(r.stderr.contains("wrote 6 rows"), "{}", r.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["_SUCCESS", "part-00000.orc", "part-00001.orc"]);
    for part in ["part-00000.orc", "part-00001.orc"] {
        let r = ok(&[
            "inspect",
            out.join(part).to_str().unwrap(),
            "--json",
            "--no-stats",
        ]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["rows"], 3, "{part}");
    }
    assert_eq!(as_csv(&out, &[]), fixture_text(EXPECTED));
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn existing_output_needs_force_and_is_replaced_whole() {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    std::fs::write(&out, "old\n").unwrap();
    let r = fails(
        &[
            "ingest",
            fixture("formats/people.csv").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(
        r.stderr.contains("already exists; pass --force"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
    ok(&[
        "ingest",
        fixture("formats/people.csv").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--force",
        "-q",
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        fixture_text(EXPECTED)
    );
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn summary_line_and_json_logs() {
    let dir = tempdir();
    let out = dir.path().join("o.parquet");
    let r = ok(&[
        "ingest",
        fixture("formats/people.csv").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        r.stderr.starts_with("etl ingest: wrote 6 rows to ")
            && r.stderr.contains("(parquet, snappy"),
        "{}",
        r.stderr
    );
    let out2 = dir.path().join("o2.parquet");
    let r = ok(&[
        "ingest",
        fixture("formats/people.csv").to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(v["rows"], 6);
    assert_eq!(v["level"], "info");
    let r = run(&[
        "ingest",
        "/no/such/file.csv",
        "--log-format",
        "json",
        "--to",
        "csv",
    ]);
    assert_eq!(r.code, 3);
    let v: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["level"], "error");
}

#[test]
fn nested_parquet_types_pass_through_pipes_and_json() {
    let nested = fixture("formats/nested.parquet");
    let expected = "{\"id\":1,\"tags\":[\"a\",\"b\"],\"geo\":{\"lat\":40.7,\"lng\":-74.0}}\n\
                    {\"id\":2,\"tags\":[],\"geo\":null}\n\
                    {\"id\":3,\"tags\":null,\"geo\":{\"lat\":34.1,\"lng\":null}}\n";
    assert_eq!(
        ok(&["ingest", nested.to_str().unwrap(), "--to", "ndjson"]).stdout,
        expected
    );
    let dir = tempdir();
    let stream = dir.path().join("n.arrows");
    ok(&[
        "ingest",
        nested.to_str().unwrap(),
        "-o",
        stream.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(
        ok(&["ingest", stream.to_str().unwrap(), "--to", "ndjson"]).stdout,
        expected
    );
    // ORC holds lists and structs too (tests/cli/interop.rs checks them
    // with pyarrow and pyorc): the same rows come back.
    let orc = dir.path().join("n.orc");
    ok(&[
        "ingest",
        nested.to_str().unwrap(),
        "-o",
        orc.to_str().unwrap(),
    ]);
    assert_eq!(
        ok(&["ingest", orc.to_str().unwrap(), "--to", "ndjson"]).stdout,
        expected
    );
}

#[test]
fn json_lines_named_json_read_as_spark_writes_them() {
    let dir = tempdir();
    let plain = dir.path().join("part-00000.json");
    std::fs::write(
        &plain,
        "{\"id\":1,\"city\":\"A\"}\n{\"id\":2,\"city\":\"B\"}\n",
    )
    .unwrap();
    assert_eq!(as_csv(&plain, &[]), "id,city\n1,A\n2,B\n");
    let packed = dir.path().join("report.json.bz2");
    ok(&[
        "ingest",
        plain.to_str().unwrap(),
        "-o",
        packed.to_str().unwrap(),
        "--to",
        "ndjson",
    ]);
    assert_eq!(as_csv(&packed, &[]), "id,city\n1,A\n2,B\n");
}

#[test]
fn orc_writes_integer_runs_that_once_panicked() {
    // 90% small values and 10% with 31 bits: orc-rust 0.9.0's patched-base
    // encoder underflowed on such runs (vendor/orc-rust/ETL-PATCH.md).
    let dir = tempdir();
    let mut text = String::from("id\n");
    for i in 0..4096u64 {
        let v = if i % 10 == 0 {
            (1u64 << 30) + i * 7919
        } else {
            i % 1000
        };
        text.push_str(&format!("{v}\n"));
    }
    let input = csv_in(dir.path(), "ids.csv", &text);
    let orc = dir.path().join("ids.orc");
    ok(&["ingest", &input, "-o", orc.to_str().unwrap()]);
    assert_eq!(as_csv(&orc, &[]), text);
}
