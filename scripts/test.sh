#!/usr/bin/env bash
# Runs the whole test suite: installs the Python packages the interop tests
# use, then builds and runs every test. Usage: scripts/test.sh [cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep polars' build cache outside the work tree so fresh clones reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/etl-target}"

python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt

cargo fmt --all -- --check
cargo test --locked "$@"
