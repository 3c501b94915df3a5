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

/// Runs etl with a deadline: an input opened twice would block on a FIFO
/// whose writer is gone, so a regression fails instead of hanging.
fn run_within(args: &[&str], secs: u64, tmp: &std::path::Path) -> Run {
    let child = etl()
        .args(args)
        .env("TMPDIR", tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(out) => out.unwrap().into(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("etl {args:?} still running after {secs} s (the input was opened twice?)");
        }
    }
}

/// Writes `data` once into the FIFO at `path` from a background thread, as
/// `zcat x.gz > fifo` does.
fn feed_fifo(path: &std::path::Path, data: Vec<u8>) {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path) {
            let _ = std::io::Write::write_all(&mut f, &data);
        }
    });
}

/// A named pipe (and a gzip stream in one, named by its extension) is read
/// once: every row arrives, no false "ragged row" from a second read.
#[test]
fn named_pipes_are_read_once() {
    let dir = tempdir();
    let big = numbered_csv(dir.path(), 30_000);
    let text = std::fs::read(&big).unwrap();
    let scratch = dir.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &text).unwrap();
    let gz = gz.finish().unwrap();
    for (name, bytes, cmd) in [
        ("plain.csv", text.clone(), "ingest"),
        ("packed.csv.gz", gz.clone(), "ingest"),
        ("again.csv", text.clone(), "inspect"),
    ] {
        let fifo = dir.path().join(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo {name}");
        feed_fifo(&fifo, bytes);
        let fifo = fifo.to_str().unwrap();
        let r = match cmd {
            "ingest" => run_within(&["ingest", fifo, "--to", "csv"], 60, &scratch),
            _ => run_within(&["inspect", fifo, "--json"], 60, &scratch),
        };
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        if cmd == "ingest" {
            assert!(
                r.raw == text,
                "{name}: {} bytes instead of {}",
                r.raw.len(),
                text.len()
            );
        } else {
            assert!(r.stdout.contains("\"rows\": 30000"), "{name}: {}", r.stdout);
        }
    }
    let left: Vec<String> = std::fs::read_dir(&scratch)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("etl-"))
        .collect();
    assert!(left.is_empty(), "scratch copies left in TMPDIR: {left:?}");
}

/// `etl ingest <(zcat x.csv.gz)`: process substitution, as a shell user writes it.
#[test]
fn process_substitution_is_read_once() {
    let dir = tempdir();
    let big = numbered_csv(dir.path(), 30_000);
    let gz = std::process::Command::new("gzip")
        .arg("-k")
        .arg(&big)
        .status()
        .unwrap();
    assert!(gz.success());
    let script = format!(
        "timeout 60 '{}' ingest <(gzip -dc '{}.gz') --to csv",
        etl_bin(),
        big.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout == std::fs::read(&big).unwrap(),
        "{} bytes",
        out.stdout.len()
    );
}

/// etl under a 1.5 GB address-space limit: a regression that makes an input
/// blow up memory fails the test instead of freezing the machine.
fn run_limited(args: &[&str]) -> Run {
    std::process::Command::new("prlimit")
        .arg("--as=1500000000")
        .arg(etl_bin())
        .args(args)
        .env_remove("COLUMNS")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into()
}

/// Deeply nested JSON fails at once with the file and the limit (exit 1),
/// in little memory, instead of taking gigabytes or overflowing the stack.
#[test]
fn deep_json_is_refused_in_bounded_memory() {
    if prlimit().is_none() {
        return;
    }
    let dir = tempdir();
    let nested = |d: usize| format!("{{\"a\":{}1{}}}", "[".repeat(d), "]".repeat(d));
    let cases = [
        ("deep.json", format!("[{}]", nested(1_000))),
        ("deeper.json", format!("[{}]", nested(100_000))),
        ("deep.ndjson", format!("{{\"a\":1}}\n{}\n", nested(1_000))),
    ];
    for (name, text) in &cases {
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join(format!("{name}.parquet"));
        let r = run_limited(&[
            "ingest",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains(input.to_str().unwrap()) && r.stderr.contains("more than 64 levels"),
            "{name}: {}",
            r.stderr
        );
        assert!(!out.exists(), "{name}: output written");
    }
    // Brackets inside strings are text, and real nesting within the limit reads.
    let fine = dir.path().join("fine.json");
    let text = format!(
        "[{{\"s\":\"{}\",\"n\":{}1{}}}]",
        "[{".repeat(5_000),
        "[".repeat(30),
        "]".repeat(30)
    );
    std::fs::write(&fine, text).unwrap();
    let out = dir.path().join("fine.parquet");
    let r = run_limited(&[
        "ingest",
        fine.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
