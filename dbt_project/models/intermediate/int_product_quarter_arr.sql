{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- Each customer's products in each quarter, both snapshots in constant currency: start =
-- the previous quarter's snapshot, end = this quarter's, both converted at the rate of this
-- quarter's snapshot. Carries the motion attribution of metrics.md, per product:
--   cross_sell_arr     product not held at start: its end ARR
--   product_churn_arr  product held at start, not at end: minus its start ARR
--   usage_arr          held at both: change in usage ARR
--   seat_arr           held at both: (quantity_end - quantity_start) x unit ARR at start
--   tier_arr/price_arr the rest of the recurring change: tier when the set of plans changed,
--                      price when it did not (list price change, discount ending)
-- so that the motions of a product add up exactly to its end - start.
with amounts as (
    select * from {{ ref('int_product_snapshot_amounts') }}
),

last_quarter as (
    select max(quarter_index) as quarter_index from {{ ref('int_fiscal_quarters') }}
),

sides as (
    select customer_id, product, currency, snapshot_index as quarter_index, 1 as is_end,
           recurring_arr_local, usage_arr_local, quantity
    from amounts

    union all

    select amounts.customer_id, amounts.product, amounts.currency,
           amounts.snapshot_index + 1 as quarter_index, 0 as is_end,
           amounts.recurring_arr_local, amounts.usage_arr_local, amounts.quantity
    from amounts
    cross join last_quarter
    where amounts.snapshot_index < last_quarter.quarter_index
),

converted as (
    select
        sides.customer_id,
        sides.product,
        sides.quarter_index,
        sides.is_end,
        sides.quantity,
        {{ to_reporting_currency('sides.recurring_arr_local', 'rates.rate') }} as recurring_arr,
        {{ to_reporting_currency('sides.usage_arr_local', 'rates.rate') }} as usage_arr
    from sides
    inner join {{ ref('int_fx_rates_at_snapshots') }} as rates
        on rates.quarter_index = sides.quarter_index and rates.currency = sides.currency
),

product_quarters as (
    select
        customer_id,
        product,
        quarter_index,
        max(case when is_end = 0 then 1 else 0 end) as held_at_start,
        max(case when is_end = 1 then 1 else 0 end) as held_at_end,
        cast(sum(case when is_end = 0 then recurring_arr else 0 end) as {{ money_type() }}) as start_recurring_arr,
        cast(sum(case when is_end = 1 then recurring_arr else 0 end) as {{ money_type() }}) as end_recurring_arr,
        cast(sum(case when is_end = 0 then usage_arr else 0 end) as {{ money_type() }}) as start_usage_arr,
        cast(sum(case when is_end = 1 then usage_arr else 0 end) as {{ money_type() }}) as end_usage_arr,
        cast(sum(case when is_end = 0 then quantity else 0 end) as decimal(18, 4)) as start_quantity,
        cast(sum(case when is_end = 1 then quantity else 0 end) as decimal(18, 4)) as end_quantity
    from converted
    group by customer_id, product, quarter_index
),

plans as (
    select * from {{ ref('int_product_snapshot_plans') }}
),

plan_changes as (
    select
        coalesce(start_plans.customer_id, end_plans.customer_id) as customer_id,
        coalesce(start_plans.product, end_plans.product) as product,
        coalesce(start_plans.quarter_index, end_plans.quarter_index) as quarter_index,
        max(case when start_plans.plan is null or end_plans.plan is null then 1 else 0 end) as plan_changed
    from (select customer_id, product, plan, snapshot_index + 1 as quarter_index from plans) as start_plans
    full outer join (select customer_id, product, plan, snapshot_index as quarter_index from plans) as end_plans
        on start_plans.customer_id = end_plans.customer_id
        and start_plans.product = end_plans.product
        and start_plans.plan = end_plans.plan
        and start_plans.quarter_index = end_plans.quarter_index
    group by 1, 2, 3
),

attributed as (
    select
        product_quarters.*,
        coalesce(plan_changes.plan_changed, 0) as plan_changed,
        cast(start_recurring_arr + start_usage_arr as {{ money_type() }}) as start_arr,
        cast(end_recurring_arr + end_usage_arr as {{ money_type() }}) as end_arr,
        case
            when held_at_start = 1 and held_at_end = 1 and start_quantity > 0 and end_quantity > 0
            then {{ divide_exact('start_recurring_arr * (end_quantity - start_quantity)', 'start_quantity', 6, 4) }}
            else cast(0 as {{ money_type() }})
        end as seat_arr
    from product_quarters
    left join plan_changes
        on plan_changes.customer_id = product_quarters.customer_id
        and plan_changes.product = product_quarters.product
        and plan_changes.quarter_index = product_quarters.quarter_index
)

select
    customer_id,
    product,
    quarter_index,
    held_at_start,
    held_at_end,
    plan_changed,
    start_quantity,
    end_quantity,
    start_recurring_arr,
    end_recurring_arr,
    start_usage_arr,
    end_usage_arr,
    start_arr,
    end_arr,
    cast(case when held_at_start = 0 then end_arr else 0 end as {{ money_type() }}) as cross_sell_arr,
    cast(case when held_at_end = 0 then -start_arr else 0 end as {{ money_type() }}) as product_churn_arr,
    cast(seat_arr as {{ money_type() }}) as seat_arr,
    cast(case when held_at_start = 1 and held_at_end = 1 and plan_changed = 1
              then end_recurring_arr - start_recurring_arr - seat_arr else 0 end as {{ money_type() }}) as tier_arr,
    cast(case when held_at_start = 1 and held_at_end = 1 and plan_changed = 0
              then end_recurring_arr - start_recurring_arr - seat_arr else 0 end as {{ money_type() }}) as price_arr,
    cast(case when held_at_start = 1 and held_at_end = 1
              then end_usage_arr - start_usage_arr else 0 end as {{ money_type() }}) as usage_arr
from attributed
