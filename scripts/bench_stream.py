#!/usr/bin/env python3
"""Benchmark: Kafka in and out with etl against a librdkafka client, same
broker, same messages, same run.

- consume: a topic of --rows messages of about 200 bytes (a JSON reading each,
  keyed by id) into Parquet with `etl ingest kafka://... -o DIR/` (text value,
  and --value-format json), against the peer writing the same messages to a
  file (`key<TAB>value` lines) until the end of every partition;
- produce: the same rows from Parquet with `etl persist kafka://... --key id`
  (idempotent producer, acks=all, every message confirmed) against the peer
  producing the same key<TAB>value lines with the same settings.

The peer: `kcat` (`kcat -C -e`, `kcat -P -K`) when it can talk to the broker,
else confluent-kafka-python (`--peer confluent`; the same librdkafka, 2.16,
driven from Python). Debian's kcat 1.7.1 bundles librdkafka 2.0.2, which cannot
talk to tansu 0.6 (the broker scripts/services.sh starts): its ApiVersions
reply fails to parse ("Read underflow"), `-X api.version.request=false` changes
nothing, and `-X broker.version.fallback=0.9.0` gets metadata but neither
produces (disconnected) nor consumes (ListOffsets v0 underflow). The confluent
peer pays Python's per-message cost, so it is a lower bar than kcat: say which
peer a table was measured against.

    scripts/services.sh start kafka && . "$(scripts/services.sh env)"
    python3 scripts/bench_stream.py --rows 1000000 --runs 3 --etl /path/to/release/etl

Each case runs --runs times, tools interleaved; wall time and peak RSS via
/usr/bin/time -v; medians printed as a Markdown table with messages per second
and etl's rate as a multiple of the peer's. Row and line counts are checked
after every run. Peak RSS of etl is bounded by --max-bytes (one batch), not by
the topic: the table shows it for the topic size given.
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


# The confluent-kafka peer: the same librdkafka settings as etl's.
CONFLUENT_CONSUME = r"""
import sys
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
bs, topic, out = sys.argv[1:4]
c = Consumer({"bootstrap.servers": bs, "group.id": "bench-peer", "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "enable.partition.eof": True})
parts = c.list_topics(topic, timeout=10).topics[topic].partitions
# Assigned, not subscribed (as kcat -C): no group join.
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
done = set()
with open(out, "wb") as f:
    while len(done) < len(parts):
        for m in c.consume(10000, timeout=1.0):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    done.add(m.partition())
                    continue
                raise SystemExit(str(m.error()))
            f.write((m.key() or b"") + b"\t" + m.value() + b"\n")
c.close()
"""

CONFLUENT_PRODUCE = r"""
import sys
from confluent_kafka import Producer
bs, topic, tsv = sys.argv[1:4]
failed = []
p = Producer({"bootstrap.servers": bs, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
def report(err, msg):
    if err is not None:
        failed.append(err)
with open(tsv, "rb") as f:
    for line in f:
        k, v = line.rstrip(b"\n").split(b"\t", 1)
        while True:
            try:
                p.produce(topic, v, k, on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
left = p.flush(60)
if left or failed:
    raise SystemExit(f"{left} unconfirmed, {len(failed)} failed")
"""


def peer_produce(peer, bootstrap, topic, tsv):
    if peer == "kcat":
        return ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-l", str(tsv)]
    return [sys.executable, "-c", CONFLUENT_PRODUCE, bootstrap, topic, str(tsv)]


def peer_consume(peer, bootstrap, topic, dump):
    if peer == "kcat":
        return ["sh", "-c", f"kcat -C -b {bootstrap} -t {topic} -e -o beginning -q -f '%k\\t%s\\n' > {dump}"]
    return [sys.executable, "-c", CONFLUENT_CONSUME, bootstrap, topic, str(dump)]


def choose_peer(wanted, bootstrap):
    """kcat when it talks to the broker, else confluent-kafka (or what --peer says)."""
    if wanted in ("auto", "kcat"):
        try:
            probe = subprocess.run(["kcat", "-L", "-b", bootstrap, "-m", "5"], capture_output=True, text=True)
            if probe.returncode == 0:
                return "kcat"
            reason = (probe.stderr.strip().splitlines() or ["?"])[-1]
        except FileNotFoundError:
            reason = "kcat is not installed"
        if wanted == "kcat":
            sys.exit(f"kcat cannot talk to {bootstrap}: {reason}")
        print(f"kcat cannot talk to {bootstrap} ({reason}); peer: confluent-kafka", file=sys.stderr)
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        sys.exit("the confluent peer needs confluent-kafka (pip install -r scripts/requirements-bench.txt)")
    return "confluent"


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
    ap.add_argument("--peer", choices=["auto", "kcat", "confluent"], default="auto",
                    help="the librdkafka client to compare with (auto: kcat if it talks to the broker)")
    args = ap.parse_args()
    etl, bs = args.etl, args.bootstrap
    if not Path(etl).exists():
        sys.exit(f"{etl}: build it first (cargo build --release)")
    peer = choose_peer(args.peer, bs)
    results = []
    for rows in args.rows:
        parquet, tsv = make_data(args.work, rows)
        work = Path(args.work) / f"stream-{rows}"
        # One topic to consume from, filled once by the peer.
        source = f"bench-source-{os.getpid()}-{rows}"
        subprocess.run(peer_produce(peer, bs, source, tsv), check=True)
        times = {k: [] for k in ["etl consume (text)", "etl consume (json)", f"{peer} consume",
                                 "etl produce", f"{peer} produce"]}
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
            dump = work / f"{peer}-{run}.tsv"
            s, m = timed(peer_consume(peer, bs, source, dump))
            assert count_lines(dump) == rows, f"{peer} consume: {count_lines(dump)} lines"
            times[f"{peer} consume"].append(s)
            rss[f"{peer} consume"].append(m)
            topic = f"bench-etl-{os.getpid()}-{rows}-{run}"
            s, m = timed([etl, "-q", "persist", f"kafka://{bs}/{topic}", "--key", "id", "-i", str(parquet)])
            times["etl produce"].append(s)
            rss["etl produce"].append(m)
            topic = f"bench-{peer}-{os.getpid()}-{rows}-{run}"
            s, m = timed(peer_produce(peer, bs, topic, tsv))
            times[f"{peer} produce"].append(s)
            rss[f"{peer} produce"].append(m)
        med = {k: statistics.median(v) for k, v in times.items()}
        for k in times:
            other = f"{peer} consume" if "consume" in k else f"{peer} produce"
            results.append((rows, k, med[k], rows / med[k], med[other] / med[k], statistics.median(rss[k])))
    print(f"\n{args.runs} runs, medians; broker {bs}; peer {peer}\n")
    print(f"| messages | tool | seconds | messages/s | rate vs {peer} | peak RSS MB |")
    print("|---:|---|---:|---:|---:|---:|")
    for rows, k, s, rate, ratio, mb in results:
        print(f"| {rows:,} | {k} | {s:.2f} | {rate:,.0f} | {ratio:.2f}x | {mb:.0f} |")


if __name__ == "__main__":
    main()
