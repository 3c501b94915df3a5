#!/usr/bin/env python3
"""Benchmark: `etl model predict` throughput against scikit-learn's predict.

Generates a training table (--train rows) and a scoring table (--rows rows,
Parquet) with numpy/pyarrow: three numbers and a five-value text column.
Trains each model kind once with `etl model fit` (the same data and
encoding is given to scikit-learn), then times scoring the big table
several times, alternating tools:
  etl:          etl model predict MODEL -i score.parquet -o out.parquet
  scikit-learn: read the Parquet with pyarrow, encode with numpy, predict,
                write the predictions back with pyarrow
and prints a Markdown table of median wall times, rows per second, and the
etl/scikit-learn ratio.

    pip install -r scripts/requirements-bench.txt scikit-learn==1.9.1
    cargo build --release
    python3 scripts/bench_model.py --rows 10000000 --runs 3
"""
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import arguments, timed  # noqa: E402

STATES = np.array(["CA", "FL", "NY", "OH", "TX"])
KINDS = ["linear", "random-forest", "gradient-boosting"]


def table(n, seed):
    rng = np.random.default_rng(seed)
    years = rng.integers(1, 41, n).astype(np.float64)
    supply = rng.uniform(10, 400, n)
    cost = rng.gamma(2.0, 50.0, n)
    state = STATES[rng.integers(0, 5, n)]
    effect = np.select([state == s for s in STATES], [5.0, 2.5, -3.0, 0.0, 8.0])
    y = 2 * years + 0.05 * supply + 0.01 * cost + effect + rng.normal(0, 3, n)
    return pa.table({"years_of_exp": years, "total_day_supply": supply, "total_drug_cost": cost,
                     "presc_state": state, "trx_cnt": y})


def sklearn_script(kind, train, score, out, trees):
    return f"""
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from sklearn import ensemble, linear_model
STATES = ["CA", "FL", "NY", "OH", "TX"]
def enc(t):
    cols = [t[c].to_numpy() for c in ("years_of_exp", "total_day_supply", "total_drug_cost")]
    s = t["presc_state"].to_numpy(zero_copy_only=False)
    return np.column_stack(cols + [(s == c).astype(float) for c in STATES[1:]])
tr = pq.read_table({str(train)!r})
m = {{"linear": lambda: linear_model.LinearRegression(),
     "random-forest": lambda: ensemble.RandomForestRegressor(n_estimators={trees}, max_depth=8, random_state=0, n_jobs=-1),
     "gradient-boosting": lambda: ensemble.GradientBoostingRegressor(n_estimators={trees}, random_state=0)}}[{kind!r}]()
m.fit(enc(tr), tr["trx_cnt"].to_numpy())
import time
t0 = time.perf_counter()
t = pq.read_table({str(score)!r})
p = m.predict(enc(t))
pq.write_table(t.append_column("prediction", pa.array(p)), {str(out)!r})
print(time.perf_counter() - t0)
"""


def main():
    ap = arguments(__doc__)
    ap.add_argument("--train", type=int, default=100_000)
    ap.add_argument("--trees", type=int, default=50)
    args = ap.parse_args()
    work = Path(args.work) / "model"
    work.mkdir(parents=True, exist_ok=True)
    train = work / "train.parquet"
    pq.write_table(table(args.train, 1), train)
    print("| kind | rows | etl (s) | rows/s | scikit-learn (s) | rows/s | etl / scikit-learn |")
    print("|---|---|---|---|---|---|---|")
    for rows in args.rows:
        score = work / f"score-{rows}.parquet"
        if not score.exists():
            pq.write_table(table(rows, 2), score)
        for kind in KINDS:
            model = work / f"{kind}.json"
            fit = [args.etl, "model", "fit", "-i", str(train), "--target", "trx_cnt",
                   "--features", "years_of_exp,total_day_supply,total_drug_cost,presc_state",
                   "--kind", kind, "--trees", str(args.trees), "-o", str(model), "-q"]
            if kind == "random-forest":
                fit += ["--max-depth", "8"]
            subprocess.run(fit, check=True, stdout=subprocess.DEVNULL)
            etl_times, sk_times = [], []
            for _ in range(args.runs):
                out = work / "etl-out.parquet"
                etl_times.append(timed([args.etl, "model", "predict", str(model), "-i", str(score), "-o", str(out), "--force", "-q"])[0])
                # scikit-learn's time excludes its training (printed by the script itself).
                code = sklearn_script(kind, train, score, work / "sk-out.parquet", args.trees)
                res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                sk_times.append(float(res.stdout.strip().splitlines()[-1]))
            e, s = statistics.median(etl_times), statistics.median(sk_times)
            print(f"| {kind} | {rows:,} | {e:.2f} | {rows / e:,.0f} | {s:.2f} | {rows / s:,.0f} | {e / s:.2f} |", flush=True)


if __name__ == "__main__":
    main()
