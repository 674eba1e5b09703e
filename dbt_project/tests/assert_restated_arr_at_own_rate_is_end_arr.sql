{{ config(meta={'dagster': {'ref': {'name': 'int_customer_restated_arr'}}}) }}
-- Restating a snapshot at its own quarter's rate must give that quarter's end ARR exactly.
select restated.customer_id, restated.snapshot_index
from {{ ref('int_customer_restated_arr') }} as restated
inner join {{ ref('int_customer_quarter_arr') }} as customer_quarters
    on customer_quarters.customer_id = restated.customer_id
    and customer_quarters.quarter_index = restated.snapshot_index
where restated.rate_index = restated.snapshot_index
  and restated.arr <> customer_quarters.end_arr
