-- Top 5 prescribers per state by claims (ties kept), 20 to 50 years of experience.
select presc_id, presc_fullname, presc_state, country_name, years_of_exp, trx_cnt,
       total_day_supply, total_drug_cost
from (
  select *, dense_rank() over (partition by presc_state order by trx_cnt desc) as rnk
  from input
  where years_of_exp between 20 and 50
)
where rnk <= 5
