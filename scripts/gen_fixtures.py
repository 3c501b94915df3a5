#!/usr/bin/env python3
"""Regenerate the third-party-written test fixtures for `etl`.

Everything under fixtures/formats/, fixtures/bad/ and fixtures/layouts/ is
written here by *other* implementations (pyarrow, fastavro, openpyxl, xlwt,
odfpy, Python's csv/json/gzip/bz2/lzma, zstandard), never by etl itself, so
that etl's readers are tested against files it did not produce.

The output is deterministic: fixed seeds, fixed sync markers, zip entry
timestamps and document properties pinned to a constant date.  Re-running
with the versions pinned in scripts/requirements-fixtures.txt reproduces the
same bytes.

Usage:
    pip install -r scripts/requirements-fixtures.txt
    python3 scripts/gen_fixtures.py            # writes into ./fixtures
    python3 scripts/gen_fixtures.py --out DIR  # writes DIR/{formats,bad,layouts}
    python3 scripts/gen_fixtures.py --check    # also read every file back
"""

from __future__ import annotations

import argparse
import bz2
import datetime as dt
import decimal
import gzip
import io
import json
import lzma
import random
import re
import shutil
import sys
import uuid
import zipfile
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.orc as orc
import pyarrow.parquet as pq
import zstandard

FIXED_DATETIME = dt.datetime(2024, 1, 1, 0, 0, 0)
ZIP_DATE_TIME = (2024, 1, 1, 0, 0, 0)

# --------------------------------------------------------------------------
# The canonical "people" table
# --------------------------------------------------------------------------

COLUMNS = ["id", "name", "score", "active", "born", "updated"]
SCHEMA_TXT = [
    ("id", "int64"),
    ("name", "string"),
    ("score", "float64"),
    ("active", "bool"),
    ("born", "date"),
    ("updated", "datetime[us]"),
]

PEOPLE = {
    "id": [1, 2, 3, 4, 5, 6],
    "name": ["plain", "Smith, John", 'O"Brien', "line1\nline2", "Zoë Ångström", None],
    "score": [1.5, -2.25, 1e10, 0.0, None, 0.1],
    "active": [True, False, True, None, False, True],
    "born": [
        dt.date(1980, 1, 31),
        dt.date(2000, 2, 29),
        None,
        dt.date(1969, 7, 20),
        dt.date(1999, 12, 31),
        dt.date(2024, 2, 29),
    ],
    "updated": [
        dt.datetime(2024, 3, 1, 12, 34, 56, 123456),
        None,
        dt.datetime(1970, 1, 1, 0, 0, 0),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
        dt.datetime(2021, 6, 15, 8, 0, 0, 500000),
        dt.datetime(1960, 5, 17, 6, 7, 8, 9),
    ],
}
NROWS = 6

ARROW_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("score", pa.float64()),
        ("active", pa.bool_()),
        ("born", pa.date32()),
        ("updated", pa.timestamp("us")),
    ]
)


def people_table() -> pa.Table:
    return pa.table({c: PEOPLE[c] for c in COLUMNS}, schema=ARROW_SCHEMA)


def rows() -> list[list]:
    return [[PEOPLE[c][i] for c in COLUMNS] for i in range(NROWS)]


def trunc_ms(v):
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=v.microsecond // 1000 * 1000)
    return v


def spreadsheet_rows() -> list[list]:
    """Rows as stored in xlsx/xlsm/xls: Excel keeps date-times as a float
    day count whose practical precision is the millisecond, so timestamps
    are truncated to milliseconds there (see people.spreadsheet.expected.csv)."""
    return [[trunc_ms(v) for v in r] for r in rows()]


# --------------------------------------------------------------------------
# Text rendering shared by CSV / JSON writers
# --------------------------------------------------------------------------


def render(v) -> str | None:
    """Canonical text of one value; None for null."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)  # shortest round-trip repr
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return str(v)


def csv_field(s: str | None, delim: str = ",", null: str = "") -> str:
    if s is None:
        return null
    if any(ch in s for ch in (delim, '"', "\n", "\r")):
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_text(
    header: list[str] | None,
    data: list[list],
    delim: str = ",",
    eol: str = "\n",
    null_for=None,
) -> str:
    out = []
    if header is not None:
        out.append(delim.join(csv_field(h, delim) for h in header) + eol)
    for r, row in enumerate(data):
        cells = []
        for c, v in enumerate(row):
            null = null_for(r, c) if null_for else ""
            cells.append(csv_field(render(v), delim, null))
        out.append(delim.join(cells) + eol)
    return "".join(out)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def normalize_zip(path: Path, core_xml_fix: bool = False) -> None:
    """Rewrite a zip container (xlsx/xlsm/ods) with fixed entry timestamps.

    openpyxl stamps docProps/core.xml with the current time and zipfile stamps
    every entry with the current local time; pin both so output is stable.
    Entry order and per-entry compression are preserved (ODS needs its
    'mimetype' entry first and stored).
    """
    src = zipfile.ZipFile(path)
    entries = [(zi, src.read(zi.filename)) for zi in src.infolist()]
    src.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for zi, data in entries:
            if core_xml_fix and zi.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    r"\g<1>2024-01-01T00:00:00Z\3",
                    text,
                )
                data = text.encode("utf-8")
            nzi = zipfile.ZipInfo(zi.filename, date_time=ZIP_DATE_TIME)
            nzi.compress_type = zi.compress_type
            nzi.external_attr = 0o644 << 16
            nzi.create_system = 3
            dst.writestr(nzi, data)
    path.write_bytes(buf.getvalue())


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(data)
    return buf.getvalue()


def to_epoch_days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def to_epoch_micros(t: dt.datetime) -> int:
    delta = t - dt.datetime(1970, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_epoch_millis(t: dt.datetime) -> int:
    us = to_epoch_micros(t)
    assert us % 1000 == 0
    return us // 1000


# --------------------------------------------------------------------------
# formats/
# --------------------------------------------------------------------------


def gen_csv_family(fmt: Path) -> None:
    data = rows()
    expected = csv_text(COLUMNS, data)
    write_bytes(fmt / "people.expected.csv", expected.encode("utf-8"))
    write_bytes(fmt / "people.csv", expected.encode("utf-8"))
    sheet_expected = csv_text(COLUMNS, spreadsheet_rows())
    write_bytes(fmt / "people.spreadsheet.expected.csv", sheet_expected.encode("utf-8"))
    write_bytes(
        fmt / "people.schema.txt",
        "".join(f"{n}: {t}\n" for n, t in SCHEMA_TXT).encode("utf-8"),
    )
    write_bytes(fmt / "people.tsv", csv_text(COLUMNS, data, delim="\t").encode("utf-8"))
    write_bytes(
        fmt / "people.semicolon.csv", csv_text(COLUMNS, data, delim=";").encode("utf-8")
    )
    write_bytes(fmt / "people.noheader.csv", csv_text(None, data).encode("utf-8"))
    write_bytes(fmt / "people.crlf.csv", csv_text(COLUMNS, data, eol="\r\n").encode("utf-8"))
    write_bytes(fmt / "people.bom.csv", b"\xef\xbb\xbf" + expected.encode("utf-8"))
    write_bytes(fmt / "people.latin1.csv", expected.encode("cp1252"))

    # comment lines before the header and between data rows (built per
    # record: row 4's embedded newline spans two physical lines)
    row_texts = [csv_text(None, [r]) for r in data]
    commented = (
        "# exported by a legacy system\n"
        "# second comment line\n"
        + csv_text(COLUMNS, [])
        + row_texts[0]
        + row_texts[1]
        + "# a comment between rows\n"
        + row_texts[2]
        + row_texts[3]
        + "#another,comment,with,commas\n"
        + row_texts[4]
        + row_texts[5]
    )
    write_bytes(fmt / "people.comments.csv", commented.encode("utf-8"))

    # nulls written as NA in even columns and NULL in odd columns
    def null_tok(r, c):
        return "NA" if c % 2 == 0 else "NULL"

    write_bytes(
        fmt / "people.nulltokens.csv",
        csv_text(COLUMNS, data, null_for=null_tok).encode("utf-8"),
    )

    raw = expected.encode("utf-8")
    write_bytes(fmt / "people.csv.gz", gzip_bytes(raw))
    write_bytes(fmt / "people.csv.zst", zstandard.ZstdCompressor(level=19).compress(raw))
    write_bytes(fmt / "people.csv.bz2", bz2.compress(raw, 9))
    write_bytes(fmt / "people.csv.xz", lzma.compress(raw, format=lzma.FORMAT_XZ, preset=6))


def gen_json(fmt: Path) -> None:
    objs = []
    for row in rows():
        o = {}
        for c, v in zip(COLUMNS, row):
            if isinstance(v, (dt.date, dt.datetime)):
                o[c] = render(v)
            else:
                o[c] = v
        objs.append(o)
    text = json.dumps(objs, ensure_ascii=False, indent=2) + "\n"
    write_bytes(fmt / "people.json", text.encode("utf-8"))
    nd = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)
    write_bytes(fmt / "people.ndjson", nd.encode("utf-8"))


def gen_parquet(fmt: Path) -> bytes:
    t = people_table()
    for codec in ["snappy", "zstd", "gzip", "lz4", "brotli", "none"]:
        pq.write_table(t, fmt / f"people.{codec}.parquet", compression=codec)
    snappy = (fmt / "people.snappy.parquet").read_bytes()
    write_bytes(fmt / "people_parquet_noext", snappy)
    write_bytes(fmt / "people-is-parquet.csv", snappy)
    gen_nested_parquet(fmt)
    return snappy


def gen_nested_parquet(fmt: Path) -> None:
    """Nested types: a list column and a struct column (with nulls at both levels)."""
    t = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
        "geo": pa.array([{"lat": 40.7, "lng": -74.0}, None, {"lat": 34.1, "lng": None}],
                        pa.struct([("lat", pa.float64()), ("lng", pa.float64())])),
    })
    pq.write_table(t, fmt / "nested.parquet", compression="snappy")


def gen_orc(fmt: Path) -> None:
    t = people_table()
    for name, codec in [
        ("snappy", "snappy"),
        ("zlib", "zlib"),
        ("zstd", "zstd"),
        ("lz4", "lz4"),
        ("none", "uncompressed"),
    ]:
        orc.write_table(t, fmt / f"people.{name}.orc", compression=codec)


def avro_people_schema() -> dict:
    return {
        "type": "record",
        "name": "people",
        "namespace": "etl.fixtures",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "name", "type": ["null", "string"], "default": None},
            {"name": "score", "type": ["null", "double"], "default": None},
            {"name": "active", "type": ["null", "boolean"], "default": None},
            {
                "name": "born",
                "type": ["null", {"type": "int", "logicalType": "date"}],
                "default": None,
            },
            {
                "name": "updated",
                "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}],
                "default": None,
            },
        ],
    }


def avro_people_records() -> list[dict]:
    recs = []
    for row in rows():
        r = dict(zip(COLUMNS, row))
        r["born"] = None if r["born"] is None else to_epoch_days(r["born"])
        r["updated"] = None if r["updated"] is None else to_epoch_micros(r["updated"])
        recs.append(r)
    return recs


def sync_marker(tag: str) -> bytes:
    return uuid.uuid5(uuid.NAMESPACE_URL, "etl-fixtures/" + tag).bytes


def write_avro(path: Path, schema, records, codec: str, tag: str, sync_interval=16000) -> None:
    buf = io.BytesIO()
    fastavro.writer(
        buf,
        fastavro.parse_schema(schema),
        records,
        codec=codec,
        sync_marker=sync_marker(tag),
        sync_interval=sync_interval,
    )
    write_bytes(path, buf.getvalue())


def gen_avro(fmt: Path) -> None:
    schema = avro_people_schema()
    recs = avro_people_records()
    for codec in ["null", "deflate", "snappy"]:
        write_avro(fmt / f"people.{codec}.avro", schema, recs, codec, "people-" + codec)

    # logical types
    lschema = {
        "type": "record",
        "name": "logical",
        "namespace": "etl.fixtures",
        "fields": [
            {"name": "id", "type": "long"},
            {
                "name": "amount",
                "type": [
                    "null",
                    {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
                ],
                "default": None,
            },
            {
                "name": "day",
                "type": ["null", {"type": "int", "logicalType": "date"}],
                "default": None,
            },
            {
                "name": "ts_ms",
                "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
                "default": None,
            },
            {
                "name": "ts_us",
                "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}],
                "default": None,
            },
        ],
    }
    D = decimal.Decimal
    lrows = [
        (1, D("12345678.90"), dt.date(2021, 1, 1), dt.datetime(2021, 1, 1, 0, 0, 0, 1000), dt.datetime(2021, 1, 1, 0, 0, 0, 1)),
        (2, D("-0.01"), dt.date(1969, 12, 31), dt.datetime(1969, 12, 31, 23, 59, 59, 999000), dt.datetime(1969, 12, 31, 23, 59, 59, 999999)),
        (3, D("0.00"), None, None, None),
        (4, None, dt.date(2000, 2, 29), dt.datetime(2000, 2, 29, 12, 0, 0), dt.datetime(2000, 2, 29, 12, 0, 0, 123456)),
        (5, D("99999999.99"), dt.date(2038, 1, 19), dt.datetime(2038, 1, 19, 3, 14, 7, 999000), dt.datetime(2038, 1, 19, 3, 14, 8)),
    ]
    lrecs = [
        {
            "id": i,
            "amount": a,  # fastavro encodes Decimal with the schema's scale
            "day": None if d is None else to_epoch_days(d),
            "ts_ms": None if tm is None else to_epoch_millis(tm),
            "ts_us": None if tu is None else to_epoch_micros(tu),
        }
        for i, a, d, tm, tu in lrows
    ]
    write_avro(fmt / "logical.avro", lschema, lrecs, "null", "logical")

    def ms(t):
        return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]

    out = ["id,amount,day,ts_ms,ts_us\n"]
    for i, a, d, tm, tu in lrows:
        cells = [str(i), "" if a is None else str(a), render(d) or "", ms(tm) or "", render(tu) or ""]
        out.append(",".join(cells) + "\n")
    write_bytes(fmt / "logical.expected.csv", "".join(out).encode("utf-8"))
    write_bytes(
        fmt / "logical.schema.txt",
        b"id: int64\namount: decimal(10,2)\nday: date\nts_ms: datetime[ms]\nts_us: datetime[us]\n",
    )


def gen_arrow(fmt: Path) -> None:
    t = people_table()
    sink = io.BytesIO()
    with ipc.new_file(sink, t.schema) as w:
        w.write_table(t)
    write_bytes(fmt / "people.arrow", sink.getvalue())
    sink = io.BytesIO()
    with ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    write_bytes(fmt / "people.arrows", sink.getvalue())


def gen_xlsx(fmt: Path) -> None:
    import openpyxl

    for ext in ["xlsx", "xlsm"]:
        wb = openpyxl.Workbook()
        wb.properties.creator = "etl fixtures"
        wb.properties.created = FIXED_DATETIME
        ws = wb.active
        ws.title = "people"
        ws.append(COLUMNS)
        for row in spreadsheet_rows():
            ws.append(row)
        for r in range(2, NROWS + 2):
            ws.cell(row=r, column=5).number_format = "yyyy-mm-dd"
            ws.cell(row=r, column=6).number_format = "yyyy-mm-dd hh:mm:ss.000"
        if ext == "xlsx":
            other = wb.create_sheet("other")
            other.append(["a", "b"])
            other.append([1, "x"])
            other.append([2, "y"])
        path = fmt / f"people.{ext}"
        wb.save(path)
        normalize_zip(path, core_xml_fix=True)


def gen_xls(fmt: Path) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("people")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    ts_style = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS.000")
    for c, h in enumerate(COLUMNS):
        ws.write(0, c, h)
    for r, row in enumerate(spreadsheet_rows(), start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, dt.datetime):
                # xlwt drops sub-second parts of datetimes: write the Excel
                # serial day number ourselves (1900 date system).
                delta = v - dt.datetime(1899, 12, 30)
                serial = delta.days + (delta.seconds * 1_000_000 + delta.microseconds) / 86_400_000_000
                ws.write(r, c, serial, ts_style)
            elif isinstance(v, dt.date):
                ws.write(r, c, v, date_style)
            else:
                ws.write(r, c, v)
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(fmt / "people.xls", buf.getvalue())


def gen_ods(fmt: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Style
    from odf.number import DateStyle, Year, Month, Day, Hours, Minutes, Seconds, Text
    from odf.table import Table, TableRow, TableCell
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    # date styles
    ds = DateStyle(name="isodate")
    ds.addElement(Year(style="long"))
    ds.addElement(Text(text="-"))
    ds.addElement(Month(style="long"))
    ds.addElement(Text(text="-"))
    ds.addElement(Day(style="long"))
    doc.automaticstyles.addElement(ds)
    ts = DateStyle(name="isots")
    ts.addElement(Year(style="long"))
    ts.addElement(Text(text="-"))
    ts.addElement(Month(style="long"))
    ts.addElement(Text(text="-"))
    ts.addElement(Day(style="long"))
    ts.addElement(Text(text=" "))
    ts.addElement(Hours(style="long"))
    ts.addElement(Text(text=":"))
    ts.addElement(Minutes(style="long"))
    ts.addElement(Text(text=":"))
    ts.addElement(Seconds(style="long", decimalplaces="6"))
    doc.automaticstyles.addElement(ts)
    dcell = Style(name="cdate", family="table-cell", datastylename="isodate")
    tcell = Style(name="cts", family="table-cell", datastylename="isots")
    doc.automaticstyles.addElement(dcell)
    doc.automaticstyles.addElement(tcell)

    table = Table(name="people")

    def text_cell(s):
        cell = TableCell(valuetype="string")
        for i, part in enumerate(s.split("\n")):
            cell.addElement(P(text=part))
        return cell

    tr = TableRow()
    for h in COLUMNS:
        tr.addElement(text_cell(h))
    table.addElement(tr)
    for row in rows():
        tr = TableRow()
        for v in row:
            if v is None:
                cell = TableCell()
            elif isinstance(v, bool):
                cell = TableCell(valuetype="boolean", booleanvalue="true" if v else "false")
                cell.addElement(P(text="TRUE" if v else "FALSE"))
            elif isinstance(v, (int, float)):
                cell = TableCell(valuetype="float", value=repr(v) if isinstance(v, float) else str(v))
                cell.addElement(P(text=render(v)))
            elif isinstance(v, dt.datetime):
                iso = v.strftime("%Y-%m-%dT%H:%M:%S.%f")
                cell = TableCell(valuetype="date", datevalue=iso, stylename=tcell)
                cell.addElement(P(text=iso.replace("T", " ")))
            elif isinstance(v, dt.date):
                cell = TableCell(valuetype="date", datevalue=v.isoformat(), stylename=dcell)
                cell.addElement(P(text=v.isoformat()))
            else:
                cell = text_cell(v)
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    path = fmt / "people.ods"
    doc.save(str(path))
    normalize_zip(path)


# --------------------------------------------------------------------------
# layouts/
# --------------------------------------------------------------------------


def gen_layouts(lay: Path) -> None:
    t = people_table()

    spark = lay / "spark_out"
    job = uuid.uuid5(uuid.NAMESPACE_URL, "etl-fixtures/spark-job")
    for part, (off, n) in enumerate([(0, 3), (3, 3)]):
        name = f"part-{part:05d}-{job}-c000.snappy.parquet"
        spark.mkdir(parents=True, exist_ok=True)
        pq.write_table(t.slice(off, n), spark / name, compression="snappy")
        # Hadoop checksum side files: any bytes will do, readers must skip them
        write_bytes(spark / f".{name}.crc", b"crc\x00\x00\x00\x00\x01" + bytes([part]) * 8)
    write_bytes(spark / "_SUCCESS", b"")
    write_bytes(spark / "._SUCCESS.crc", b"crc\x00\x00\x00\x00\x00")
    write_bytes(spark / ".hidden", b"not data: readers must skip hidden files\n")

    hive = lay / "hive"
    sub = t.select(["id", "name"])
    for state, off in [("NY", 0), ("CA", 3)]:
        (hive / f"state={state}").mkdir(parents=True, exist_ok=True)
        pq.write_table(sub.slice(off, 3), hive / f"state={state}" / "part-0.parquet")
    hive_rows = [[i, PEOPLE["name"][i - 1], "NY" if i <= 3 else "CA"] for i in PEOPLE["id"]]
    write_bytes(lay / "hive.expected.csv", csv_text(["id", "name", "state"], hive_rows).encode())

    landing = lay / "landing"
    a1 = [[1, "alpha", 1.5], [2, "beta", 2.5], [3, "gamma", None]]
    a2 = [[4, "delta", "x"], [5, "epsilon", None]]
    write_bytes(landing / "a1.csv", csv_text(["id", "name", "score"], a1).encode())
    write_bytes(landing / "a2.csv", csv_text(["id", "name", "extra"], a2).encode())
    merged = [r + [None] for r in a1] + [[r[0], r[1], None, r[2]] for r in a2]
    write_bytes(
        lay / "landing.expected.csv",
        csv_text(["id", "name", "score", "extra"], merged).encode(),
    )

    bad = lay / "landing_bad"
    write_bytes(bad / "b1.csv", b"id,name\n1,alpha\n2,beta\n")
    write_bytes(bad / "b2.csv", b"id,name\nabc,gamma\ndef,delta\n")


FORMATS_README = """\
# fixtures/formats

The canonical `people` table (6 rows) written by third-party libraries, never
by etl. Regenerate with `python3 scripts/gen_fixtures.py --check`.

Expected content: people.expected.csv (RFC 4180, `\\n` line ends, quoted only
when needed, null = empty field, dates `YYYY-MM-DD`, timestamps
`YYYY-MM-DDTHH:MM:SS.ffffff` with no time zone, floats in Python's shortest
round-trip repr, bools `true`/`false`); types: people.schema.txt.

| file | writer | notes |
| --- | --- | --- |
| people.{snappy,zstd,gzip,lz4,brotli,none}.parquet | pyarrow | `lz4` is parquet's LZ4_RAW codec; `none` = uncompressed |
| people.{snappy,zlib,zstd,lz4,none}.orc | pyarrow.orc | `updated` is an ORC timestamp (no tz); pyarrow reads it back as ns |
| people.{null,deflate,snappy}.avro | fastavro | `id` long; other fields `["null", T]`; `born` int/date; `updated` long/timestamp-micros |
| logical.avro | fastavro | decimal(10,2) as bytes, date, timestamp-millis, timestamp-micros; expected: logical.expected.csv, logical.schema.txt |
| people.arrow / people.arrows | pyarrow | Arrow IPC file / stream format, uncompressed |
| people.json / people.ndjson | json | array of objects / one object per line; dates and timestamps as the ISO strings above |
| people.csv | | same bytes as people.expected.csv |
| people.tsv, people.semicolon.csv | | tab / `;` delimiter |
| people.noheader.csv | | no header row |
| people.crlf.csv | | CRLF record ends (the embedded newline in row 4 stays `\\n`) |
| people.bom.csv | | UTF-8 BOM first |
| people.latin1.csv | | encoded windows-1252 (same as latin-1 for these characters) |
| people.comments.csv | | `#` comment lines before the header and between rows |
| people.nulltokens.csv | | nulls written `NA` (columns id, score, born) and `NULL` (name, active, updated) |
| people.csv.{gz,zst,bz2,xz} | gzip/zstandard/bz2/lzma | compressed people.csv |
| people.xlsx, people.xlsm | openpyxl | sheet `people`; date cells `yyyy-mm-dd`, date-time cells `yyyy-mm-dd hh:mm:ss.000`; people.xlsx has a 2nd sheet `other` (a,b / 1,x / 2,y) |
| people.xls | xlwt | BIFF8; date and date-time cells (number cells with date formats) |
| people.ods | odfpy | date cells carry the exact ISO value (`office:date-value`), so microseconds are kept: expected = people.expected.csv |
| people_parquet_noext, people-is-parquet.csv | pyarrow | copies of people.snappy.parquet: format must come from the magic bytes, not the name |

Spreadsheets: Excel stores a date-time as a float day count whose precision
is the millisecond, so xlsx/xlsm/xls hold the timestamps truncated to
milliseconds; their expected content is people.spreadsheet.expected.csv
(numbers may come back as floats, e.g. id 1.0, unless the reader narrows
them). There is no xlsb fixture: no common Python library writes xlsb.
"""


LAYOUTS_README = """\
# fixtures/layouts

Folder layouts as other tools leave them (written by scripts/gen_fixtures.py).

- spark_out/: a Spark output folder: two snappy parquet part files (the six
  `people` rows split 3 + 3, ids 1-3 then 4-6), an empty `_SUCCESS` marker,
  Hadoop `.crc` side files and a `.hidden` file. Reading the folder must give
  exactly the six rows of ../formats/people.expected.csv; the marker, crc and
  hidden files must be skipped.
- hive/: Hive-partitioned parquet, `state=NY/part-0.parquet` (ids 1-3) and
  `state=CA/part-0.parquet` (ids 4-6); the files hold only `id`, `name`, and
  `state` comes from the path. Expected rows (sorted by id): hive.expected.csv.
- landing/: `a1.csv` (id,name,score) and `a2.csv` (id,name,extra) for glob
  tests (`landing/*.csv`). Concatenated by column name, missing columns null:
  landing.expected.csv (columns in first-seen order id,name,score,extra).
- landing_bad/: `b1.csv` has an integer `id`, `b2.csv` has a non-numeric
  `id` (`abc`): concatenating them with a strict schema must fail with a
  clear type error (or, with type widening allowed, `id` becomes a string).
"""


# --------------------------------------------------------------------------
# bad/
# --------------------------------------------------------------------------


def gen_bad(bad: Path, fmt: Path) -> None:
    pqb = (fmt / "people.snappy.parquet").read_bytes()
    write_bytes(bad / "bad_footer.parquet", pqb[:-8] + b"\xff\xff\xff\x7fPAR0")
    write_bytes(bad / "truncated.parquet", pqb[: len(pqb) // 2])

    orcb = (fmt / "people.snappy.orc").read_bytes()
    write_bytes(bad / "truncated.orc", orcb[: len(orcb) * 6 // 10])

    # avro with one record per block so there are several sync markers
    buf = io.BytesIO()
    marker = sync_marker("bad-sync")
    fastavro.writer(
        buf,
        fastavro.parse_schema(avro_people_schema()),
        avro_people_records(),
        codec="null",
        sync_marker=marker,
        sync_interval=1,
    )
    av = bytearray(buf.getvalue())
    first = av.find(marker)  # end of header
    second = av.find(marker, first + 16)  # after block 1
    assert first > 0 and second > first
    for i in range(second, second + 16):
        av[i] ^= 0xA5
    write_bytes(bad / "bad_sync.avro", bytes(av))

    avb = (fmt / "people.null.avro").read_bytes()
    write_bytes(bad / "truncated.avro", avb[: len(avb) // 2])

    write_bytes(
        bad / "ragged.csv",
        b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n11,12,13\n14,15\n16,17,18\n",
    )
    rng = random.Random(20240101)
    blob = bytearray(rng.getrandbits(8) for _ in range(512))
    for i in range(0, 512, 37):
        blob[i] = 0
    write_bytes(bad / "binary.csv", bytes(blob))
    write_bytes(
        bad / "bad_utf8.csv",
        b"id,name\n1,alice\n2,b\xff\xfeob\xc3\n3,carol\n",
    )
    write_bytes(
        bad / "type_error.csv",
        b"id,qty\n1,10\n2,20\n3,30\n4,12x\n5,50\n",
    )
    write_bytes(
        bad / "unterminated_quote.csv",
        b'id,name\n1,alice\n2,"bob\n3,carol\n4,dave\n',
    )
    write_bytes(bad / "empty.csv", b"")
    write_bytes(bad / "header_only.csv", b"id,name,score\n")
    write_bytes(
        bad / "not_excel.xlsx",
        b"This is a plain text file with an .xlsx name.\nid,name\n1,alice\n",
    )
    arb = (fmt / "people.arrow").read_bytes()
    write_bytes(bad / "truncated.arrow", arb[: len(arb) // 2])


BAD_README = """\
# fixtures/bad

Inputs that must make etl fail loudly (clear message, non-zero exit), one per line.
Written by scripts/gen_fixtures.py.

- bad_footer.parquet: valid ../formats/people.snappy.parquet with its last 8 bytes (footer length + `PAR1` magic) overwritten.
- truncated.parquet: the first half of people.snappy.parquet (no footer).
- truncated.orc: the first 60% of people.snappy.orc (postscript and footer missing).
- bad_sync.avro: people.null.avro written one record per block, with the 16 sync-marker bytes after the first data block XOR-ed with 0xA5 (header and block 1 are valid).
- truncated.avro: the first half of people.null.avro (cut inside the data block).
- ragged.csv: header a,b,c; line 4 has 4 fields, line 6 has 2 fields (a lenient sniffer such as DuckDB's auto-detect may fall back to one column; with delimiter `,` it must fail).
- binary.csv: 512 random bytes (with NULs every 37 bytes) named .csv.
- bad_utf8.csv: line 3 has invalid UTF-8 bytes (`\\xff\\xfe`, and a truncated 2-byte sequence `\\xc3`) in the `name` field.
- type_error.csv: `qty` is an integer column but line 5 holds `12x`; must fail when `qty` is read as an integer (declared schema, or inference over the first rows only) rather than silently becoming null.
- unterminated_quote.csv: line 3 opens a quote (`"bob`) that is never closed before end of file.
- empty.csv: 0 bytes: no header, no columns; must be reported as empty input, not read as an empty table silently.
- header_only.csv: header `id,name,score` and no rows; reading gives 0 rows (a pipeline that requires rows must say the input is empty).
- not_excel.xlsx: a plain text file with an .xlsx name (not a zip container).
- truncated.arrow: the first half of people.arrow (Arrow IPC file with no footer or trailing magic).
"""


# --------------------------------------------------------------------------
# Verification (read back)
# --------------------------------------------------------------------------


def check(root: Path) -> None:
    import csv as pycsv

    fmt = root / "formats"
    want = people_table()

    def same(t: pa.Table, what: str):
        t = t.select(COLUMNS)
        # normalise types that a format cannot keep (e.g. ORC ns timestamps)
        t = t.cast(ARROW_SCHEMA)
        assert t.equals(want), f"{what}: {t.to_pylist()} != {want.to_pylist()}"

    for p in sorted(fmt.glob("people.*.parquet")) + [fmt / "people_parquet_noext", fmt / "people-is-parquet.csv"]:
        same(pq.read_table(p), p.name)
    for p in sorted(fmt.glob("people.*.orc")):
        same(orc.read_table(p), p.name)
    same(ipc.open_file(fmt / "people.arrow").read_all(), "people.arrow")
    same(ipc.open_stream(fmt / "people.arrows").read_all(), "people.arrows")
    want_recs = avro_people_records()
    for p in sorted(fmt.glob("people.*.avro")):
        with open(p, "rb") as f:
            got = list(fastavro.reader(f))
        for g, w in zip(got, want_recs):
            assert g["born"] == (None if w["born"] is None else dt.date(1970, 1, 1) + dt.timedelta(days=w["born"])), p
            assert (g["updated"] is None) == (w["updated"] is None), p
            if g["updated"] is not None:
                assert to_epoch_micros(g["updated"].replace(tzinfo=None)) == w["updated"], p
            for c in ["id", "name", "score", "active"]:
                assert g[c] == w[c], (p, c)
        assert len(got) == NROWS, p
    with open(fmt / "logical.avro", "rb") as f:
        got = list(fastavro.reader(f))
    assert str(got[0]["amount"]) == "12345678.90" and got[3]["amount"] is None

    expected = (fmt / "people.expected.csv").read_text(encoding="utf-8")
    parsed = list(pycsv.reader(io.StringIO(expected)))
    assert parsed[0] == COLUMNS and len(parsed) == NROWS + 1
    for name, enc, delim in [
        ("people.csv", "utf-8", ","),
        ("people.tsv", "utf-8", "\t"),
        ("people.semicolon.csv", "utf-8", ";"),
        ("people.crlf.csv", "utf-8", ","),
        ("people.bom.csv", "utf-8-sig", ","),
        ("people.latin1.csv", "cp1252", ","),
    ]:
        text = (fmt / name).read_bytes().decode(enc)
        assert list(pycsv.reader(io.StringIO(text, newline=""), delimiter=delim)) == parsed, name
    assert list(pycsv.reader(io.StringIO((fmt / "people.noheader.csv").read_text()))) == parsed[1:]
    for name, dec in [
        ("people.csv.gz", gzip.decompress),
        ("people.csv.bz2", bz2.decompress),
        ("people.csv.xz", lzma.decompress),
        ("people.csv.zst", lambda b: zstandard.ZstdDecompressor().decompress(b)),
    ]:
        assert dec((fmt / name).read_bytes()).decode() == expected, name
    js = json.loads((fmt / "people.json").read_text())
    nd = [json.loads(l) for l in (fmt / "people.ndjson").read_text().splitlines()]
    assert js == nd and len(js) == NROWS

    import openpyxl
    import xlrd

    for ext in ["xlsx", "xlsm"]:
        wb = openpyxl.load_workbook(fmt / f"people.{ext}")
        vals = list(wb["people"].iter_rows(values_only=True))
        assert list(vals[0]) == COLUMNS
        for r, row in enumerate(vals[1:]):
            for c, v in enumerate(row):
                w = spreadsheet_rows()[r][c]
                if isinstance(w, dt.date) and not isinstance(w, dt.datetime):
                    w = dt.datetime.combine(w, dt.time())
                assert v == w, (ext, r, c, v, w)
        if ext == "xlsx":
            assert list(wb["other"].iter_rows(values_only=True)) == [("a", "b"), (1, "x"), (2, "y")]
    book = xlrd.open_workbook(fmt / "people.xls")
    sh = book.sheet_by_index(0)
    assert sh.nrows == NROWS + 1 and sh.row_values(0) == COLUMNS
    assert xlrd.xldate.xldate_as_datetime(sh.cell_value(1, 4), book.datemode) == dt.datetime(1980, 1, 31)
    for r in range(1, sh.nrows):
        w = spreadsheet_rows()[r - 1][5]
        if w is not None:
            got = xlrd.xldate.xldate_as_datetime(sh.cell_value(r, 5), book.datemode)
            assert abs((got - w).total_seconds()) < 1e-6, (r, got, w)

    from odf.opendocument import load

    from odf.table import TableRow, TableCell
    from odf.namespaces import OFFICENS

    doc = load(str(fmt / "people.ods"))
    ods_rows = []
    for tr in doc.spreadsheet.getElementsByType(TableRow):
        vals = []
        for cell in tr.getElementsByType(TableCell):
            vt = cell.attributes.get((OFFICENS, "value-type"))
            if vt is None:
                vals.append(None)
            elif vt == "float":
                vals.append(cell.attributes[(OFFICENS, "value")])
            elif vt == "boolean":
                vals.append(cell.attributes[(OFFICENS, "boolean-value")] == "true")
            elif vt == "date":
                vals.append(cell.attributes[(OFFICENS, "date-value")])
            else:
                vals.append("\n".join(str(p) for p in cell.childNodes))
        ods_rows.append(vals)
    assert ods_rows[0] == COLUMNS, ods_rows[0]
    for r, row in enumerate(rows()):
        g = ods_rows[r + 1]
        assert g[1] == row[1] and g[3] == row[3], (g, row)
        assert g[5] == (None if row[5] is None else render(row[5])), (g, row)
        assert g[4] == (None if row[4] is None else render(row[4])), (g, row)

    # layouts
    import pyarrow.dataset as ds

    sp = ds.dataset(root / "layouts" / "spark_out", format="parquet").to_table()
    same(sp.sort_by("id"), "spark_out")
    hv = ds.dataset(root / "layouts" / "hive", format="parquet", partitioning="hive").to_table()
    assert hv.num_rows == NROWS and "state" in hv.column_names

    # bad inputs must fail
    bad = root / "bad"
    for name, fn in [
        ("bad_footer.parquet", pq.read_table),
        ("truncated.parquet", pq.read_table),
        ("truncated.orc", orc.read_table),
        ("truncated.arrow", lambda p: ipc.open_file(p).read_all()),
        ("bad_sync.avro", lambda p: list(fastavro.reader(open(p, "rb")))),
        ("truncated.avro", lambda p: list(fastavro.reader(open(p, "rb")))),
        ("not_excel.xlsx", openpyxl.load_workbook),
    ]:
        try:
            fn(bad / name)
        except Exception:
            continue
        raise AssertionError(f"{name} did not fail")
    print("check: all fixtures read back as expected")


# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "fixtures"))
    ap.add_argument("--check", action="store_true", help="read every file back and verify")
    args = ap.parse_args()
    root = Path(args.out)
    fmt, bad, lay = root / "formats", root / "bad", root / "layouts"
    for d in (fmt, bad, lay):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)

    gen_csv_family(fmt)
    gen_json(fmt)
    gen_parquet(fmt)
    gen_orc(fmt)
    gen_avro(fmt)
    gen_arrow(fmt)
    gen_xlsx(fmt)
    gen_xls(fmt)
    gen_ods(fmt)
    gen_layouts(lay)
    write_bytes(lay / "README.md", LAYOUTS_README.encode())
    write_bytes(fmt / "README.md", FORMATS_README.encode())
    gen_bad(bad, fmt)
    write_bytes(bad / "README.md", BAD_README.encode())

    if args.check:
        check(root)
    n = sum(1 for _ in root.rglob("*") if _.is_file())
    print(f"wrote {n} files under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
