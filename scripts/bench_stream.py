#!/usr/bin/env python3
"""Benchmark: Kafka in and out with etl against kcat (librdkafka's own
command-line client), same broker, same messages, same run.

- consume: a topic of --rows messages of about 200 bytes (a JSON reading each,
  keyed by id) into Parquet with `etl ingest kafka://... -o DIR/` (text value,
  and --value-format json), against `kcat -C -e` writing the same messages to a
  file (`%k\\t%s\\n`);
- produce: the same rows from Parquet with `etl persist kafka://... --key id`
  (idempotent producer, every message confirmed) against `kcat -P -K` from a
  file of key<TAB>value lines.

The broker: any Kafka broker both clients talk to. Debian's kcat (1.7.1,
librdkafka 2.0.2) cannot talk to tansu 0.6, the broker scripts/services.sh
starts (its ApiVersions reply fails to parse: "Read underflow"); the script
checks first and says so. With an Apache Kafka broker on 127.0.0.1:9092:

    cargo build --release
    python3 scripts/bench_stream.py --rows 1000000 --runs 3 --bootstrap 127.0.0.1:9092

Each case runs --runs times, tools interleaved; wall time and peak RSS via
/usr/bin/time -v; medians printed as a Markdown table with messages per second
and etl's rate as a multiple of kcat's. Row and line counts are checked after
every run. Peak RSS of etl is bounded by --max-bytes (one batch), not by the
topic: the table shows it for the topic size given.
"""
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import arguments, timed  # noqa: E402


def make_data(work, rows):
    """rows.parquet and rows.tsv (key<TAB>JSON) with the same rows, made once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = Path(work) / f"stream-{rows}"
    parquet, tsv = d / "rows.parquet", d / "rows.tsv"
    if parquet.exists() and tsv.exists():
        return parquet, tsv
    d.mkdir(parents=True, exist_ok=True)
    cols = {k: [] for k in ["id", "sensor_id", "site", "reading_time", "ph", "turbidity_ntu",
                            "dissolved_oxygen_mg_l", "temperature_c", "note"]}
    with open(tsv, "w") as out:
        for i in range(rows):
            r = {
                "id": i,
                "sensor_id": "WQ-%03d" % (i % 500),
                "site": ["river-intake", "reservoir", "treatment-outlet"][i % 3],
                "reading_time": "2026-06-01T%02d:%02d:%02d" % (i // 3600 % 24, i // 60 % 60, i % 60),
                "ph": round(6.5 + (i % 170) / 100, 2),
                "turbidity_ntu": round((i % 1200) / 100, 2),
                "dissolved_oxygen_mg_l": round(6 + (i % 450) / 100, 2),
                "temperature_c": round(12 + (i % 900) / 100, 2),
                "note": "routine reading, probe ok, calibrated weekly",
            }
            for k, v in r.items():
                cols[k].append(v)
            out.write(f"{i}\t{json.dumps(r, separators=(',', ':'))}\n")
    pq.write_table(pa.table(cols), parquet)
    return parquet, tsv


def kcat_produce(bootstrap, topic, tsv):
    return ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-l", str(tsv)]


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def parquet_rows(folder):
    import pyarrow.dataset as ds

    return ds.dataset(folder, format="parquet").count_rows()


def main():
    ap = arguments(__doc__)
    ap.set_defaults(rows=[1_000_000])
    ap.add_argument("--bootstrap", default=os.environ.get("ETL_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    ap.add_argument("--max-bytes", default="64M", help="etl's batch bound (--max-bytes)")
    args = ap.parse_args()
    etl, bs = args.etl, args.bootstrap
    if not Path(etl).exists():
        sys.exit(f"{etl}: build it first (cargo build --release)")
    probe = subprocess.run(["kcat", "-L", "-b", bs, "-m", "5"], capture_output=True, text=True)
    if probe.returncode != 0:
        sys.exit(f"kcat cannot talk to {bs}: {probe.stderr.strip().splitlines()[-1:]}\n"
                 "(Debian's kcat 1.7.1 bundles librdkafka 2.0.2, whose ApiVersions request tansu 0.6 "
                 "answers in a form it cannot read: point --bootstrap at an Apache Kafka broker)")
    results = []
    for rows in args.rows:
        parquet, tsv = make_data(args.work, rows)
        work = Path(args.work) / f"stream-{rows}"
        # One topic to consume from, filled once by kcat.
        source = f"bench-source-{os.getpid()}-{rows}"
        subprocess.run(kcat_produce(bs, source, tsv), check=True)
        times = {k: [] for k in ["etl consume (text)", "etl consume (json)", "kcat consume",
                                 "etl produce", "kcat produce"]}
        rss = {k: [] for k in times}
        for run in range(args.runs):
            for name, fmt in [("etl consume (text)", "text"), ("etl consume (json)", "json")]:
                out = work / f"out-{fmt}-{run}"
                subprocess.run(["rm", "-rf", str(out)], check=True)
                s, m = timed([etl, "-q", "ingest", f"kafka://{bs}/{source}", "--group", f"bench-{fmt}-{run}-{os.getpid()}",
                              "--value-format", fmt, "--max-bytes", args.max_bytes, "-o", f"{out}/"])
                assert parquet_rows(out) == rows, f"{name}: {parquet_rows(out)} rows, expected {rows}"
                times[name].append(s)
                rss[name].append(m)
            dump = work / f"kcat-{run}.tsv"
            s, m = timed(["sh", "-c", f"kcat -C -b {bs} -t {source} -e -o beginning -q -f '%k\\t%s\\n' > {dump}"])
            assert count_lines(dump) == rows, f"kcat consume: {count_lines(dump)} lines"
            times["kcat consume"].append(s)
            rss["kcat consume"].append(m)
            topic = f"bench-etl-{os.getpid()}-{rows}-{run}"
            s, m = timed([etl, "-q", "persist", f"kafka://{bs}/{topic}", "--key", "id", "-i", str(parquet)])
            times["etl produce"].append(s)
            rss["etl produce"].append(m)
            topic = f"bench-kcat-{os.getpid()}-{rows}-{run}"
            s, m = timed(kcat_produce(bs, topic, tsv))
            times["kcat produce"].append(s)
            rss["kcat produce"].append(m)
        med = {k: statistics.median(v) for k, v in times.items()}
        for k in times:
            peer = "kcat consume" if "consume" in k else "kcat produce"
            results.append((rows, k, med[k], rows / med[k], med[peer] / med[k], statistics.median(rss[k])))
    print(f"\n{args.runs} runs, medians; broker {bs}\n")
    print("| messages | tool | seconds | messages/s | rate vs kcat | peak RSS MB |")
    print("|---:|---|---:|---:|---:|---:|")
    for rows, k, s, rate, ratio, mb in results:
        print(f"| {rows:,} | {k} | {s:.2f} | {rate:,.0f} | {ratio:.2f}x | {mb:.0f} |")


if __name__ == "__main__":
    main()
