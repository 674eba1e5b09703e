{{ config(materialized='table') }}
-- The billing evidence of the account watchlist (docs/definitions.md, "Account watchlist"):
-- one row per customer with ARR at the latest snapshot, every figure in constant currency
-- (both snapshots of a quarter at its own rates, as the movements are). The signals
-- themselves (thresholds, counts, the sprint rank) are computed from this in the report
-- rpt_account_watchlist (pipeline/watchlist.py).
with quarters as (
    select * from {{ ref('int_fiscal_quarters') }}
),

latest as (
    select quarter_index, quarter_label, snapshot_date
    from quarters
    where quarter_index = (select max(quarter_index) from quarters)
),

products as (
    select * from {{ ref('int_product_quarter_arr') }}
),

movements as (
    select * from {{ ref('fct_arr_movements') }}
),

customers as (
    select
        movements.customer_id,
        latest.quarter_index,
        latest.quarter_label,
        latest.snapshot_date,
        movements.end_arr,
        movements.contraction_arr,
        movements.product_churn_arr
    from movements
    inner join latest on movements.quarter_label = latest.quarter_label
    where movements.end_arr > 0
),

-- The latest quarter (previous snapshot -> latest) and the one before it, per customer:
-- usage ARR at both ends, and seats of the recurring products held at both ends.
quarter_pairs as (
    select
        products.customer_id,
        products.quarter_index,
        cast(sum(products.start_usage_arr) as {{ money_type() }}) as usage_arr_start,
        cast(sum(products.end_usage_arr) as {{ money_type() }}) as usage_arr_end,
        cast(sum(case when products.held_at_start = 1 and products.held_at_end = 1
                       and products.start_recurring_arr > 0 then products.start_quantity else 0 end)
            as decimal(18, 4)) as seats_start,
        cast(sum(case when products.held_at_start = 1 and products.held_at_end = 1
                       and products.start_recurring_arr > 0 then products.end_quantity else 0 end)
            as decimal(18, 4)) as seats_end,
        sum(case when products.end_arr > 0 then 1 else 0 end) as products_held
    from products
    inner join latest on products.quarter_index between latest.quarter_index - 1 and latest.quarter_index
    group by products.customer_id, products.quarter_index
),

rates as (
    select rates.currency, rates.rate
    from {{ ref('int_fx_rates_at_snapshots') }} as rates
    inner join latest on rates.quarter_index = latest.quarter_index
),

-- Recurring charges in force at the latest snapshot whose scheduled end (effective_end, the
-- first day no longer in force) falls within the horizon after it: known churn or
-- contraction ahead, at the latest snapshot's rates.
ending as (
    select
        charges.customer_id,
        cast(sum({{ to_reporting_currency(divide_exact('charges.amount * 12', 'charges.billing_period_months', 10), 'rates.rate') }})
            as {{ money_type() }}) as arr_scheduled_to_end,
        min(charges.effective_end) as first_scheduled_end
    from ({{ arr_bearing_charges(ref('int_billing_charges')) }}) as charges
    cross join latest
    inner join rates on rates.currency = charges.currency
    where charges.charge_type = 'recurring'
        and charges.effective_start <= latest.snapshot_date
        and charges.effective_end > latest.snapshot_date
        and charges.effective_end <= cast({{ dbt.dateadd('day', signal_horizon_days(), 'latest.snapshot_date') }} as date)
    group by charges.customer_id
)

select
    cast(customers.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(dims.customer_name as {{ dbt.type_string() }}) as customer_name,
    {%- for dimension in slice_dimensions() %}
    cast(dims.{{ dimension }} as {{ dbt.type_string() }}) as {{ dimension }},
    {%- endfor %}
    cast(customers.quarter_label as {{ dbt.type_string() }}) as quarter_label,
    cast(customers.snapshot_date as date) as snapshot_date,
    cast(customers.end_arr as {{ money_type() }}) as end_arr,
    cast(coalesce(latest_pair.usage_arr_start, 0) as {{ money_type() }}) as usage_arr_previous,
    cast(coalesce(latest_pair.usage_arr_end, 0) as {{ money_type() }}) as usage_arr_latest,
    cast(coalesce(earlier_pair.seats_start, 0) as decimal(18, 4)) as seats_two_quarters_back,
    cast(coalesce(earlier_pair.seats_end, 0) as decimal(18, 4)) as seats_previous_quarter_end,
    cast(coalesce(latest_pair.seats_start, 0) as decimal(18, 4)) as seats_previous,
    cast(coalesce(latest_pair.seats_end, 0) as decimal(18, 4)) as seats_latest,
    cast(customers.contraction_arr as {{ money_type() }}) as contraction_arr_last_quarter,
    cast(customers.product_churn_arr as {{ money_type() }}) as product_churn_arr_last_quarter,
    cast(coalesce(ending.arr_scheduled_to_end, 0) as {{ money_type() }}) as arr_scheduled_to_end,
    cast(ending.first_scheduled_end as date) as first_scheduled_end,
    cast(coalesce(latest_pair.products_held, 0) as integer) as products_held
from customers
inner join {{ ref('dim_customers') }} as dims on dims.customer_id = customers.customer_id
left join quarter_pairs as latest_pair
    on latest_pair.customer_id = customers.customer_id
    and latest_pair.quarter_index = customers.quarter_index
left join quarter_pairs as earlier_pair
    on earlier_pair.customer_id = customers.customer_id
    and earlier_pair.quarter_index = customers.quarter_index - 1
left join ending on ending.customer_id = customers.customer_id
