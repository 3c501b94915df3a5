-- Pre-processing of the prescriber fact (HEALTHCARE_FLOW.md, "Fact"), in SQL.
-- etl's regexp functions must be called in the outermost SELECT.
select
  presc_id, presc_city, presc_state, presc_spclt,
  cast(regexp_extract(years_of_exp, '\d+', 0) as bigint) as years_of_exp,
  drug_name,
  cast(coalesce(trx_cnt, round(avg(trx_cnt) over (partition by presc_id))) as bigint) as trx_cnt,
  total_day_supply, total_drug_cost, country_name, presc_fullname
from (
  select
    npi as presc_id,
    nppes_provider_city as presc_city,
    nppes_provider_state as presc_state,
    specialty_description as presc_spclt,
    years_of_exp,
    drug_name,
    total_claim_count as trx_cnt,
    total_day_supply,
    total_drug_cost,
    'USA' as country_name,
    concat_ws(' ', nppes_provider_first_name, nppes_provider_last_org_name) as presc_fullname
  from input
  where npi is not null and drug_name is not null
)
