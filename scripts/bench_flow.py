#!/usr/bin/env python3
"""Benchmark: the healthcare flow (HEALTHCARE_FLOW.md) end to end with etl
(`run-pipeline pipelines/healthcare.toml`, ops files, SQL files, and as a
chain of piped commands) against DuckDB and polars-python doing the same
flow, on the same generated data, in the same run.

`etl run-pipeline` does more than the others: it also writes the raw input
as Parquet (bronze), persists both reports into the warehouse folder and
SQLite, writes the JSON/bz2 and ORC extracts, copies them to three delivery
folders and checksums every output. `--bronze` adds DuckDB and
polars-python variants that write the bronze Parquet too and read the fact
from it ("+ bronze"), the closest like-for-like; the plain variants stay in
the same run.

Each variant reads the CSV and the city Parquet and writes the cleaned tables
and both reports. Runs are interleaved so machine noise hits every variant
alike; medians of wall time and peak RSS (/usr/bin/time -v; for the shell
scripts, the largest process) are reported. The reports of every variant are
checked against DuckDB's before timing.

    pip install -r scripts/requirements-bench.txt
    cargo build --release
    python3 scripts/bench_flow.py --rows 1000000 10000000 --runs 3 [--spark]
"""
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import arguments, dataset, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def pipeline_cmd(etl, data, out):
    env = (f"ETL_HOME='{out}' ETL_PRESC_INPUT='{data}/USA_Presc_Medicare_Data_2021.csv' "
           f"ETL_CITY_INPUT='{data}/us_cities_dimension.parquet'")
    return ["bash", "-c", f"cd '{ROOT}' && {env} '{etl}' run-pipeline pipelines/healthcare.toml -q --var run_date=2026-01-01"]


def pipeline_reports(etl, out):
    """The pipeline's gold reports as CSV, for the comparison (not timed)."""
    import subprocess
    for name in ("city_report", "top_prescribers"):
        subprocess.run([etl, "ingest", f"{out}/gold/{name}.parquet", "-o", f"{out}/{name}.csv", "--force", "-q"], check=True)


def variants(etl, data, out, spark=False, bronze=False):
    env = f"ETL='{etl}'"
    extra = {"PySpark": [sys.executable, str(ROOT / "scripts/flow_pyspark.py"), str(data), str(out)]} if spark else {}
    if bronze:
        extra |= {f"{name} + bronze": [sys.executable, str(ROOT / f"scripts/flow_{script}.py"), "--bronze", str(data), str(out)]
                  for name, script in (("DuckDB", "duckdb"), ("polars-python", "polars"))}
        if spark:
            extra["PySpark"] = [*extra["PySpark"][:2], "--bronze", *extra["PySpark"][2:]]
    return extra | {
        "etl run-pipeline": pipeline_cmd(etl, data, out),
        "etl (ops files)": ["bash", "-c", f"{env} '{ROOT}/scripts/flow_etl_ops.sh' '{data}' '{out}'"],
        "etl (SQL files)": ["bash", "-c", f"{env} '{ROOT}/scripts/flow_etl_sql.sh' '{data}' '{out}'"],
        "etl (pipes)": ["bash", "-c", f"{env} '{ROOT}/scripts/healthcare-pipes.sh' '{data}' '{out}' 2>/dev/null"],
        "DuckDB": [sys.executable, str(ROOT / "scripts/flow_duckdb.py"), str(data), str(out)],
        "polars-python": [sys.executable, str(ROOT / "scripts/flow_polars.py"), str(data), str(out)],
    }


def same_reports(a, b):
    import duckdb
    for name in ("city_report.csv", "top_prescribers.csv"):
        q = f"select * from read_csv('{a}/{name}') except all select * from read_csv('{b}/{name}')"
        r = f"select * from read_csv('{b}/{name}') except all select * from read_csv('{a}/{name}')"
        if duckdb.sql(q).fetchall() or duckdb.sql(r).fetchall():
            return False
    return True


def main():
    ap = arguments(__doc__)
    ap.add_argument("--spark", action="store_true", help="also run PySpark local (slow; pip install -r scripts/requirements-bench.txt)")
    ap.add_argument("--bronze", action="store_true", help="also run DuckDB and polars-python writing the raw CSV as Parquet first and reading it back, as run-pipeline does (\"+ bronze\" rows; PySpark always does so then)")
    ap.add_argument("--only", nargs="+", help="run only these variants (names as in the table)")
    ap.add_argument("--etl-before", help="another etl binary (e.g. the last release) whose run-pipeline is measured in the same run, as \"etl run-pipeline (before)\"")
    args = ap.parse_args()
    work = Path(args.work)
    results = []
    for rows in args.rows:
        data = dataset(work, rows)
        outs = {}
        samples = {}
        for run in range(args.runs):
            chosen = variants(args.etl, data, work / "flow-out" / "X", args.spark, args.bronze)
            if args.etl_before:
                chosen["etl run-pipeline (before)"] = pipeline_cmd(args.etl_before, data, work / "flow-out" / "X")
            if args.only:
                chosen = {k: v for k, v in chosen.items() if k in args.only or k.startswith(("DuckDB", "polars-python", "etl run-pipeline"))}
            for name, cmd in chosen.items():
                out = work / "flow-out" / name.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "plus")
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                cmd = [c.replace(str(work / "flow-out" / "X"), str(out)) for c in cmd]
                samples.setdefault(name, []).append(timed(cmd))
                outs[name] = out
            if run == 0:
                pipeline_reports(args.etl, outs["etl run-pipeline"])
                if "etl run-pipeline (before)" in outs:
                    pipeline_reports(args.etl, outs["etl run-pipeline (before)"])
                for name, out in outs.items():
                    if name != "DuckDB" and not same_reports(out, outs["DuckDB"]):
                        sys.exit(f"{name}: reports differ from DuckDB's at {rows} rows")
        for name, s in samples.items():
            results.append((rows, name, statistics.median(x[0] for x in s), statistics.median(x[1] for x in s)))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nhealthcare flow, median of {args.runs} runs, {os.cpu_count()} cores, load average at the end {load}; reports checked equal to DuckDB's\n")
    print("| rows | variant | wall s | vs DuckDB | vs polars-python | peak RSS |")
    print("|---:|---|---:|---:|---:|---:|")
    for rows, name, t, rss in results:
        duck = next(x[2] for x in results if x[0] == rows and x[1] == "DuckDB")
        pol = next(x[2] for x in results if x[0] == rows and x[1] == "polars-python")
        print(f"| {rows:,} | {name} | {t:.2f} | {t / duck:.2f} | {t / pol:.2f} | {rss:,.0f} MB |")


if __name__ == "__main__":
    main()
