#!/usr/bin/env bash
# Runs the whole test suite: installs the Python packages the interop tests
# use and the test servers (scripts/services.sh), then builds and runs every
# test with the servers started on loopback and stopped afterwards.
# Usage: scripts/test.sh [cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep polars' build cache outside the work tree so fresh clones reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/etl-target}"

python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt

# The Spark Connect server (tests/cli/spark.rs) is heavy: in the default set only when asked.
export ETL_SERVICES_SPARK="${ETL_SERVICES_SPARK:-1}"
scripts/services.sh install

cargo fmt --all -- --check
cargo test --locked --no-run
scripts/services.sh run -- cargo test --locked "$@"
