#!/usr/bin/env bash
# The healthcare flow of HEALTHCARE_FLOW.md as a chain of etl commands:
# ingest | clean | transform, with the cleaned city table as a side input.
#
# Usage: scripts/healthcare-pipes.sh [DATA_DIR] [OUT_DIR]
#   DATA_DIR holds USA_Presc_Medicare_Data_2021.csv and us_cities_dimension.parquet
#   (default: the bundled sample in fixtures/healthcare); ETL=path/to/etl to choose the binary.
set -euo pipefail

ETL=${ETL:-etl}
DATA=${1:-fixtures/healthcare}
OUT=${2:-out/pipes}
mkdir -p "$OUT"

# City dimension: upper-case names, keep what the reports need.
"$ETL" ingest "$DATA/us_cities_dimension.parquet" --select city,state_id,state_name,county_name,population,zips \
  | "$ETL" clean --upper city,state_name,county_name \
                 -o "$OUT/city.parquet" --force

# Prescriber fact: select and rename, derive, drop incomplete rows, impute claims.
# Selecting at ingest keeps the unused columns out of the pipe.
"$ETL" ingest "$DATA/USA_Presc_Medicare_Data_2021.csv" \
      --select npi,nppes_provider_last_org_name,nppes_provider_first_name,nppes_provider_city,nppes_provider_state,specialty_description,years_of_exp,drug_name,total_claim_count,total_day_supply,total_drug_cost \
  | "$ETL" clean \
      --rename npi=presc_id,nppes_provider_last_org_name=presc_lname,nppes_provider_first_name=presc_fname,nppes_provider_city=presc_city,nppes_provider_state=presc_state,specialty_description=presc_spclt,total_claim_count=trx_cnt \
      --constant country_name=USA \
      --extract years_of_exp '\d+' int \
      --concat presc_fullname ' ' presc_fname presc_lname \
      --drop presc_fname,presc_lname \
      --drop-nulls presc_id,drug_name \
      --op 'fill-null = { column = "trx_cnt", with = "mean", by = ["presc_id"], round = "half-away-from-zero", type = "int" }' \
      -o "$OUT/presc.parquet" --force

# City report: prescribers and claims per city, joined to the city table.
"$ETL" ingest "$OUT/presc.parquet" \
  | "$ETL" transform \
      --op 'group-by = { by = ["presc_state", "presc_city"], aggs = { presc_counts = "count_distinct(presc_id)", trx_counts = "sum(trx_cnt)" } }' \
      --op "join = { table = \"$OUT/city.parquet\", left-on = [\"presc_state\", \"presc_city\"], right-on = [\"state_id\", \"city\"] }" \
  | "$ETL" clean \
      --derive "zip_counts=array_length(string_to_array(zips, ' '))" \
      --select city,state_name,county_name,population,zip_counts,trx_counts,presc_counts \
      -o "$OUT/city_report.csv" --force

# Top prescribers: 5 per state by claims (ties kept), 20 to 50 years of experience.
"$ETL" ingest "$OUT/presc.parquet" \
  | "$ETL" clean --filter 'years_of_exp between 20 and 50' \
  | "$ETL" transform \
      --op 'top-n = { n = 5, partition-by = ["presc_state"], order-by = ["trx_cnt desc"] }' \
      --op 'select = ["presc_id", "presc_fullname", "presc_state", "country_name", "years_of_exp", "trx_cnt", "total_day_supply", "total_drug_cost"]' \
      -o "$OUT/top_prescribers.csv" --force
