#!/usr/bin/env bash
# The healthcare flow with etl and the SQL files in pipelines/sql (each step
# in one process; files between steps). For benchmarks and as an example.
# Usage: scripts/flow_etl_sql.sh DATA_DIR OUT_DIR   (ETL=path/to/etl)
set -euo pipefail
ETL=${ETL:-etl}; DATA=$1; OUT=$2; SQL=$(dirname "$0")/../pipelines/sql
mkdir -p "$OUT"
"$ETL" transform "$DATA/us_cities_dimension.parquet" --sql "@$SQL/clean_city.sql" -o "$OUT/city.parquet" --force -q
"$ETL" transform "$DATA/USA_Presc_Medicare_Data_2021.csv" --sql "@$SQL/clean_presc.sql" -o "$OUT/presc.parquet" --force -q
"$ETL" transform "$OUT/presc.parquet" --sql "@$SQL/city_report.sql" --with "city=$OUT/city.parquet" -o "$OUT/city_report.csv" --force -q
"$ETL" transform "$OUT/presc.parquet" --sql "@$SQL/top_prescribers.sql" -o "$OUT/top_prescribers.csv" --force -q
