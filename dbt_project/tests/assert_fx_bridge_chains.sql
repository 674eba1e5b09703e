{{ config(meta={'dagster': {'ref': {'name': 'fct_arr_bridge'}}}) }}
-- Quarter to quarter, per slice: last quarter's end ARR + this quarter's fx_arr = this
-- quarter's start ARR (a slice absent last quarter had no ARR then).
with bridge as (
    select quarter_index, bridge.*
    from {{ ref('fct_arr_bridge') }} as bridge
    inner join {{ ref('int_fiscal_quarters') }} as quarters
        on quarters.quarter_label = bridge.quarter_label
)

select current_quarter.quarter_label, current_quarter.dimension, current_quarter.dimension_value
from bridge as current_quarter
left join bridge as previous_quarter
    on previous_quarter.quarter_index = current_quarter.quarter_index - 1
    and previous_quarter.dimension = current_quarter.dimension
    and previous_quarter.dimension_value = current_quarter.dimension_value
where coalesce(previous_quarter.end_arr, 0) + current_quarter.fx_arr <> current_quarter.start_arr
  and current_quarter.dimension = 'all'
