#!/usr/bin/env python3
"""Benchmark: etl's overhead on Spark. The healthcare pipeline
(`etl run-pipeline pipelines/healthcare.toml --engine spark`) against the
same stages written by hand in PySpark (`scripts/flow_pyspark.py --remote`),
both on the SAME Spark Connect server, on the same generated data.

Both write the bronze, silver and gold datasets with Spark, pull the gold
tables back as Arrow into the warehouse folder and SQLite, write the JSON/bz2
and ORC extracts and three delivery copies. etl also reads every dataset's
row count (from its Parquet footers, for the manifest), infers the CSV's
types from its first rows here (the script gives them), looks up each op's
input schema, swaps each dataset into place, checksums its outputs and
writes its manifest: that is the overhead measured.

First one run of each (a warm-up for the server's JIT, not timed) whose gold
tables (city_report, top_prescribers, df_city_final, df_presc_final) are
checked equal, sorted, with the same column types; then --runs timed runs,
interleaved; medians of wall time. The overhead is (etl - PySpark) / PySpark.

    scripts/services.sh install spark
    pip install -r scripts/requirements-bench.txt
    ETL_SERVICES_SPARK_MEMORY=4g scripts/services.sh run spark -- \\
        python3 scripts/bench_spark.py --rows 10000000 --runs 3   # --remote defaults to $ETL_TEST_SPARK_REMOTE
"""
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import arguments, dataset  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RUN_DATE = "2026-01-01"
GOLD = ("city_report", "top_prescribers", "df_city_final", "df_presc_final")


def commands(etl, remote, data, out):
    env = os.environ | {
        "ETL_HOME": str(out / "etl"),
        "ETL_PRESC_INPUT": str(data / "USA_Presc_Medicare_Data_2021.csv"),
        "ETL_CITY_INPUT": str(data / "us_cities_dimension.parquet"),
    }
    return {
        "etl run-pipeline --engine spark": (
            [etl, "run-pipeline", "pipelines/healthcare.toml", "-q", "--var", f"run_date={RUN_DATE}",
             "--engine", "spark", "--remote", remote], env, out / "etl"),
        "PySpark (Spark Connect)": (
            [sys.executable, str(ROOT / "scripts/flow_pyspark.py"), "--remote", remote,
             "--run-date", RUN_DATE, str(data), str(out / "pyspark")], os.environ, out / "pyspark"),
    }


def run(cmd, env, out):
    shutil.rmtree(out, ignore_errors=True)
    start = time.monotonic()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return took


def gold(out, name):
    """A gold dataset: etl-on-Spark and PySpark both write folders of part files."""
    return str(out / "gold" / f"{name}.parquet" / "*.parquet")


def same_gold(a, b):
    import duckdb
    problems = []
    for name in GOLD:
        ta = duckdb.sql(f"describe select * from read_parquet('{gold(a, name)}')").fetchall()
        tb = duckdb.sql(f"describe select * from read_parquet('{gold(b, name)}')").fetchall()
        if [(c[0], c[1]) for c in ta] != [(c[0], c[1]) for c in tb]:
            problems.append(f"{name}: columns differ: {ta} vs {tb}")
            continue
        n = duckdb.sql(f"select count(*) from read_parquet('{gold(a, name)}')").fetchall()[0][0]
        for x, y in ((a, b), (b, a)):
            q = f"select * from read_parquet('{gold(x, name)}') except all select * from read_parquet('{gold(y, name)}')"
            extra = duckdb.sql(q).fetchall()
            if extra:
                problems.append(f"{name}: {len(extra)} rows only in {x}, e.g. {extra[:2]}")
        if n == 0:
            problems.append(f"{name}: no rows")
    return problems


def main():
    ap = arguments(__doc__)
    ap.set_defaults(rows=[100_000])
    ap.add_argument("--remote", default=os.environ.get("ETL_TEST_SPARK_REMOTE"),
                    help="the Spark Connect server (default: $ETL_TEST_SPARK_REMOTE from scripts/services.sh)")
    args = ap.parse_args()
    if not args.remote:
        sys.exit("no Spark Connect server: give --remote sc://HOST:PORT or run under scripts/services.sh run spark")
    work = Path(args.work)
    results = []
    for rows in args.rows:
        data = dataset(work, rows).resolve()
        out = (work / "spark-out").resolve()
        cmds = commands(args.etl, args.remote, data, out)
        for name, (cmd, env, dest) in cmds.items():
            print(f"{rows:,} rows: warm-up and check: {name}: {run(cmd, env, dest):.2f} s", file=sys.stderr)
        problems = same_gold(cmds["etl run-pipeline --engine spark"][2], cmds["PySpark (Spark Connect)"][2])
        if problems:
            sys.exit(f"gold tables differ at {rows:,} rows:\n" + "\n".join(problems))
        samples = {name: [] for name in cmds}
        for i in range(args.runs):
            for name, (cmd, env, dest) in cmds.items():
                samples[name].append(run(cmd, env, dest))
                print(f"{rows:,} rows: run {i + 1}: {name}: {samples[name][-1]:.2f} s", file=sys.stderr)
        etl, peer = (statistics.median(s) for s in samples.values())
        results.append((rows, etl, peer))
    print(f"\nhealthcare pipeline on one Spark Connect server ({args.remote.split('/;')[0]}), "
          f"median of {args.runs} runs, {os.cpu_count()} cores; gold tables checked equal\n")
    print("| rows | etl --engine spark s | PySpark s | etl overhead s | overhead % of PySpark's wall time |")
    print("|---:|---:|---:|---:|---:|")
    for rows, etl, peer in results:
        print(f"| {rows:,} | {etl:.2f} | {peer:.2f} | {etl - peer:+.2f} | {100 * (etl - peer) / peer:+.1f}% |")


if __name__ == "__main__":
    main()
