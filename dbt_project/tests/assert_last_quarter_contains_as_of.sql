{{ config(meta={'dagster': {'ref': {'name': 'int_fiscal_quarters'}}}) }}
-- The reported quarters end with the one that holds as-of. A quarter range that stops short
-- (a date typo stretching history past the generator's 1,000 quarters) fails here.
select count(*) as quarters, min(quarter_start) as first_quarter, max(quarter_end) as last_quarter
from {{ ref('int_fiscal_quarters') }}
having count(*) > 0
   and sum(case when {{ as_of_date() }} between quarter_start and quarter_end then 1 else 0 end) <> 1
