-- Pre-processing of the city dimension (HEALTHCARE_FLOW.md, "City"), in SQL.
select upper(city) as city, state_id, upper(state_name) as state_name,
       upper(county_name) as county_name, population, zips
from input
