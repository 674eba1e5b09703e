{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- Each customer's start and end ARR per quarter (constant currency, this quarter's rate),
-- the motion totals, and its end ARR at the previous quarter's own rate (for fx_arr).
with customer_quarters as (
    select
        customer_id,
        quarter_index,
        cast(sum(start_arr) as {{ money_type() }}) as start_arr,
        cast(sum(end_arr) as {{ money_type() }}) as end_arr,
        cast(sum(cross_sell_arr) as {{ money_type() }}) as cross_sell_arr,
        cast(sum(product_churn_arr) as {{ money_type() }}) as product_churn_arr,
        cast(sum(seat_arr) as {{ money_type() }}) as seat_arr,
        cast(sum(tier_arr) as {{ money_type() }}) as tier_arr,
        cast(sum(price_arr) as {{ money_type() }}) as price_arr,
        cast(sum(usage_arr) as {{ money_type() }}) as usage_arr
    from {{ ref('int_product_quarter_arr') }}
    group by customer_id, quarter_index
)

select
    current_quarter.*,
    cast(coalesce(previous_quarter.end_arr, 0) as {{ money_type() }}) as previous_end_arr
from customer_quarters as current_quarter
left join customer_quarters as previous_quarter
    on previous_quarter.customer_id = current_quarter.customer_id
    and previous_quarter.quarter_index = current_quarter.quarter_index - 1
