#!/usr/bin/env python3
"""Benchmark: `etl report` on the generated healthcare fact table.

Generates the healthcare CSV (scripts/gen_healthcare.py) at each size and a
Parquet copy (etl ingest), then times, alternating tools:
  etl report (Parquet)  the full page: schema, statistics, a chart per
                        column, time series, and three declared charts
  etl report (CSV)      the same from the CSV (spooled once to Arrow IPC)
  DuckDB peer           the same aggregates without a page: SUMMARIZE of
                        the Parquet file and the declared charts' group-bys
and prints a Markdown table of median wall times, peak RSS and page sizes.
The page must stay under 2 MB whatever the row count.

    pip install -r scripts/requirements-bench.txt
    cargo build --release
    python3 scripts/bench_report.py --rows 1000000 10000000 --runs 3
"""
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import ROOT, arguments, duckdb_cmd, timed  # noqa: E402

CHARTS = [
    "bar x=nppes_provider_state y=sum(total_claim_count) top=20",
    "histogram x=total_drug_cost bins=40",
    "scatter x=total_day_supply y=total_drug_cost",
]


def main():
    args = arguments(__doc__).parse_args()
    work = Path(args.work)
    print("| rows | etl report, Parquet (s) | RSS (MB) | etl report, CSV (s) | RSS (MB) | DuckDB aggregates (s) | etl/DuckDB (Parquet) | page (KB) |")
    print("|---|---|---|---|---|---|---|---|")
    for rows in args.rows:
        d = work / f"hc-{rows}"
        csv = d / "USA_Presc_Medicare_Data_2021.csv"
        if not csv.exists():
            subprocess.run([sys.executable, str(ROOT / "scripts/gen_healthcare.py"), "--rows", str(rows), "--out", str(d)], check=True)
        parquet = d / "presc.parquet"
        if not parquet.exists():
            subprocess.run([args.etl, "ingest", str(csv), "-o", str(parquet), "-q"], check=True)
        page = d / "report.html"
        charts = [a for c in CHARTS for a in ("--chart", c)]
        sql = (
            f"SUMMARIZE SELECT * FROM '{parquet}'; "
            f"SELECT nppes_provider_state, sum(total_claim_count) s FROM '{parquet}' GROUP BY 1 ORDER BY 2 DESC LIMIT 20; "
            f"SELECT floor(total_drug_cost / 1000) b, count(*) FROM '{parquet}' GROUP BY 1; "
            f"SELECT floor(total_day_supply / 100) x, floor(total_drug_cost / 1000) y, count(*) FROM '{parquet}' GROUP BY 1, 2"
        )
        runs = {"pq": [], "csv": [], "duck": []}
        for _ in range(args.runs):
            runs["pq"].append(timed([args.etl, "report", str(parquet), *charts, "-o", str(page), "-q", "--force"]))
            size = page.stat().st_size
            runs["csv"].append(timed([args.etl, "report", str(csv), *charts, "-o", str(d / "report-csv.html"), "-q", "--force"]))
            runs["duck"].append(timed(duckdb_cmd(sql)))
        med = {k: (statistics.median(t for t, _ in v), statistics.median(m for _, m in v)) for k, v in runs.items()}
        print(
            f"| {rows:,} | {med['pq'][0]:.2f} | {med['pq'][1]:.0f} | {med['csv'][0]:.2f} | {med['csv'][1]:.0f} "
            f"| {med['duck'][0]:.2f} | {med['pq'][0] / med['duck'][0]:.2f} | {size / 1024:.0f} |",
            flush=True,
        )
        if size >= 2 * 1024 * 1024:
            sys.exit(f"the page is {size} bytes: over 2 MB")


if __name__ == "__main__":
    main()
