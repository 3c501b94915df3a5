//! Typed pipes between etl commands: Arrow IPC streams on stdout, read back
//! on stdin; text on stdin; early close of the reader.

use std::io::Read;
use std::process::Stdio;

use crate::common::*;

fn pipe(first: &[&str], second: &[&str]) -> (Run, Run) {
    let mut a = etl()
        .args(first)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = etl()
        .args(second)
        .stdin(a.stdout.take().unwrap())
        .output()
        .unwrap();
    let a = a.wait_with_output().unwrap();
    (a.into(), b.into())
}

#[test]
fn stdout_is_an_arrow_ipc_stream_that_the_next_etl_reads() {
    let people = fixture("formats/people.snappy.parquet");
    let r = ok(&["ingest", people.to_str().unwrap()]);
    assert_eq!(
        &r.raw[..4],
        &[0xFF, 0xFF, 0xFF, 0xFF],
        "an IPC stream starts with a continuation marker"
    );
    let (a, b) = pipe(
        &["ingest", people.to_str().unwrap()],
        &["ingest", "--to", "csv"],
    );
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(b.code, 0, "{}", b.stderr);
    assert_eq!(b.stdout, fixture_text("formats/people.expected.csv"));
}

#[test]
fn a_chain_of_three_keeps_types_and_writes_a_file() {
    let dir = tempdir();
    let out = dir.path().join("out.parquet");
    let mut a = etl()
        .args(["ingest", fixture("formats/people.csv").to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut b = etl()
        .args(["ingest", "-", "--select", "id,born,updated"])
        .stdin(a.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let c = etl()
        .args(["ingest", "-o", out.to_str().unwrap(), "-q"])
        .stdin(b.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    assert_eq!(column_types(&out), ["i64", "date", "datetime[μs]"]);
    let r = ok(&["inspect", out.to_str().unwrap(), "--json", "--no-stats"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["rows"], 6);
}

#[test]
fn text_on_stdin_is_read_as_csv_or_what_from_says() {
    let r = run_with_stdin(
        &["ingest", "--to", "csv"],
        fixture_text("formats/people.csv").as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, fixture_text("formats/people.expected.csv"));
    let r = run_with_stdin(
        &["ingest", "--from", "ndjson", "--to", "csv"],
        b"{\"a\":1}\n{\"a\":2}\n",
    );
    assert_eq!(r.stdout, "a\n1\n2\n");
}

#[test]
fn a_downstream_that_closes_early_is_not_an_error() {
    let dir = tempdir();
    let big = numbered_csv(dir.path(), 300_000);
    let (a, b) = pipe(
        &["ingest", big.to_str().unwrap()],
        &["head", "-", "-n", "2", "--to", "csv"],
    );
    assert_eq!(b.code, 0, "{}", b.stderr);
    assert_eq!(b.stdout, "id,label\n0,row-0\n1,row-1\n");
    assert_eq!(a.code, 0, "upstream: {}", a.stderr);
    assert_eq!(a.stderr, "", "no message when the reader goes away");
}

#[test]
fn batches_arrive_before_the_producer_finishes() {
    // The reader sees the first batch while the writer is still producing:
    // read the schema message and a first record batch, then check that the
    // producer has not exited yet.
    let dir = tempdir();
    let big = numbered_csv(dir.path(), 2_000_000);
    let mut a = etl()
        .args(["ingest", big.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = a.stdout.take().unwrap();
    let mut first = vec![0u8; 1 << 16];
    stdout.read_exact(&mut first).unwrap();
    let still_running = a.try_wait().unwrap().is_none();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(a.wait().unwrap().success());
    assert!(
        still_running,
        "the first 64 KB arrived only after the producer had finished"
    );
    assert!(rest.len() > 10_000_000);
}

#[test]
fn a_terminal_gets_a_preview_not_bytes() {
    // `script` gives the command a pseudo-terminal as stdout.
    let cmd = format!(
        "{} ingest {}",
        etl_bin(),
        fixture("formats/people.csv").display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output();
    let Ok(out) = out else {
        eprintln!("skipped: no `script` to make a pseudo-terminal");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("6 rows × 6 columns"), "{text}");
    assert!(text.contains("schema: id: i64, name: str"), "{text}");
    assert!(text.contains("Zoë Ångström"), "{text}");
    assert!(text.contains("a preview: stdout is a terminal"), "{text}");
}

#[test]
fn a_stream_becomes_parquet_with_large_row_groups() {
    let dir = tempdir();
    let big = numbered_csv(dir.path(), 700_000);
    let out = dir.path().join("out.parquet");
    let (a, b) = pipe(
        &["ingest", big.to_str().unwrap()],
        &["ingest", "-o", out.to_str().unwrap(), "-q"],
    );
    assert_eq!((a.code, b.code), (0, 0), "{} {}", a.stderr, b.stderr);
    let Some(py) = python_with(&["pyarrow"]) else {
        return;
    };
    let script = "import sys, pyarrow.parquet as pq; m = pq.ParquetFile(sys.argv[1]).metadata; print(m.num_rows, m.num_row_groups)";
    let r = std::process::Command::new(py)
        .args(["-c", script, out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        "700000 2",
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

#[test]
fn pyarrow_reads_the_pipe_stream() {
    let Some(py) = python_with(&["pyarrow"]) else {
        return;
    };
    let mut a = etl()
        .args(["ingest", fixture("formats/people.csv").to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let script =
        "import sys, pyarrow.ipc as ipc; t = ipc.open_stream(sys.stdin.buffer).read_all(); \
                  print(t.num_rows, t.schema.field('born').type, t.column('name')[3])";
    let out = std::process::Command::new(py)
        .args(["-c", script])
        .stdin(a.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(a.wait().unwrap().success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "6 date32[day] line1\nline2",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
