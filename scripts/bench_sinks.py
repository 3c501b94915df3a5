#!/usr/bin/env python3
"""Benchmark: etl's InfluxDB and DynamoDB sinks against each store's usual
loader, same server, same rows, same run.

- influx: --influx-rows water-quality readings (2 tags, 4 float fields, 1
  string field, ns timestamps) from Parquet with `etl persist influxdb://...`
  against `influx -import` (Debian's influxdb-client) of the same points as a
  line protocol file; each run into a new database, the point count checked
  with the server's /query API after every run.
- dynamodb: --dynamo-rows items from Parquet with `etl persist dynamodb://...`
  against boto3's `Table.batch_writer()` over the same rows (read with
  pyarrow, numbers as Decimal); each run into a new table, counted with a
  Scan afterwards.

The servers are the ones scripts/services.sh starts (InfluxDB 1.6 and
dynalite, both on loopback); run the script under it:

    scripts/services.sh run influxdb dynalite -- \\
        python3 scripts/bench_sinks.py --etl /work/target-release/release/etl --runs 3

Each case runs --runs times, tools interleaved; wall time and peak RSS via
/usr/bin/time -v; medians printed as a Markdown table with rows per second and
etl's rate as a multiple of the peer's. The time of the peers' own input
reading is part of their time, as etl's is of its.
"""
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import json
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import arguments, timed  # noqa: E402

SITES = ["river intake", "reservoir", "treatment,outlet"]


def escape_tag(s):
    return s.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def influx_data(work, rows):
    """readings.parquet and readings.lp with the same points, made once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = Path(work) / f"sinks-influx-{rows}"
    parquet, lp = d / "readings.parquet", d / "readings.lp"
    if parquet.exists() and lp.exists():
        return parquet, lp
    d.mkdir(parents=True, exist_ok=True)
    start = 1_780_000_000_000_000_000
    cols = {k: [] for k in ["sensor_id", "site", "ts", "ph", "turbidity", "oxygen", "temperature", "note"]}
    with open(lp, "w") as out:
        out.write("# DML\n# CONTEXT-DATABASE: bench\n")
        for i in range(rows):
            r = {
                "sensor_id": "WQ-%03d" % (i % 500),
                "site": SITES[i % 3],
                "ts": start + i * 1_000_000,
                "ph": round(6.5 + (i % 170) / 100, 2),
                "turbidity": round((i % 1200) / 100, 2),
                "oxygen": round(6 + (i % 450) / 100, 2),
                "temperature": round(12 + (i % 900) / 100, 2),
                "note": 'routine "reading", probe ok',
            }
            for k, v in r.items():
                cols[k].append(v)
            note = r["note"].replace("\\", "\\\\").replace('"', '\\"')
            out.write(
                f"readings,sensor_id={escape_tag(r['sensor_id'])},site={escape_tag(r['site'])} "
                f"ph={r['ph']!r},turbidity={r['turbidity']!r},oxygen={r['oxygen']!r},"
                f"temperature={r['temperature']!r},note=\"{note}\" {r['ts']}\n"
            )
    table = pa.table(cols)
    table = table.set_column(2, "ts", pa.array(cols["ts"], pa.timestamp("ns")))
    pq.write_table(table, parquet)
    return parquet, lp


def influx_query(hostport, db, q):
    data = urllib.parse.urlencode({"db": db, "q": q}).encode()
    with urllib.request.urlopen(f"http://{hostport}/query", data) as r:
        return json.load(r)


def influx_count(hostport, db):
    v = influx_query(hostport, db, "SELECT count(ph) FROM readings")
    series = v["results"][0].get("series")
    return series[0]["values"][0][1] if series else 0


def bench_influx(args, results):
    hostport = os.environ.get("ETL_TEST_INFLUX_HOSTPORT")
    if not hostport:
        sys.exit("no InfluxDB: run under scripts/services.sh run influxdb dynalite -- ...")
    rows = args.influx_rows
    parquet, lp = influx_data(args.work, rows)
    host, port = hostport.split(":")
    times = {"etl persist": [], "influx -import": []}
    for run in range(args.runs):
        for tool in times:
            db = f"bench_{tool.split()[0]}_{run}_{int(time.time())}"
            influx_query(hostport, "", f'CREATE DATABASE "{db}"')
            if tool == "etl persist":
                cmd = [args.etl, "persist", f"influxdb://{hostport}/{db}", "--measurement", "readings",
                       "--tags", "sensor_id,site", "--time", "ts", "-i", str(parquet), "-q"]
                src = parquet
            else:
                # influx -import reads the database from the file's header.
                src = Path(args.work) / f"import-{db}.lp"
                with open(lp) as f, open(src, "w") as out:
                    f.readline(), f.readline()
                    out.write(f"# DML\n# CONTEXT-DATABASE: {db}\n")
                    for line in f:
                        out.write(line)
                cmd = ["influx", "-host", host, "-port", port, "-import", f"-path={src}", "-precision=ns"]
            seconds, rss = timed(cmd)
            if tool != "etl persist":
                src.unlink()
            n = influx_count(hostport, db)
            if n != rows:
                sys.exit(f"{tool}: {n} points in {db}, expected {rows}")
            times[tool].append((seconds, rss))
            influx_query(hostport, "", f'DROP DATABASE "{db}"')
    results.append(("InfluxDB 1.6", rows, times, "influx -import"))


def dynamo_data(work, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = Path(work) / f"sinks-dynamo-{rows}"
    parquet = d / "items.parquet"
    if parquet.exists():
        return parquet
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "id": [f"WQ-{i:08d}" for i in range(rows)],
        "site": [SITES[i % 3] for i in range(rows)],
        "ph": [round(6.5 + (i % 170) / 100, 2) for i in range(rows)],
        "count": list(range(rows)),
        "note": ["routine reading, probe ok"] * rows,
    }), parquet)
    return parquet


BOTO_WRITER = r"""
import sys, os, decimal, boto3, pyarrow.parquet as pq
t = boto3.resource("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"]).Table(sys.argv[1])
rows = pq.read_table(sys.argv[2]).to_pylist()
with t.batch_writer() as w:
    for r in rows:
        r["ph"] = decimal.Decimal(repr(r["ph"]))
        w.put_item(Item=r)
"""


def bench_dynamo(args, results):
    import boto3

    endpoint = os.environ.get("ETL_TEST_DYNAMODB_ENDPOINT")
    if not endpoint:
        sys.exit("no dynalite: run under scripts/services.sh run influxdb dynalite -- ...")
    os.environ.update({
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
    })
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    rows = args.dynamo_rows
    parquet = dynamo_data(args.work, rows)
    times = {"etl persist": [], "boto3 batch_writer": []}
    for run in range(args.runs):
        for tool in times:
            table = f"bench-{tool.split()[0]}-{run}-{int(time.time())}"
            client.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                BillingMode="PAY_PER_REQUEST")
            client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
            if tool == "etl persist":
                cmd = [args.etl, "persist", f"dynamodb://{table}", "-i", str(parquet), "-q"]
            else:
                cmd = [sys.executable, "-c", BOTO_WRITER, table, str(parquet)]
            seconds, rss = timed(cmd)
            n, kw = 0, {}
            while True:
                r = client.scan(TableName=table, Select="COUNT", **kw)
                n += r["Count"]
                if "LastEvaluatedKey" not in r:
                    break
                kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
            if n != rows:
                sys.exit(f"{tool}: {n} items in {table}, expected {rows}")
            times[tool].append((seconds, rss))
            client.delete_table(TableName=table)
    results.append(("DynamoDB (dynalite)", rows, times, "boto3 batch_writer"))


def main():
    ap = arguments(__doc__)
    ap.add_argument("--influx-rows", type=int, default=1_000_000)
    ap.add_argument("--dynamo-rows", type=int, default=100_000)
    ap.add_argument("--only", choices=["influx", "dynamodb"])
    args = ap.parse_args()
    if not Path(args.etl).exists():
        sys.exit(f"{args.etl}: no release binary (cargo build --release, or pass --etl)")
    Path(args.work).mkdir(exist_ok=True)
    results = []
    if args.only in (None, "influx"):
        bench_influx(args, results)
    if args.only in (None, "dynamodb"):
        bench_dynamo(args, results)
    print("| target | rows | tool | median s | rows/s | peak RSS MB | etl's rate / peer's |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for target, rows, times, peer in results:
        med = {t: statistics.median(s for s, _ in v) for t, v in times.items()}
        for tool, v in times.items():
            rss = statistics.median(r for _, r in v)
            ratio = f"{med[peer] / med['etl persist']:.2f}" if tool == "etl persist" else ""
            print(f"| {target} | {rows:,} | {tool} | {med[tool]:.2f} | {rows / med[tool]:,.0f} | {rss:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
