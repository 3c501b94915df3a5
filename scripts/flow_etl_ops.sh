#!/usr/bin/env bash
# The healthcare flow with etl commands and the ops files in pipelines/ops
# (each step in one process; files between steps). For benchmarks and as an example.
# Usage: scripts/flow_etl_ops.sh DATA_DIR OUT_DIR   (ETL=path/to/etl)
set -euo pipefail
ETL=${ETL:-etl}; DATA=$1; OUT=$2; OPS=$(dirname "$0")/../pipelines/ops
mkdir -p "$OUT"
"$ETL" clean "$DATA/us_cities_dimension.parquet" --ops "$OPS/clean_city.toml" -o "$OUT/city.parquet" --force -q
"$ETL" clean "$DATA/USA_Presc_Medicare_Data_2021.csv" --ops "$OPS/clean_presc.toml" -o "$OUT/presc.parquet" --force -q
CITY="$OUT/city.parquet" "$ETL" transform "$OUT/presc.parquet" --ops "$OPS/city_report.toml" -o "$OUT/city_report.csv" --force -q
"$ETL" transform "$OUT/presc.parquet" --ops "$OPS/top_prescribers.toml" -o "$OUT/top_prescribers.csv" --force -q
