#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets) for SECONDS under a memory limit,
# keeping its corpus in fuzz/corpus/TARGET and crashers in
# fuzz/artifacts/TARGET. Needs cargo-fuzz (`cargo install cargo-fuzz`); on
# the stable toolchain it runs with RUSTC_BOOTSTRAP=1 for the -Z flags.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default: 60, every target)
# A crasher found here becomes a regression test (a unit test, or a file
# under fixtures/bad/ read by an existing test).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(csv_scan sniff json pipeline_toml)
fi

command -v cargo-fuzz >/dev/null || {
    echo "fuzz.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2
    exit 2
}
export RUSTC_BOOTSTRAP=1
# Instrumenting polars is a full rebuild: keep it apart from the normal cache.
export CARGO_TARGET_DIR="${ETL_FUZZ_TARGET_DIR:-$HOME/.cache/etl-fuzz-target}"
# libFuzzer's own limits (RSS, and the largest single allocation) report
# runaway memory as a crash; prlimit caps the address space on top, so a
# regression cannot freeze the machine. Sanitizer "none" keeps the build
# affordable (polars is large).
rss_mb="${ETL_FUZZ_RSS_MB:-2048}"
cargo fuzz build --fuzz-dir fuzz --dev --sanitizer none

status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    echo "== $t: ${seconds}s, rss limit ${rss_mb} MB"
    if ! prlimit --as=$((rss_mb * 3 * 1024 * 1024)) -- \
        cargo fuzz run --fuzz-dir fuzz --dev --sanitizer none "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" \
        -max_len=65536 -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1; then
        echo "fuzz.sh: $t found a crash: see fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit $status
