{{ config(materialized='table') }}
-- What the publish gate measures the quarantine against: the valid ARR at as-of, the sum of
-- the marts' end ARR at the as-of snapshot (the last quarter's snapshot is always as-of).
select cast(coalesce(sum(movements.end_arr), 0) as {{ money_type() }}) as valid_arr
from {{ ref('fct_arr_movements') }} as movements
where movements.snapshot_date = {{ as_of_date() }}
