#!/usr/bin/env python3
"""The healthcare flow (HEALTHCARE_FLOW.md) in PySpark, as a benchmark peer.

    python3 scripts/flow_pyspark.py [--bronze] DATA_DIR OUT_DIR
        local mode (scripts/bench_flow.py): --bronze writes the raw CSV as
        Parquet first and reads the fact from it. Writes city.parquet and
        presc.parquet (Spark folders of part files) and city_report.csv and
        top_prescribers.csv (single CSV files with a header). Runs local[2]
        with 4g of driver memory, no UI, bound to 127.0.0.1; the process waits
        for the Spark JVM to exit, so /usr/bin/time -v counts JVM + Python.

    python3 scripts/flow_pyspark.py --remote sc://HOST:PORT [--run-date D] DATA_DIR OUT_DIR
        pipelines/healthcare.toml's stages and outputs, written by hand, on a
        Spark Connect server (scripts/bench_spark.py): OUT_DIR is the
        pipeline's root (ETL_HOME): bronze/, silver/ and gold/ datasets written
        by Spark; the gold tables pulled back as Arrow into the warehouse
        folder and SQLite, the JSON/bz2 and ORC extracts, three delivery copies.
"""
import argparse
import bz2
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import sys

os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
from pyspark.sql import SparkSession  # noqa: E402

# The types etl (and DuckDB's read_csv) infers for this file, given up front so
# Spark does not scan the CSV twice (inferSchema); "" escapes quotes as in RFC 4180.
FACT_SCHEMA = """npi BIGINT, nppes_provider_last_org_name STRING, nppes_provider_first_name STRING,
nppes_provider_city STRING, nppes_provider_state STRING, specialty_description STRING,
description_flag STRING, drug_name STRING, generic_name STRING, bene_count BIGINT,
total_claim_count BIGINT, total_30_day_fill_count BIGINT, total_day_supply BIGINT,
total_drug_cost DOUBLE, bene_count_ge65 BIGINT, bene_count_ge65_suppress_flag STRING,
total_claim_count_ge65 BIGINT, ge65_suppress_flag STRING, total_30_day_fill_count_ge65 BIGINT,
total_day_supply_ge65 BIGINT, total_drug_cost_ge65 DOUBLE, years_of_exp STRING"""

CLEAN_CITY = """
SELECT upper(city) AS city, state_id, upper(state_name) AS state_name,
       upper(county_name) AS county_name, population, zips
FROM cities"""

# years_of_exp: the first digit run as an integer (NULL when there is none, as
# regexp_extract gives '' then). round() on a double is HALF_UP in Spark, i.e.
# halves away from zero, like DuckDB's round.
CLEAN_PRESC = """
SELECT presc_id, presc_city, presc_state, presc_spclt, years_of_exp, drug_name,
       CAST(coalesce(trx_cnt, round(avg(trx_cnt) OVER (PARTITION BY presc_id))) AS BIGINT) AS trx_cnt,
       total_day_supply, total_drug_cost, country_name, presc_fullname
FROM (
  SELECT npi AS presc_id, nppes_provider_city AS presc_city, nppes_provider_state AS presc_state,
         specialty_description AS presc_spclt,
         CAST(nullif(regexp_extract(years_of_exp, '[0-9]+', 0), '') AS BIGINT) AS years_of_exp,
         drug_name, total_claim_count AS trx_cnt, total_day_supply, total_drug_cost,
         'USA' AS country_name,
         CASE WHEN nppes_provider_first_name IS NOT NULL OR nppes_provider_last_org_name IS NOT NULL
              THEN concat_ws(' ', nppes_provider_first_name, nppes_provider_last_org_name) END AS presc_fullname
  FROM fact
  WHERE npi IS NOT NULL AND drug_name IS NOT NULL)
"""

CITY_REPORT = """
SELECT c.city, c.state_name, c.county_name, c.population,
       CAST(size(split(c.zips, ' ')) AS BIGINT) AS zip_counts, f.trx_counts, f.presc_counts
FROM (SELECT presc_state, presc_city, count(DISTINCT presc_id) AS presc_counts, sum(trx_cnt) AS trx_counts
      FROM presc GROUP BY presc_state, presc_city) f
JOIN city c ON c.state_id = f.presc_state AND c.city = f.presc_city
"""

TOP_PRESCRIBERS = """
SELECT presc_id, presc_fullname, presc_state, country_name, years_of_exp, trx_cnt, total_day_supply, total_drug_cost
FROM (SELECT *, dense_rank() OVER (PARTITION BY presc_state ORDER BY trx_cnt DESC) AS r
      FROM presc WHERE years_of_exp BETWEEN 20 AND 50)
WHERE r <= 5
"""


def read_fact(spark, data):
    return (spark.read.schema(FACT_SCHEMA)
            .options(header=True, quote='"', escape='"', mode="FAILFAST", enforceSchema=False)
            .csv(f"{data}/USA_Presc_Medicare_Data_2021.csv"))


def write_csv(df, path):
    """Write df as one CSV file with a header at exactly `path`."""
    tmp = f"{path}.spark-tmp"
    (df.coalesce(1).write.mode("overwrite")
     .options(header=True, quote='"', escape='"', ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False)
     .csv(tmp))
    parts = glob.glob(f"{tmp}/part-*.csv")
    if len(parts) != 1:
        sys.exit(f"expected one CSV part file in {tmp}, found {len(parts)}")
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.replace(parts[0], path)
    shutil.rmtree(tmp)


def local_flow(bronze, data, out):
    spark = (
        SparkSession.builder.master("local[2]").appName("healthcare-flow")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.warehouse.dir", os.path.join(out, ".spark-warehouse"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    fact = read_fact(spark, data)
    if bronze:  # the raw rows as Parquet first, then the flow reads them back
        fact.write.mode("overwrite").parquet(f"{out}/bronze_presc")
        fact = spark.read.parquet(f"{out}/bronze_presc")
    fact.createOrReplaceTempView("fact")
    spark.read.parquet(f"{data}/us_cities_dimension.parquet").createOrReplaceTempView("cities")
    spark.sql(CLEAN_CITY).write.mode("overwrite").parquet(f"{out}/city.parquet")
    spark.sql(CLEAN_PRESC).write.mode("overwrite").parquet(f"{out}/presc.parquet")
    spark.read.parquet(f"{out}/presc.parquet").createOrReplaceTempView("presc")
    spark.read.parquet(f"{out}/city.parquet").createOrReplaceTempView("city")
    write_csv(spark.sql(CITY_REPORT), f"{out}/city_report.csv")
    write_csv(spark.sql(TOP_PRESCRIBERS), f"{out}/top_prescribers.csv")
    # Stop Spark and wait for the JVM to exit, so that it is reaped by this process
    # and its peak RSS shows up in /usr/bin/time's numbers for this command.
    gateway = spark.sparkContext._gateway
    spark.stop()
    gateway.proc.stdin.close()  # the gateway JVM exits on EOF on its stdin
    gateway.proc.wait(timeout=120)
    shutil.rmtree(os.path.join(out, ".spark-warehouse"), ignore_errors=True)


def pipeline_flow(remote, run_date, data, out):
    """pipelines/healthcare.toml's stages on a Spark Connect server."""
    import pyarrow.orc as orc
    import pyarrow.parquet as pq

    spark = SparkSession.builder.remote(remote).getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")

    def dataset(layer, name):
        return f"{out}/{layer}/{name}.parquet"

    def stage(df, layer, name):
        """Spark writes the dataset; the next stages read it back as a view."""
        df.write.mode("overwrite").parquet(dataset(layer, name))
        spark.read.parquet(dataset(layer, name)).createOrReplaceTempView(name)

    # ingest (bronze)
    stage(spark.read.parquet(f"{data}/us_cities_dimension.parquet"), "bronze", "cities")
    stage(read_fact(spark, data), "bronze", "fact")
    # clean (silver)
    stage(spark.sql(CLEAN_CITY), "silver", "city")
    stage(spark.sql(CLEAN_PRESC), "silver", "presc")
    # transform (gold)
    stage(spark.sql(CITY_REPORT), "gold", "city_report")
    stage(spark.sql(TOP_PRESCRIBERS), "gold", "top_prescribers")
    for report, final in (("city_report", "df_city_final"), ("top_prescribers", "df_presc_final")):
        stage(spark.sql(f"SELECT *, DATE'{run_date}' AS delivery_date FROM {report}"), "gold", final)

    # persist: the final tables back as Arrow, into the warehouse folder and SQLite
    db = sqlite3.connect(f"{out}/healthcare.db")
    for final in ("df_city_final", "df_presc_final"):
        table = spark.read.parquet(dataset("gold", final)).toArrow()
        part = f"{out}/warehouse/prescpipeline/{final}/delivery_date={run_date}"
        shutil.rmtree(part, ignore_errors=True)
        os.makedirs(part)
        pq.write_table(table.drop_columns(["delivery_date"]), f"{part}/part-00000.parquet")
        cols = table.column_names
        db.execute(f'CREATE TABLE IF NOT EXISTS "{final}" ({", ".join(f"{c!r}" for c in cols)})')
        db.execute(f'DELETE FROM "{final}" WHERE delivery_date = ?', (run_date,))
        rows = [tuple(str(v) if k == "delivery_date" else v for k, v in r.items()) for r in table.to_pylist()]
        db.executemany(f'INSERT INTO "{final}" VALUES ({", ".join("?" * len(cols))})', rows)
        db.commit()
    db.close()

    # extract: the reports back as Arrow, as JSON lines (bz2) and ORC (snappy, two files)
    delivery = f"{out}/gold/delivery/{run_date}"
    os.makedirs(f"{delivery}/presc_report", exist_ok=True)
    city = spark.read.parquet(dataset("gold", "city_report")).toArrow()
    with bz2.open(f"{delivery}/city_report.json.bz2", "wt") as f:
        for r in city.to_pylist():
            f.write(json.dumps(r) + "\n")
    presc = spark.read.parquet(dataset("gold", "top_prescribers")).toArrow()
    half = (presc.num_rows + 1) // 2
    for i, part in enumerate((presc.slice(0, half), presc.slice(half))):
        orc.write_table(part, f"{delivery}/presc_report/part-{i:05d}.orc", compression="snappy")

    # transfer: three delivery copies, the last one checksummed
    for target in ("s3", "azure", "sftp"):
        to = f"{out}/delivery/{target}/healthcare/{run_date}"
        shutil.rmtree(to, ignore_errors=True)
        shutil.copytree(delivery, to)
    for dirpath, _, files in os.walk(to):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                hashlib.sha256(f.read()).hexdigest()
    spark.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bronze", action="store_true", help="local mode: write the raw CSV as Parquet first")
    ap.add_argument("--remote", help="a Spark Connect server: run the pipeline's stages there")
    ap.add_argument("--run-date", default="2026-01-01", help="with --remote: the delivery date")
    ap.add_argument("data")
    ap.add_argument("out")
    args = ap.parse_args()
    data, out = os.path.abspath(args.data), os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    if args.remote:
        pipeline_flow(args.remote, args.run_date, data, out)
    else:
        local_flow(args.bronze, data, out)


if __name__ == "__main__":
    main()
