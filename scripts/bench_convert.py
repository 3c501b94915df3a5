#!/usr/bin/env python3
"""Benchmark: CSV -> Parquet and Parquet -> CSV with etl and with DuckDB.

Generates the healthcare CSV (scripts/gen_healthcare.py) at each size, then
times each conversion several times with /usr/bin/time -v (wall time and
peak RSS), alternating tools so machine noise hits both alike, and prints a
Markdown table of medians with the etl/DuckDB ratio.

    pip install duckdb==1.* pyarrow    # once
    cargo build --release
    python3 scripts/bench_convert.py --rows 1000000 10000000 --runs 3
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (seconds, peak RSS in MB)."""
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", out.stderr).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return seconds, rss_kb / 1024


def duckdb_cmd(sql):
    return [sys.executable, "-c", f"import duckdb; duckdb.sql({sql!r})"]


def arguments(doc):
    """The options every benchmark script takes."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--etl", default=str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "etl"))
    ap.add_argument("--work", default=str(ROOT / "bench-data"))
    return ap


def dataset(work, rows):
    """The generated healthcare data for `rows` rows, made once and reused."""
    data = Path(work) / f"hc-{rows}"
    if not (data / "USA_Presc_Medicare_Data_2021.csv").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts/gen_healthcare.py"), "--rows", str(rows), "--out", str(data)], check=True)
    return data


def main():
    args = arguments(__doc__).parse_args()

    work = Path(args.work)
    work.mkdir(exist_ok=True)
    results = []
    for rows in args.rows:
        data = dataset(work, rows)
        csv = data / "USA_Presc_Medicare_Data_2021.csv"
        parquet_in = data / "presc.parquet"
        if not parquet_in.exists():
            subprocess.run([args.etl, "ingest", str(csv), "-o", str(parquet_in), "-q"], check=True)
        size_mb = csv.stat().st_size / 2**20
        out = work / "out"
        cases = {
            ("csv->parquet", "etl"): [args.etl, "ingest", str(csv), "-o", str(out / "o.parquet"), "-q"],
            ("csv->parquet", "duckdb"): duckdb_cmd(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}/o.parquet' (FORMAT parquet, COMPRESSION snappy)"),
            ("parquet->csv", "etl"): [args.etl, "ingest", str(parquet_in), "-o", str(out / "o.csv"), "-q"],
            ("csv->parquet piped", "etl"): ["sh", "-c", f"'{args.etl}' ingest '{csv}' | '{args.etl}' ingest -o '{out}/p.parquet' -q"],
            ("parquet->csv", "duckdb"): duckdb_cmd(f"COPY (SELECT * FROM '{parquet_in}') TO '{out}/o.csv' (HEADER)"),
        }
        samples = {k: [] for k in cases}
        for _ in range(args.runs):
            for key, cmd in cases.items():
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                samples[key].append(timed(cmd))
        for direction in ("csv->parquet", "parquet->csv", "csv->parquet piped"):
            med = {}
            for tool in ("etl", "duckdb"):
                s = samples.get((direction, tool))
                if s:
                    med[tool] = (statistics.median(x[0] for x in s), statistics.median(x[1] for x in s))
            results.append((rows, size_mb, direction, med))
        shutil.rmtree(out, ignore_errors=True)

    print(f"\nmedian of {args.runs} runs, {os.cpu_count()} cores\n")
    print("| rows | CSV size | conversion | etl s | DuckDB s | etl/DuckDB time | etl peak RSS | DuckDB peak RSS |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for rows, size, direction, med in results:
        (et, er) = med["etl"]
        if "duckdb" in med:
            (dt, dr) = med["duckdb"]
            print(f"| {rows:,} | {size:,.0f} MB | {direction} | {et:.2f} | {dt:.2f} | {et / dt:.2f} | {er:,.0f} MB | {dr:,.0f} MB |")
        else:
            print(f"| {rows:,} | {size:,.0f} MB | {direction} (larger process) | {et:.2f} | | | {er:,.0f} MB | |")


if __name__ == "__main__":
    main()
