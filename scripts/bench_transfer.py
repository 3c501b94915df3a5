#!/usr/bin/env python3
"""Benchmark: `etl transfer` against `aws s3 cp` (S3) and the `sftp` command
(SFTP), uploading and downloading 1 GiB as one file and as 1000 files of
1 MiB, to a private SeaweedFS S3 server and a private sshd on loopback
(scripts/services.sh, own state folder), in the same run.

Runs are interleaved (every variant once per round) so machine noise hits
each alike; medians of wall time and peak RSS (/usr/bin/time -v) are
reported. Every destination is fresh, so nothing is skipped; every result
is checked (size of each file) before timing counts.

    pip install -r scripts/requirements-bench.txt
    cargo build --release
    python3 scripts/bench_transfer.py --runs 3 [--mib 1024] [--files 1000]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def arguments():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mib", type=int, default=1024, help="total size of each data set in MiB")
    ap.add_argument("--files", type=int, default=1000, help="files in the many-files data set")
    ap.add_argument("--etl", default=str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "etl"))
    ap.add_argument("--work", default=str(ROOT / "bench-data"))
    ap.add_argument("--only", choices=["s3", "sftp"], help="one protocol only")
    return ap.parse_args()


def data_sets(work, mib, files):
    """bench-data/transfer/one/big.bin and many/part-NNNN.bin (made once)."""
    base = work / "transfer"
    one, many = base / "one", base / "many"
    big = one / "big.bin"
    if not big.exists() or big.stat().st_size != mib << 20:
        one.mkdir(parents=True, exist_ok=True)
        with open(big, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
    each = (mib << 20) // files
    if not many.exists() or len(list(many.iterdir())) != files:
        shutil.rmtree(many, ignore_errors=True)
        many.mkdir(parents=True)
        for i in range(files):
            (many / f"part-{i:04d}.bin").write_bytes(os.urandom(each))
    return one, many


def services(work):
    state = work / "transfer-services"
    env = dict(os.environ, ETL_SERVICES_DIR=str(state))
    subprocess.run([str(ROOT / "scripts/services.sh"), "start", "s3", "sshd"], env=env, check=True)
    for line in (state / "env.sh").read_text().splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            env[k] = v.strip("'")
    env["AWS_ENDPOINT_URL"] = env["ETL_TEST_S3_ENDPOINT"]
    return state, env


def stop(state):
    subprocess.run([str(ROOT / "scripts/services.sh"), "stop"], env=dict(os.environ, ETL_SERVICES_DIR=str(state)))


def sizes(path):
    p = Path(path)
    if p.is_file():
        return {p.name: p.stat().st_size}
    return {str(f.relative_to(p)): f.stat().st_size for f in p.rglob("*") if f.is_file()}


def main():
    args = arguments()
    work = Path(args.work).resolve()
    one, many = data_sets(work, args.mib, args.files)
    state, env = services(work)
    try:
        run(args, work, one, many, state, env)
    finally:
        stop(state)


def run(args, work, one, many, state, env):
    os.environ.update(env)
    etl = args.etl
    bucket = env["ETL_TEST_S3_BUCKET"]
    ep = env["ETL_TEST_S3_ENDPOINT"]
    sftp_url = env["ETL_TEST_SFTP_URL"]  # ends with /
    sftp_root = Path(env["ETL_TEST_SFTP_ROOT"])
    sftp_dir = sftp_url.split("/", 3)[3] if sftp_url.count("/") > 3 else ""
    sftp_dir = "/" + sftp_dir if not sftp_dir.startswith("/") else sftp_dir
    ssh = ["-i", env["ETL_TEST_SSH_KEY"], "--known-hosts", env["ETL_TEST_KNOWN_HOSTS"]]
    sftp_cmd = ["sftp", "-q", "-b", "-", "-i", env["ETL_TEST_SSH_KEY"], "-o", f"UserKnownHostsFile={env['ETL_TEST_KNOWN_HOSTS']}",
                "-o", "StrictHostKeyChecking=yes", "-P", env["ETL_TEST_SFTP_PORT"], f"{env['ETL_TEST_SFTP_USER']}@{env['ETL_TEST_SFTP_HOST']}"]
    aws = ["aws", "--endpoint-url", ep, "--only-show-errors", "s3", "cp"]
    down = work / "transfer-down"

    def sftp_batch(script):
        return ["bash", "-c", f"printf '%s\\n' {' '.join(repr(l) for l in script)} | {' '.join(repr(c) for c in sftp_cmd)}"]

    # Sources for the downloads, uploaded once with the AWS CLI and sftp.
    subprocess.run(aws + [str(one / "big.bin"), f"s3://{bucket}/src/one/big.bin"], check=True)
    subprocess.run(aws + ["--recursive", str(many), f"s3://{bucket}/src/many/"], check=True)
    src_sftp = sftp_root / "src"
    shutil.rmtree(src_sftp, ignore_errors=True)
    shutil.copytree(one, src_sftp / "one")
    shutil.copytree(many, src_sftp / "many")

    cases = []  # (label, variant, make(run) -> (cmd, (kind, where)), expected sizes)
    size = "1 GiB" if args.mib == 1024 else f"{args.mib} MiB"
    for name, src, rec in ((f"1 file of {size}", one / "big.bin", False), (f"{args.files} files, {size}", many, True)):
        r_etl = ["-r"] if rec else []
        r_aws = ["--recursive"] if rec else []
        key = "many" if rec else "one"
        exp = sizes(src)
        if args.only in (None, "s3"):
            cases.append((f"S3 upload {name}", "etl", lambda i, key=key, src=src, r=r_etl: (
                [etl, "-q", "transfer", *r, str(src), f"s3://{bucket}/etl/{key}-{i}/"], ("s3", f"etl/{key}-{i}/"))))
            cases.append((f"S3 upload {name}", "aws s3 cp", lambda i, key=key, src=src, r=r_aws: (
                [*aws, *r, str(src), f"s3://{bucket}/aws/{key}-{i}/" + ("" if r else src.name)], ("s3", f"aws/{key}-{i}/"))))
            cases.append((f"S3 download {name}", "etl", lambda i, key=key, r=r_etl: (
                [etl, "-q", "transfer", *r, f"s3://{bucket}/src/{key}/" + ("" if r else "big.bin"), f"{down}/etl-{key}-{i}/"], ("local", f"{down}/etl-{key}-{i}"))))
            cases.append((f"S3 download {name}", "aws s3 cp", lambda i, key=key, r=r_aws: (
                [*aws, *r, f"s3://{bucket}/src/{key}/" + ("" if r else "big.bin"), f"{down}/aws-{key}-{i}/"], ("local", f"{down}/aws-{key}-{i}"))))
        if args.only in (None, "sftp"):
            cases.append((f"SFTP upload {name}", "etl", lambda i, key=key, src=src, r=r_etl: (
                [etl, "-q", "transfer", *r, str(src), f"{sftp_url}etl-{key}-{i}/", *ssh], ("local", str(sftp_root / f"etl-{key}-{i}")))))
            cases.append((f"SFTP upload {name}", "sftp", lambda i, key=key, src=src, r=rec: (
                sftp_batch([f"mkdir {sftp_dir}sftp-{key}-{i}", f"put {src}{'/*' if r else ''} {sftp_dir}sftp-{key}-{i}/"]), ("local", str(sftp_root / f"sftp-{key}-{i}")))))
            cases.append((f"SFTP download {name}", "etl", lambda i, key=key, r=r_etl: (
                [etl, "-q", "transfer", *r, f"{sftp_url}src/{key}/" + ("" if r else "big.bin"), f"{down}/etl-sftp-{key}-{i}/", *ssh], ("local", f"{down}/etl-sftp-{key}-{i}"))))
            cases.append((f"SFTP download {name}", "sftp", lambda i, key=key, r=rec: (
                ["bash", "-c", f"mkdir -p {down}/sftp-{key}-{i} && " + sftp_batch([f"get {sftp_dir}src/{key}/{'*' if r else 'big.bin'} {down}/sftp-{key}-{i}/"])[2]],
                ("local", f"{down}/sftp-{key}-{i}"))))
        cases = [c if len(c) == 4 else (*c, exp) for c in cases]

    samples = {}
    for run in range(args.runs):
        for label, variant, make, exp in cases:
            cmd, (kind, where) = make(run)
            shutil.rmtree(down, ignore_errors=True)
            down.mkdir(parents=True, exist_ok=True)
            t = timed(cmd)
            if kind == "local":
                got = sizes(where)
            else:
                out = subprocess.run(["aws", "--endpoint-url", ep, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", where,
                                      "--query", "Contents[].[Key,Size]", "--output", "text"], capture_output=True, text=True, check=True).stdout
                got = {line.split("\t")[0][len(where):]: int(line.split("\t")[1]) for line in out.splitlines() if "\t" in line}
                subprocess.run(["aws", "--endpoint-url", ep, "--only-show-errors", "s3", "rm", "--recursive", f"s3://{bucket}/{where}"], check=True)
            if got != exp:
                sys.exit(f"{label} / {variant}: result differs ({len(got)} files, {sum(got.values())} bytes; expected {len(exp)}, {sum(exp.values())})")
            if kind == "local" and str(where).startswith(str(sftp_root)):
                shutil.rmtree(where, ignore_errors=True)
            samples.setdefault((label, variant), []).append(t)
            print(f"run {run + 1}: {label:28} {variant:10} {t[0]:7.2f} s {t[1]:7.0f} MB", file=sys.stderr)
    shutil.rmtree(down, ignore_errors=True)
    print(f"\ntransfer, median of {args.runs} interleaved runs, {os.cpu_count()} cores, loopback servers (SeaweedFS, OpenSSH)\n")
    print("| case | etl s | peer | peer s | etl / peer | etl MB/s | etl peak RSS | peer peak RSS |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    labels = []
    for label, _v, _m, _e in cases:
        if label not in labels:
            labels.append(label)
    for label in labels:
        e = samples[(label, "etl")]
        peer = next(v for (l, v) in samples if l == label and v != "etl")
        p = samples[(label, peer)]
        et, pt = statistics.median(x[0] for x in e), statistics.median(x[0] for x in p)
        er, pr = statistics.median(x[1] for x in e), statistics.median(x[1] for x in p)
        print(f"| {label} | {et:.2f} | {peer} | {pt:.2f} | {et / pt:.2f} | {(args.mib / et):,.0f} | {er:,.0f} MB | {pr:,.0f} MB |")


if __name__ == "__main__":
    main()
