#!/usr/bin/env python3
"""Benchmark: load the healthcare table into PostgreSQL and MariaDB with
`etl persist` and with each database's own bulk loader, in the same run.

- PostgreSQL: `etl persist postgres://... --mode full-refresh -i presc.parquet`
  (binary COPY) against `psql -1 -c "\\copy ... from 'presc.csv' csv header"`
  into a fresh table of the same types;
- MariaDB: `etl persist mysql://... --mode full-refresh -i presc.parquet`
  (LOAD DATA LOCAL INFILE fed from memory) against
  `mariadb --local-infile -e "LOAD DATA LOCAL INFILE 'presc.csv' ..."`.

The data: scripts/gen_healthcare.py's CSV, converted once to Parquet with
the etl release binary, and written back once as a clean CSV (the same rows
and values for both tools). Each case runs --runs times, tools interleaved so
machine noise hits both alike; wall time and peak RSS (of the client
process: etl or psql/mariadb) via /usr/bin/time -v; medians printed as a
Markdown table. Row counts are checked after every load.

    cargo build --release
    python3 scripts/bench_persist.py --rows 10000000 --runs 3 \\
        --postgres postgres://postgres@127.0.0.1:5432/test --mysql mysql://root@127.0.0.1:3306/test
"""
import os
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import arguments, dataset, timed  # noqa: E402


def psql(url, *args):
    out = subprocess.run(["psql", url, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", *args],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr}")
    return out.stdout.strip()


def mariadb_cmd(url, sql):
    u = urlparse(url)
    cmd = ["mariadb", "--no-defaults", f"-h{u.hostname or '127.0.0.1'}", f"-P{u.port or 3306}",
           f"-u{u.username or 'root'}", "-N", "-B", "--local-infile=1"]
    if u.password:
        cmd.append(f"-p{u.password}")
    return [*cmd, u.path.lstrip("/"), "-e", sql]


def mariadb(url, sql):
    out = subprocess.run(mariadb_cmd(url, sql), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"mariadb failed: {out.stderr}")
    return out.stdout.strip()


def main():
    ap = arguments(__doc__)
    ap.add_argument("--postgres", default=os.environ.get("ETL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--mysql", default=os.environ.get("ETL_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"))
    ap.add_argument("--targets", nargs="+", default=["postgres", "mariadb"], choices=["postgres", "mariadb"])
    args = ap.parse_args()
    etl = args.etl
    work = Path(args.work)
    work.mkdir(exist_ok=True)
    results = []
    for rows in args.rows:
        data = dataset(work, rows)
        parquet = data / "presc.parquet"
        if not parquet.exists():
            subprocess.run([etl, "ingest", str(data / "USA_Presc_Medicare_Data_2021.csv"), "-o", str(parquet), "-q"], check=True)
        clean_csv = data / "presc.clean.csv"
        if not clean_csv.exists():
            subprocess.run([etl, "ingest", str(parquet), "-o", str(clean_csv), "-q"], check=True)
        cases = {}
        checks = {}
        if "postgres" in args.targets:
            pg = args.postgres
            # The table etl creates gives the DDL psql loads into.
            subprocess.run([etl, "persist", pg, "--table", "bench_etl", "-i", str(parquet), "--mode", "full-refresh", "-q"], check=True)
            ddl = psql(pg, "-c", "select string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' order by attnum) "
                                 "from pg_attribute where attrelid = 'bench_etl'::regclass and attnum > 0 and not attisdropped")
            cases[("PostgreSQL", "etl persist (binary COPY)")] = [etl, "persist", pg, "--table", "bench_etl", "-i", str(parquet), "--mode", "full-refresh", "-q"]
            cases[("PostgreSQL", "psql \\copy (CSV)")] = [
                "psql", pg, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1",
                "-c", f"drop table if exists bench_psql; create table bench_psql ({ddl})",
                "-c", f"\\copy bench_psql from '{clean_csv}' with (format csv, header)",
            ]
            checks[("PostgreSQL", "etl persist (binary COPY)")] = lambda: psql(args.postgres, "-c", "select count(*) from bench_etl")
            checks[("PostgreSQL", "psql \\copy (CSV)")] = lambda: psql(args.postgres, "-c", "select count(*) from bench_psql")
        if "mariadb" in args.targets:
            my = args.mysql
            subprocess.run([etl, "persist", my, "--table", "bench_etl", "-i", str(parquet), "--mode", "full-refresh", "-q"], check=True)
            cases[("MariaDB", "etl persist (LOAD DATA from memory)")] = [etl, "persist", my, "--table", "bench_etl", "-i", str(parquet), "--mode", "full-refresh", "-q"]
            cases[("MariaDB", "mariadb LOAD DATA LOCAL INFILE (CSV)")] = mariadb_cmd(my, (
                "drop table if exists bench_cli; create table bench_cli like bench_etl; "
                f"load data local infile '{clean_csv}' into table bench_cli character set utf8mb4 "
                "fields terminated by ',' optionally enclosed by '\"' lines terminated by '\\n' ignore 1 lines"))
            checks[("MariaDB", "etl persist (LOAD DATA from memory)")] = lambda: mariadb(args.mysql, "select count(*) from bench_etl")
            checks[("MariaDB", "mariadb LOAD DATA LOCAL INFILE (CSV)")] = lambda: mariadb(args.mysql, "select count(*) from bench_cli")
        samples = {k: [] for k in cases}
        for run in range(args.runs):
            for key, cmd in cases.items():
                samples[key].append(timed(cmd))
                got = int(checks[key]())
                if got != rows:
                    sys.exit(f"{key}: loaded {got} rows, expected {rows}")
                print(f"run {run + 1} {key[0]} {key[1]}: {samples[key][-1][0]:.2f} s", file=sys.stderr)
        for target in ("PostgreSQL", "MariaDB"):
            keys = [k for k in cases if k[0] == target]
            if not keys:
                continue
            etl_key = next(k for k in keys if k[1].startswith("etl"))
            etl_t = statistics.median(x[0] for x in samples[etl_key])
            for k in keys:
                t = statistics.median(x[0] for x in samples[k])
                r = statistics.median(x[1] for x in samples[k])
                results.append((rows, target, k[1], t, t / etl_t, r))
        if "postgres" in args.targets:
            psql(args.postgres, "-c", "drop table if exists bench_etl; drop table if exists bench_psql")
        if "mariadb" in args.targets:
            mariadb(args.mysql, "drop table if exists bench_etl; drop table if exists bench_cli")

    print(f"\nmedian of {args.runs} runs, {os.cpu_count()} cores\n")
    print("| rows | target | loader | wall s | time / etl time | client peak RSS |")
    print("|---:|---|---|---:|---:|---:|")
    for rows, target, loader, t, ratio, rss in results:
        print(f"| {rows:,} | {target} | {loader} | {t:.2f} | {ratio:.2f} | {rss:,.0f} MB |")


if __name__ == "__main__":
    main()
