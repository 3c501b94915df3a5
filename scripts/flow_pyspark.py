#!/usr/bin/env python3
"""The healthcare flow (HEALTHCARE_FLOW.md) in PySpark local mode, as a benchmark peer.

    python3 scripts/flow_pyspark.py [--bronze] DATA_DIR OUT_DIR   (--bronze: write the raw CSV as Parquet first, read the fact from it)
Writes city.parquet and presc.parquet (Spark folders of part files) and
city_report.csv and top_prescribers.csv (single CSV files with a header).
Runs local[2] with 4g of driver memory, no UI, bound to 127.0.0.1. The process
waits for the Spark JVM to exit, so /usr/bin/time -v counts JVM + Python.
"""
import glob
import os
import shutil
import sys

os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
from pyspark.sql import SparkSession  # noqa: E402

bronze = sys.argv[1] == "--bronze"
data, out = os.path.abspath(sys.argv[1 + bronze]), os.path.abspath(sys.argv[2 + bronze])
os.makedirs(out, exist_ok=True)

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

# The types DuckDB's read_csv infers for this file, given up front so Spark does
# not scan the CSV twice (inferSchema); "" escapes quotes as in RFC 4180.
FACT_SCHEMA = """npi BIGINT, nppes_provider_last_org_name STRING, nppes_provider_first_name STRING,
nppes_provider_city STRING, nppes_provider_state STRING, specialty_description STRING,
description_flag STRING, drug_name STRING, generic_name STRING, bene_count BIGINT,
total_claim_count BIGINT, total_30_day_fill_count BIGINT, total_day_supply BIGINT,
total_drug_cost DOUBLE, bene_count_ge65 BIGINT, bene_count_ge65_suppress_flag STRING,
total_claim_count_ge65 BIGINT, ge65_suppress_flag STRING, total_30_day_fill_count_ge65 BIGINT,
total_day_supply_ge65 BIGINT, total_drug_cost_ge65 DOUBLE, years_of_exp STRING"""
fact = (spark.read.schema(FACT_SCHEMA)
        .options(header=True, quote='"', escape='"', mode="FAILFAST", enforceSchema=False)
        .csv(f"{data}/USA_Presc_Medicare_Data_2021.csv"))
if bronze:  # the raw rows as Parquet first, then the flow reads them back
    fact.write.mode("overwrite").parquet(f"{out}/bronze_presc")
    fact = spark.read.parquet(f"{out}/bronze_presc")
fact.createOrReplaceTempView("fact")
spark.read.parquet(f"{data}/us_cities_dimension.parquet").createOrReplaceTempView("cities")

spark.sql("""
SELECT upper(city) AS city, state_id, upper(state_name) AS state_name,
       upper(county_name) AS county_name, population, zips
FROM cities""").write.mode("overwrite").parquet(f"{out}/city.parquet")

# years_of_exp: the first digit run as an integer (NULL when there is none, as
# regexp_extract gives '' then). round() on a double is HALF_UP in Spark, i.e.
# halves away from zero, like DuckDB's round.
spark.sql("""
SELECT presc_id, presc_city, presc_state, presc_spclt, years_of_exp, drug_name,
       CAST(coalesce(trx_cnt, round(avg(trx_cnt) OVER (PARTITION BY presc_id))) AS BIGINT) AS trx_cnt,
       total_day_supply, total_drug_cost, country_name, presc_fullname
FROM (
  SELECT npi AS presc_id, nppes_provider_city AS presc_city, nppes_provider_state AS presc_state,
         specialty_description AS presc_spclt,
         CAST(nullif(regexp_extract(years_of_exp, '[0-9]+', 0), '') AS BIGINT) AS years_of_exp,
         drug_name, total_claim_count AS trx_cnt, total_day_supply, total_drug_cost,
         'USA' AS country_name,
         concat_ws(' ', nppes_provider_first_name, nppes_provider_last_org_name) AS presc_fullname
  FROM fact
  WHERE npi IS NOT NULL AND drug_name IS NOT NULL)
""").write.mode("overwrite").parquet(f"{out}/presc.parquet")

spark.read.parquet(f"{out}/presc.parquet").createOrReplaceTempView("presc")
spark.read.parquet(f"{out}/city.parquet").createOrReplaceTempView("city")


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


write_csv(spark.sql("""
SELECT c.city, c.state_name, c.county_name, c.population,
       size(split(c.zips, ' ')) AS zip_counts, f.trx_counts, f.presc_counts
FROM (SELECT presc_state, presc_city, count(DISTINCT presc_id) AS presc_counts, sum(trx_cnt) AS trx_counts
      FROM presc GROUP BY presc_state, presc_city) f
JOIN city c ON c.state_id = f.presc_state AND c.city = f.presc_city
"""), f"{out}/city_report.csv")
write_csv(spark.sql("""
SELECT presc_id, presc_fullname, presc_state, country_name, years_of_exp, trx_cnt, total_day_supply, total_drug_cost
FROM (SELECT *, dense_rank() OVER (PARTITION BY presc_state ORDER BY trx_cnt DESC) AS r
      FROM presc WHERE years_of_exp BETWEEN 20 AND 50)
WHERE r <= 5
"""), f"{out}/top_prescribers.csv")

# Stop Spark and wait for the JVM to exit, so that it is reaped by this process
# and its peak RSS shows up in /usr/bin/time's numbers for this command.
gateway = spark.sparkContext._gateway
spark.stop()
gateway.proc.stdin.close()  # the gateway JVM exits on EOF on its stdin
gateway.proc.wait(timeout=120)
shutil.rmtree(os.path.join(out, ".spark-warehouse"), ignore_errors=True)
