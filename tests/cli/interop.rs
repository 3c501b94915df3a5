//! Round-trip conformance: one table with every type (and one with nested
//! types), written by etl in every output format, read back cell by cell by
//! the tools people use (pyarrow, pyorc, fastavro, DuckDB, openpyxl), and read
//! back by etl itself. Plus files other tools wrote: ORC from the C++ writer
//! (pyarrow) and Avro from fastavro, in every codec. tests/cli/interop.py does
//! the Python side.

use std::path::Path;
use std::process::Command;

use crate::common::*;

const MODULES: &[&str] = &["pyarrow", "pyorc", "fastavro", "duckdb", "openpyxl"];

fn helper() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/interop.py")
        .to_string_lossy()
        .into_owned()
}

/// Runs a command of interop.py, insisting on success.
fn py(py: &str, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg(helper())
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "interop.py {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Writes `source` as `ext` with etl, checks every independent reader and
/// etl's own read-back against the source.
fn round_trip(python: &str, dir: &Path, source: &Path, ext: &str, codec: Option<&str>) {
    let stem = source.file_stem().unwrap().to_str().unwrap();
    let tag = codec.unwrap_or("default");
    let out = dir.join(format!("{stem}.{tag}.{ext}"));
    let mut args = vec!["ingest", s(source), "-o", s(&out), "-q"];
    if let Some(c) = codec {
        args.extend(["--compression", c]);
    }
    ok(&args);
    let fmt = if ext == "arrow" { "arrow" } else { ext };
    py(python, &["check", fmt, s(&out), s(source)]);
    let back = dir.join(format!("{stem}.{tag}.{ext}.back.parquet"));
    ok(&["ingest", s(&out), "-o", s(&back), "-q"]);
    let via = dir.join(format!("{stem}.etl.parquet"));
    if !via.exists() {
        ok(&["ingest", s(source), "-o", s(&via), "-q"]);
    }
    py(python, &["same", s(source), s(&via), s(&back), fmt]);
}

#[test]
fn every_type_to_every_format_reads_back_exactly() {
    let Some(python) = python_with(MODULES) else {
        return;
    };
    let dir = tempdir();
    py(python, &["source", s(dir.path())]);
    let flat = dir.path().join("flat.parquet");
    let nested = dir.path().join("nested.parquet");
    for ext in [
        "parquet", "orc", "avro", "arrow", "csv", "json", "ndjson", "xlsx",
    ] {
        round_trip(python, dir.path(), &flat, ext, None);
    }
    for ext in ["parquet", "orc", "avro", "arrow", "json", "ndjson"] {
        round_trip(python, dir.path(), &nested, ext, None);
    }
}

#[test]
fn avro_every_codec_reads_back_in_fastavro() {
    let Some(python) = python_with(MODULES) else {
        return;
    };
    let dir = tempdir();
    py(python, &["source", s(dir.path())]);
    let nested = dir.path().join("nested.parquet");
    for codec in ["none", "deflate", "snappy", "zstd", "bzip2", "xz"] {
        round_trip(python, dir.path(), &nested, "avro", Some(codec));
    }
}

#[test]
fn orc_every_codec_reads_back_in_pyarrow_and_pyorc() {
    let Some(python) = python_with(MODULES) else {
        return;
    };
    let dir = tempdir();
    py(python, &["source", s(dir.path())]);
    let flat = dir.path().join("flat.parquet");
    for codec in ["none", "snappy", "zlib", "zstd", "lz4"] {
        round_trip(python, dir.path(), &flat, "orc", Some(codec));
    }
}

/// ORC from the C++ writer: timestamps before and after 1970 (its negative
/// nanosecond parts once failed as "Overflow while decoding timestamp"),
/// naive and UTC, several stripes, every codec.
#[test]
fn orc_written_by_pyarrow_reads_exactly() {
    let Some(python) = python_with(MODULES) else {
        return;
    };
    let dir = tempdir();
    py(python, &["pyarrow-orc", s(dir.path())]);
    for codec in ["uncompressed", "snappy", "zlib", "zstd", "lz4"] {
        let file = dir.path().join(format!("pyarrow.{codec}.orc"));
        let back = dir.path().join(format!("pyarrow.{codec}.parquet"));
        ok(&["ingest", s(&file), "-o", s(&back), "-q"]);
        py(python, &["expect", s(&file), s(&back)]);
    }
}

/// Avro from fastavro: every primitive, complex and logical type of the
/// spec, every codec (these once failed as "corrupt block or sync marker").
#[test]
fn avro_written_by_fastavro_reads_exactly() {
    let Some(python) = python_with(MODULES) else {
        return;
    };
    let dir = tempdir();
    py(python, &["fastavro", s(dir.path())]);
    for codec in ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"] {
        let file = dir.path().join(format!("fastavro.{codec}.avro"));
        let back = dir.path().join(format!("fastavro.{codec}.parquet"));
        ok(&["ingest", s(&file), "-o", s(&back), "-q"]);
        py(python, &["expect", s(&file), s(&back)]);
    }
}

/// A type a format cannot hold is refused before anything is written: exit 2,
/// naming the column, its type and what to cast it to; no file left behind.
#[test]
fn types_a_format_cannot_hold_are_refused_up_front() {
    let Some(python) = python_with(&["pyarrow"]) else {
        return;
    };
    let dir = tempdir();
    let src = dir.path().join("times.parquet");
    let script = "import sys, datetime as dt, pyarrow as pa, pyarrow.parquet as pq\n\
        pq.write_table(pa.table({'id': [1], 'tod': pa.array([dt.time(12, 30)], pa.time64('us'))}), sys.argv[1])";
    let out = Command::new(python)
        .args(["-c", script, s(&src)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target = dir.path().join("t.orc");
    let r = fails(&["ingest", s(&src), "-o", s(&target)], 2);
    assert!(
        r.stderr.contains("'tod'") && r.stderr.contains("time") && r.stderr.contains("cast it to"),
        "{}",
        r.stderr
    );
    assert!(!target.exists());
    assert!(leftovers(dir.path()).is_empty());
    // To stdout as well: not one byte before the refusal.
    let r = fails(&["ingest", s(&src), "--to", "orc"], 2);
    assert!(r.raw.is_empty(), "wrote {} bytes", r.raw.len());
}
