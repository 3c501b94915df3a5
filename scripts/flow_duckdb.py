#!/usr/bin/env python3
"""The healthcare flow (HEALTHCARE_FLOW.md) in DuckDB, as a benchmark peer.

    python3 scripts/flow_duckdb.py [--bronze] DATA_DIR OUT_DIR
Writes city.parquet, presc.parquet, city_report.csv, top_prescribers.csv
(--bronze: first the raw CSV as bronze_presc.parquet, and reads the fact from it).
"""
import sys
import duckdb

bronze = sys.argv[1] == "--bronze"
data, out = sys.argv[1 + bronze], sys.argv[2 + bronze]
con = duckdb.connect()
fact = f"read_csv('{data}/USA_Presc_Medicare_Data_2021.csv', header = true)"
if bronze:
    con.sql(f"COPY (SELECT * FROM {fact}) TO '{out}/bronze_presc.parquet' (FORMAT parquet)")
    fact = f"'{out}/bronze_presc.parquet'"
con.sql(f"""
COPY (SELECT upper(city) AS city, state_id, upper(state_name) AS state_name,
             upper(county_name) AS county_name, population, zips
      FROM '{data}/us_cities_dimension.parquet') TO '{out}/city.parquet' (FORMAT parquet)""")
con.sql(f"""
COPY (
  SELECT presc_id, presc_city, presc_state, presc_spclt, years_of_exp, drug_name,
         CAST(coalesce(trx_cnt, round(avg(trx_cnt) OVER (PARTITION BY presc_id))) AS BIGINT) AS trx_cnt,
         total_day_supply, total_drug_cost, country_name, presc_fullname
  FROM (
    SELECT npi AS presc_id, nppes_provider_city AS presc_city, nppes_provider_state AS presc_state,
           specialty_description AS presc_spclt,
           CAST(regexp_extract(years_of_exp, '[0-9]+', 0) AS BIGINT) AS years_of_exp,
           drug_name, total_claim_count AS trx_cnt, total_day_supply, total_drug_cost,
           'USA' AS country_name,
           concat_ws(' ', nppes_provider_first_name, nppes_provider_last_org_name) AS presc_fullname
    FROM {fact}
    WHERE npi IS NOT NULL AND drug_name IS NOT NULL)
) TO '{out}/presc.parquet' (FORMAT parquet)""")
con.sql(f"""
COPY (
  SELECT c.city, c.state_name, c.county_name, c.population,
         len(string_split(c.zips, ' ')) AS zip_counts, f.trx_counts, f.presc_counts
  FROM (SELECT presc_state, presc_city, count(DISTINCT presc_id) AS presc_counts, sum(trx_cnt) AS trx_counts
        FROM '{out}/presc.parquet' GROUP BY ALL) f
  JOIN '{out}/city.parquet' c ON c.state_id = f.presc_state AND c.city = f.presc_city
) TO '{out}/city_report.csv' (HEADER)""")
con.sql(f"""
COPY (
  SELECT presc_id, presc_fullname, presc_state, country_name, years_of_exp, trx_cnt, total_day_supply, total_drug_cost
  FROM (SELECT *, dense_rank() OVER (PARTITION BY presc_state ORDER BY trx_cnt DESC) AS r
        FROM '{out}/presc.parquet' WHERE years_of_exp BETWEEN 20 AND 50)
  WHERE r <= 5
) TO '{out}/top_prescribers.csv' (HEADER)""")
