"""Independent readers for tests/cli/interop.rs (pyarrow, pyorc, fastavro,
DuckDB, openpyxl): writes the source tables and third-party files, reads what
etl wrote, and compares cell by cell. Each command exits non-zero with the
first difference it finds.

    interop.py source DIR                  flat.parquet and nested.parquet
    interop.py check FORMAT FILE SOURCE    every independent reader of FORMAT
    interop.py same SOURCE VIA BACK FORMAT etl's read-back equals etl's source
    interop.py pyarrow-orc DIR             ORC files written by the C++ writer
    interop.py fastavro DIR                Avro files written by fastavro
    interop.py expect FILE BACK            BACK (Parquet) holds FILE.expected.json
"""

import datetime as dt
import decimal
import json
import struct
import sys
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

UTC = dt.timezone.utc
D = decimal.Decimal


def flat_table():
    ts = [dt.datetime(1960, 5, 17, 6, 7, 8, 9), dt.datetime(1970, 1, 1),
          dt.datetime(2024, 3, 1, 12, 34, 56, 123456), None,
          # Not 23:59:59.xxx: ORC cannot hold the last second before 1970 (ORC-763).
          dt.datetime(1969, 12, 31, 23, 59, 58, 999999)]
    return pa.table({
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "i8": pa.array([-128, 0, 127, None, 5], pa.int8()),
        "i16": pa.array([-32768, 1, 32767, None, -2], pa.int16()),
        "i32": pa.array([-2**31, 0, 2**31 - 1, None, 7], pa.int32()),
        "i64": pa.array([-2**63, 0, 2**63 - 1, None, -9], pa.int64()),
        "f32": pa.array([1.5, -0.25, None, 3.0e10, 0.0], pa.float32()),
        "f64": pa.array([3.141592653589793, -1e-300, None, 1e300, 0.1], pa.float64()),
        "flag": pa.array([True, False, None, True, False]),
        "text": pa.array(["plain", 'quote "q", comma', "multi\nline", None,
                          "ünïcødé ✓ 日本"]),
        "day": pa.array([dt.date(1969, 12, 31), dt.date(1970, 1, 1), dt.date(1901, 1, 1),
                         None, dt.date(2024, 2, 29)], pa.date32()),
        "ts": pa.array(ts, pa.timestamp("us")),
        "ts_utc": pa.array([t and t.replace(tzinfo=UTC) for t in ts], pa.timestamp("us", "UTC")),
        "dec": pa.array([D("-1234567890.12"), D("0.00"), D("9999999999.99"), None, D("0.01")],
                        pa.decimal128(12, 2)),
        "cat": pa.array(["red", "green", None, "red", "blue"]).dictionary_encode(),
    })


def nested_table():
    point = pa.struct([("x", pa.float64()), ("y", pa.float64()), ("label", pa.string())])
    kv = pa.struct([("k", pa.string()), ("v", pa.list_(pa.int32()))])
    return pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "tags": pa.array([["a", "b"], [], None, ["c", None]], pa.list_(pa.string())),
        "nums": pa.array([[1, 2, 3], None, [], [-1]], pa.list_(pa.int64())),
        "point": pa.array([{"x": 1.0, "y": 2.0, "label": "p"}, None,
                           {"x": -1.5, "y": None, "label": None},
                           {"x": 0.0, "y": 0.0, "label": "o"}], point),
        "props": pa.array([[("a", 1), ("b", 2)], [], None, [("z", -3)]],
                          pa.map_(pa.string(), pa.int64())),
        "deep": pa.array([[{"k": "x", "v": [1, None]}], None, [], [{"k": None, "v": None}]],
                         pa.list_(kv)),
        "when": pa.array([[dt.date(1969, 7, 20)], [], None, [None]], pa.list_(pa.date32())),
    })


# --- normalisation: every reader's values to one comparable form -------------

def norm(v):
    """A reader's value as plain, comparable Python."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, D):
        return v.normalize() if v != 0 else D(0)
    if isinstance(v, dt.datetime):
        # pyarrow gives nanosecond timestamps as pandas.Timestamp when pandas
        # is installed: compare them as datetimes unless a nanosecond is set.
        if getattr(v, "nanosecond", 0) == 0 and hasattr(v, "to_pydatetime"):
            v = v.to_pydatetime()
        if v.tzinfo is not None:
            return ("instant", v.astimezone(UTC).replace(tzinfo=None))
        return ("local", v)
    if isinstance(v, (dt.date, str, bytes, uuid.UUID)):
        return v
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    raise TypeError(f"cannot compare {type(v)}: {v!r}")


# Map columns: readers give a dict, a list of (key, value) pairs, or a list of
# {key, value} records (polars, and every format without a map type).
MAPS = {"props", "m"}


def entries(v):
    if v is None:
        return None
    if isinstance(v, dict):
        v = list(v.items())
    out = []
    for e in v:
        if isinstance(e, dict):
            e = (e["key"], e["value"])
        out.append(("entry", norm(e[0]), norm(e[1])))
    return sorted(out, key=repr)


def typed(v, kind):
    """Text and spreadsheet values as the type the source column has."""
    if v is None:
        return None
    if kind == "map":
        return entries(v)
    if kind == "dec":
        return D(str(v)).quantize(D("0.01")).normalize() if D(str(v)) != 0 else D(0)
    if kind == "float":
        return float(v)
    if kind == "f32":
        # Text holds the shortest decimal that is the same 32-bit float.
        return struct.unpack("f", struct.pack("f", float(v)))[0]
    if kind == "int":
        return int(v)
    if kind == "bool":
        return v if isinstance(v, bool) else str(v).lower() == "true"
    if kind == "date":
        if isinstance(v, dt.datetime):
            return v.date()
        return v if isinstance(v, dt.date) else dt.date.fromisoformat(v)
    if kind in ("ts", "ts_utc"):
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v.replace(" ", "T").replace("Z", "+00:00"))
        if kind == "ts_utc" and v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        return norm(v)
    return norm(v)


def kinds(table):
    out = {}
    for f in table.schema:
        t = f.type
        if pa.types.is_decimal(t):
            out[f.name] = "dec"
        elif pa.types.is_float32(t):
            out[f.name] = "f32"
        elif pa.types.is_floating(t):
            out[f.name] = "float"
        elif pa.types.is_integer(t):
            out[f.name] = "int"
        elif pa.types.is_boolean(t):
            out[f.name] = "bool"
        elif pa.types.is_date(t):
            out[f.name] = "date"
        elif pa.types.is_timestamp(t):
            out[f.name] = "ts_utc" if t.tz else "ts"
        elif f.name in MAPS:
            out[f.name] = "map"
        else:
            out[f.name] = "other"
    return out


def source_rows(source):
    table = pq.read_table(source)
    kind_of = kinds(table)
    rows = table.to_pylist()
    return table, [{k: typed(v, kind_of[k]) for k, v in r.items()} for r in rows]


def lossy(fmt, v):
    """What a format can hold of a value: Excel numbers are doubles and its
    times milliseconds; JSON and CSV have no date type inside lists or records."""
    if fmt == "xlsx":
        if isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], dt.datetime):
            return (v[0], v[1].replace(microsecond=v[1].microsecond // 1000 * 1000))
    if fmt in ("json", "ndjson", "csv"):
        if isinstance(v, list):
            return [lossy(fmt, x) for x in v]
        if isinstance(v, dict):
            return {k: lossy(fmt, x) for k, x in v.items()}
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], dt.datetime):
            return v[1].date().isoformat() if v[1].time() == dt.time() else v
        if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
            return v.isoformat()
    return v


def compare(who, got_rows, want_rows, kind_of, columns, fmt=""):
    if len(got_rows) != len(want_rows):
        sys.exit(f"{who}: {len(got_rows)} rows, expected {len(want_rows)}")
    for i, (got, want) in enumerate(zip(got_rows, want_rows)):
        for c in columns:
            if c not in got:
                sys.exit(f"{who}: no column {c!r} (has {sorted(got)})")
            g = typed(got[c], kind_of[c])
            w = want[c]
            if kind_of[c] == "other" or fmt == "xlsx":
                g, w = lossy(fmt, g), lossy(fmt, w)
            if g != w:
                sys.exit(f"{who}: row {i} column {c!r}: got {g!r}, expected {w!r}")


# --- readers ----------------------------------------------------------------

def duckdb_rows(sql):
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def readers(fmt, path):
    """(reader name, rows as dicts) for every independent reader of fmt."""
    p = str(path).replace("'", "''")
    if fmt == "parquet":
        yield "pyarrow", pq.read_table(path).to_pylist()
        yield "duckdb", duckdb_rows(f"select * from read_parquet('{p}')")
    elif fmt == "orc":
        import pyarrow.orc as orc
        import pyorc
        yield "pyarrow", orc.read_table(path).to_pylist()
        with open(path, "rb") as f:
            r = pyorc.Reader(f, struct_repr=pyorc.StructRepr.DICT,
                             converters={pyorc.TypeKind.TIMESTAMP: NaiveTimestamp})
            yield "pyorc", [dict(row) for row in r]
    elif fmt == "avro":
        import fastavro
        with open(path, "rb") as f:
            yield "fastavro", list(fastavro.reader(f))
    elif fmt == "arrow":
        import pyarrow.ipc as ipc
        yield "pyarrow", ipc.open_file(path).read_all().to_pylist()
    elif fmt == "csv":
        import pyarrow.csv as pcsv
        yield "pyarrow", pcsv.read_csv(
            path, convert_options=pcsv.ConvertOptions(strings_can_be_null=True)).to_pylist()
        yield "duckdb", duckdb_rows(f"select * from read_csv('{p}')")
    elif fmt in ("json", "ndjson"):
        if fmt == "ndjson":
            import pyarrow.json as pjson
            yield "pyarrow", pjson.read_json(path).to_pylist()
        yield "duckdb", duckdb_rows(f"select * from read_json('{p}')")
        with open(path, encoding="utf-8") as f:
            rows = json.load(f) if fmt == "json" else [json.loads(l) for l in f if l.strip()]
        yield "json", rows
    elif fmt == "xlsx":
        import openpyxl
        ws = openpyxl.load_workbook(path).active
        values = list(ws.iter_rows(values_only=True))
        yield "openpyxl", [dict(zip(values[0], r)) for r in values[1:]]
    else:
        sys.exit(f"unknown format {fmt}")


class NaiveTimestamp:
    """pyorc converter: ORC timestamps as naive (or UTC) datetimes, exactly."""

    @staticmethod
    def from_orc(seconds, nanoseconds, timezone):
        value = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds,
                                                        microseconds=nanoseconds // 1000)
        return value

    @staticmethod
    def to_orc(obj, timezone):
        raise NotImplementedError


def check(fmt, path, source):
    table, want = source_rows(source)
    kind_of = kinds(table)
    columns = table.column_names
    for who, rows in readers(fmt, path):
        if who == "pyorc":
            # pyorc gives `timestamp with local time zone` as a naive UTC value.
            rows = [{k: (v.replace(tzinfo=UTC) if kind_of.get(k) == "ts_utc" and v else v)
                     for k, v in r.items()} for r in rows]
        compare(f"{fmt} via {who}", rows, want, kind_of, columns, fmt)
        print(f"{fmt} via {who}: {len(rows)} rows equal")


def same(source, source_by_etl, back, fmt):
    """etl's reading of what it wrote equals its reading of the source: the
    same types (for typed formats) and the same values."""
    src, via, back_t = pq.read_table(source), pq.read_table(source_by_etl), pq.read_table(back)
    if fmt in ("parquet", "arrow", "orc", "avro"):
        for f in via.schema:
            g = back_t.schema.field(f.name).type
            if g != f.type and not allowed_type_change(fmt, f.type, g):
                sys.exit(f"{fmt}: column {f.name!r} came back as {g}, expected {f.type}")
    kind_of = kinds(src)
    want = [{k: typed(v, kind_of[k]) for k, v in r.items()} for r in src.to_pylist()]
    compare(f"{fmt} read back by etl", back_t.to_pylist(), want, kind_of, src.column_names, fmt)
    print(f"{fmt}: etl reads back what it wrote")


def canon(t):
    """polars writes its strings as views or large strings depending on the path."""
    return str(t).replace("string_view", "large_string").replace("binary_view", "large_binary")


def allowed_type_change(fmt, want, got):
    if canon(want) == canon(got):
        return True
    # ORC has no dictionary type: categoricals come back as text. An Avro enum
    # comes back as an enum (a dictionary of its symbols).
    if pa.types.is_dictionary(want) and (pa.types.is_string(got) or pa.types.is_large_string(got)
                                          or pa.types.is_string_view(got)
                                          or pa.types.is_dictionary(got)):
        return True
    return False


# --- files written by other tools ------------------------------------------

def write_expected(path, table):
    rows = [{k: repr(norm(v)) for k, v in r.items()} for r in table.to_pylist()]
    with open(f"{path}.expected.json", "w") as f:
        json.dump(rows, f)


def pyarrow_orc(out):
    import pyarrow.orc as orc
    n = 30_000
    base = dt.datetime(1969, 12, 31, 23, 59, 58)
    ts = [None if i % 97 == 0 else base + dt.timedelta(microseconds=i * 333_337 - 5_000_000_000)
          for i in range(n)]
    table = pa.table({
        "i": pa.array(range(n), pa.int64()),
        "ts": pa.array(ts, pa.timestamp("us")),
        "ts_utc": pa.array([t and t.replace(tzinfo=UTC) for t in ts], pa.timestamp("us", "UTC")),
        "ts_ns": pa.array([None if t is None else
                           int((t - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1)) * 1000
                           for t in ts], pa.timestamp("ns")),
        "dec": pa.array([D(i - 15_000) / 100 for i in range(n)], pa.decimal128(10, 2)),
        "s": pa.array([f"row {i}" for i in range(n)]),
    })
    for codec in ["uncompressed", "snappy", "zlib", "zstd", "lz4"]:
        path = f"{out}/pyarrow.{codec}.orc"
        # Small stripes: the file holds several.
        orc.write_table(table, path, compression=codec, stripe_size=64 * 1024)
        assert orc.ORCFile(path).nstripes > 1, "expected several stripes"
        write_expected(path, table)


def fastavro_files(out):
    import fastavro
    schema = {
        "type": "record", "name": "Every", "namespace": "etl.test",
        "fields": [
            {"name": "n", "type": "null"},
            {"name": "b", "type": "boolean"},
            {"name": "i", "type": "int"},
            {"name": "l", "type": "long"},
            {"name": "f", "type": "float"},
            {"name": "d", "type": "double"},
            {"name": "by", "type": "bytes"},
            {"name": "s", "type": "string"},
            {"name": "suit", "type": {"type": "enum", "name": "Suit",
                                      "symbols": ["SPADES", "HEARTS", "DIAMONDS", "CLUBS"]}},
            {"name": "fx", "type": {"type": "fixed", "name": "Md5", "size": 4}},
            {"name": "arr", "type": {"type": "array", "items": ["null", "long"]}},
            {"name": "m", "type": {"type": "map", "values": "double"}},
            {"name": "rec", "type": {"type": "record", "name": "Inner", "fields": [
                {"name": "x", "type": "int"},
                {"name": "tags", "type": {"type": "array", "items": "string"}},
                {"name": "deeper", "type": ["null", {"type": "record", "name": "Deeper",
                                                     "fields": [{"name": "y", "type": "string"}]}]},
            ]}},
            {"name": "opt", "type": ["null", "string"]},
            {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal",
                                     "precision": 12, "scale": 3}},
            {"name": "decf", "type": {"type": "fixed", "name": "Dec8", "size": 8,
                                      "logicalType": "decimal", "precision": 18, "scale": 2}},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "tms", "type": {"type": "int", "logicalType": "time-millis"}},
            {"name": "tus", "type": {"type": "long", "logicalType": "time-micros"}},
            {"name": "tsm", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "ltsm", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
            {"name": "ltsu", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
            {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "either", "type": ["null", "int", "string"]},
        ],
    }
    rows = []
    for k in range(5):
        neg = -1 if k % 2 else 1
        rows.append({
            "n": None, "b": k % 2 == 0, "i": [2**31 - 1, -2**31, 0, -1, 12345][k],
            "l": neg * (2**62 + k), "f": 1.5 * k, "d": -0.1 * k,
            "by": bytes([k, 255 - k]), "s": f"ünï {k}\nline",
            "suit": ["SPADES", "HEARTS", "DIAMONDS", "CLUBS"][k % 4],
            "fx": bytes([k, k, k, k]),
            "arr": [k, None, -k],
            "m": {"a": float(k), "b": -1.0},
            "rec": {"x": k, "tags": ["t"] * k, "deeper": None if k % 2 else {"y": f"y{k}"}},
            "opt": None if k % 2 else f"o{k}",
            "dec": D(f"{neg * (123456789 + k)}.{k:03d}"),
            "decf": D(f"{neg * 10**15 + k}.25"),
            "day": dt.date(1969, 7, 20) + dt.timedelta(days=k * 4000),
            "tms": dt.time(k, 59, 58, 123000), "tus": dt.time(23, k, 1, 999999),
            "tsm": dt.datetime(1950 + k * 20, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            "tsu": dt.datetime(1960 + k * 15, 6, 7, 8, 9, 10, 111111, tzinfo=UTC),
            "ltsm": dt.datetime(1901 + k * 30, 12, 31, 23, 59, 59, 1000),
            "ltsu": dt.datetime(1969, 12, 31, 23, 59, 59, 999999 - k),
            "id": uuid.UUID(int=k * 0x1234_5678_9ABC_DEF0_1234_5678 + 1),
            "either": [None, 7, "seven", -1, "x"][k],
        })
    parsed = fastavro.parse_schema(schema)
    for codec in ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"]:
        path = f"{out}/fastavro.{codec}.avro"
        with open(path, "wb") as f:
            fastavro.writer(f, parsed, rows, codec=codec)
        with open(f"{path}.expected.json", "w") as f:
            json.dump([{k: repr(avro_expected(k, v)) for k, v in r.items()} for r in rows], f)


def avro_expected(name, v):
    """What etl is meant to read for one fastavro value (see src/format/avro/read.rs)."""
    if name == "id":
        return str(v)
    if name in ("tms", "tus"):
        return ("time", v.isoformat())
    if name == "either":
        return None if v is None else str(v)
    if name == "m":
        return entries(v)
    return norm(v)


def expect(file, back):
    with open(f"{file}.expected.json") as f:
        want = json.load(f)
    got = pq.read_table(back).to_pylist()
    if len(got) != len(want):
        sys.exit(f"{file}: {len(got)} rows, expected {len(want)}")
    for i, (g, w) in enumerate(zip(got, want)):
        for k, wv in w.items():
            gv = g[k]
            if isinstance(gv, dt.time):
                gv = ("time", gv.isoformat())
            elif k in MAPS:
                gv = entries(gv)
            elif k in ("tsm", "tsu", "ts_utc") and gv is not None and gv.tzinfo is None:
                sys.exit(f"{file}: column {k!r} lost its time zone")
            else:
                gv = norm(gv)
            if repr(gv) != wv:
                sys.exit(f"{file}: row {i} column {k!r}: got {gv!r}, expected {wv}")
    print(f"{file}: {len(got)} rows equal")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "source":
        pq.write_table(flat_table(), f"{args[0]}/flat.parquet")
        pq.write_table(nested_table(), f"{args[0]}/nested.parquet")
    elif cmd == "check":
        check(args[0], args[1], args[2])
    elif cmd == "same":
        same(args[0], args[1], args[2], args[3])
    elif cmd == "pyarrow-orc":
        pyarrow_orc(args[0])
    elif cmd == "fastavro":
        fastavro_files(args[0])
    elif cmd == "expect":
        expect(args[0], args[1])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
