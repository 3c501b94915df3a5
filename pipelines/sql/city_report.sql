-- Prescribers and claims per city, joined to the cleaned city table `city`.
select c.city, c.state_name, c.county_name, c.population,
       size(split(c.zips, ' ')) as zip_counts, f.trx_counts, f.presc_counts
from (
  select presc_state, presc_city,
         count(distinct presc_id) as presc_counts, sum(trx_cnt) as trx_counts
  from input
  group by presc_state, presc_city
) f
join city c on c.state_id = f.presc_state and c.city = f.presc_city
