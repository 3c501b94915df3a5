#!/usr/bin/env python3
"""The healthcare flow (HEALTHCARE_FLOW.md) in polars-python (lazy, streaming), as a benchmark peer.

    python3 scripts/flow_polars.py [--bronze] DATA_DIR OUT_DIR
Writes city.parquet, presc.parquet, city_report.csv, top_prescribers.csv
(--bronze: first the raw CSV as bronze_presc.parquet, and reads the fact from it).
"""
import sys
import polars as pl

bronze = sys.argv[1] == "--bronze"
data, out = sys.argv[1 + bronze], sys.argv[2 + bronze]
fact = pl.scan_csv(f"{data}/USA_Presc_Medicare_Data_2021.csv", infer_schema_length=10000)
if bronze:
    fact.sink_parquet(f"{out}/bronze_presc.parquet")
    fact = pl.scan_parquet(f"{out}/bronze_presc.parquet")
city = pl.scan_parquet(f"{data}/us_cities_dimension.parquet").select(
    pl.col("city").str.to_uppercase(), "state_id", pl.col("state_name").str.to_uppercase(),
    pl.col("county_name").str.to_uppercase(), "population", "zips")
city.sink_parquet(f"{out}/city.parquet")

presc = (
    fact
    .select(
        pl.col("npi").alias("presc_id"), pl.col("nppes_provider_last_org_name").alias("presc_lname"),
        pl.col("nppes_provider_first_name").alias("presc_fname"), pl.col("nppes_provider_city").alias("presc_city"),
        pl.col("nppes_provider_state").alias("presc_state"), pl.col("specialty_description").alias("presc_spclt"),
        "years_of_exp", "drug_name", pl.col("total_claim_count").alias("trx_cnt"), "total_day_supply", "total_drug_cost")
    .with_columns(
        pl.lit("USA").alias("country_name"),
        pl.col("years_of_exp").str.extract(r"([0-9]+)", 1).cast(pl.Int64),
        pl.concat_str(["presc_fname", "presc_lname"], separator=" ", ignore_nulls=True).alias("presc_fullname"))
    .drop("presc_fname", "presc_lname")
    .filter(pl.col("presc_id").is_not_null() & pl.col("drug_name").is_not_null())
    .with_columns(pl.col("trx_cnt").fill_null(
        pl.col("trx_cnt").mean().over("presc_id").round(0, mode="half_away_from_zero")).cast(pl.Int64))
)
presc.sink_parquet(f"{out}/presc.parquet")

presc = pl.scan_parquet(f"{out}/presc.parquet")
city = pl.scan_parquet(f"{out}/city.parquet")
report = (
    presc.group_by("presc_state", "presc_city")
    .agg(pl.col("presc_id").drop_nulls().n_unique().alias("presc_counts"), pl.col("trx_cnt").sum().alias("trx_counts"))
    .join(city, left_on=["presc_state", "presc_city"], right_on=["state_id", "city"])
    .select(pl.col("presc_city").alias("city"), "state_name", "county_name", "population",
            pl.col("zips").str.split(" ").list.len().alias("zip_counts"), "trx_counts", "presc_counts")
)
report.sink_csv(f"{out}/city_report.csv")
top = (
    presc.filter(pl.col("years_of_exp").is_between(20, 50))
    .with_columns(pl.col("trx_cnt").rank("dense", descending=True).over("presc_state").alias("r"))
    .filter(pl.col("r") <= 5)
    .select("presc_id", "presc_fullname", "presc_state", "country_name", "years_of_exp", "trx_cnt",
            "total_day_supply", "total_drug_cost")
)
top.sink_csv(f"{out}/top_prescribers.csv")
