{#-
  The bodies of the per-period models, each written once with the grain as a parameter
  (macros/periods.sql): each quarterly model is a one-line call with 'quarter', its monthly
  twin the same call with 'month'. Compiled for 'quarter', each gives the SQL the quarterly
  model had before the monthly grain existed.
-#}

{#-
  The set of plans of each customer's product at each snapshot, from its non-negative
  recurring lines (a discount line's plan is not a plan the customer is on).
-#}
{#- Each customer's recurring and usage ARR per product at each snapshot of the grain's spine,
    in the charge currency (macros/arr.sql, product_snapshot_amounts): the charges the marts
    value. -#}
{% macro snapshot_amounts(grain='quarter') -%}
with charges as (
    {{ arr_bearing_charges(ref('int_billing_charges')) }}
)

{{ product_snapshot_amounts('charges', period_ref('spine', grain), grain) }}
{%- endmacro %}

{% macro product_snapshot_plans(grain='quarter') -%}
{%- set g = period_grain(grain) -%}
select distinct
    accounts.customer_id,
    charges.product,
    charges.plan,
    quarters.{{ g['index'] }} as snapshot_index
from {{ ref('int_billing_charges') }} as charges
inner join {{ ref('int_customer_accounts') }} as accounts
    on accounts.account_id = charges.account_id
inner join {{ period_ref('spine', grain) }} as quarters
    on charges.effective_start <= quarters.snapshot_date
    and (charges.effective_end is null or quarters.snapshot_date < charges.effective_end)
where charges.charge_type = 'recurring' and charges.amount >= 0
{%- endmacro %}

{#-
  Each customer's products in each period (quarter or month), both snapshots in constant
  currency: start = the previous period's snapshot, end = this period's, both converted at
  the rate of this period's snapshot. Carries the motion attribution of metrics.md, per product:
    cross_sell_arr     product not held at start: its end ARR
    product_churn_arr  product held at start, not at end: minus its start ARR
    usage_arr          held at both: change in usage ARR
    seat_arr           held at both: (quantity_end - quantity_start) x unit ARR at start
    tier_arr/price_arr the rest of the recurring change: tier when the set of plans changed,
                       price when it did not (list price change, discount ending)
  so that the motions of a product add up exactly to its end - start.
-#}
{% macro product_period_arr(grain='quarter') -%}
{%- set g = period_grain(grain) -%}
with amounts as (
    select * from {{ period_ref('amounts', grain) }}
),

last_quarter as (
    select max({{ g['index'] }}) as {{ g['index'] }} from {{ period_ref('spine', grain) }}
),

sides as (
    select customer_id, product, currency, snapshot_index as {{ g['index'] }}, 1 as is_end,
           recurring_arr_local, usage_arr_local, quantity
    from amounts

    union all

    select amounts.customer_id, amounts.product, amounts.currency,
           amounts.snapshot_index + 1 as {{ g['index'] }}, 0 as is_end,
           amounts.recurring_arr_local, amounts.usage_arr_local, amounts.quantity
    from amounts
    cross join last_quarter
    where amounts.snapshot_index < last_quarter.{{ g['index'] }}
),

converted as (
    select
        sides.customer_id,
        sides.product,
        sides.{{ g['index'] }},
        sides.is_end,
        sides.quantity,
        {{ to_reporting_currency('sides.recurring_arr_local', 'rates.rate') }} as recurring_arr,
        {{ to_reporting_currency('sides.usage_arr_local', 'rates.rate') }} as usage_arr
    from sides
    inner join {{ period_ref('rates', grain) }} as rates
        on rates.{{ g['index'] }} = sides.{{ g['index'] }} and rates.currency = sides.currency
),

product_quarters as (
    select
        customer_id,
        product,
        {{ g['index'] }},
        max(case when is_end = 0 then 1 else 0 end) as held_at_start,
        max(case when is_end = 1 then 1 else 0 end) as held_at_end,
        cast(sum(case when is_end = 0 then recurring_arr else 0 end) as {{ money_type() }}) as start_recurring_arr,
        cast(sum(case when is_end = 1 then recurring_arr else 0 end) as {{ money_type() }}) as end_recurring_arr,
        cast(sum(case when is_end = 0 then usage_arr else 0 end) as {{ money_type() }}) as start_usage_arr,
        cast(sum(case when is_end = 1 then usage_arr else 0 end) as {{ money_type() }}) as end_usage_arr,
        cast(sum(case when is_end = 0 then quantity else 0 end) as decimal(18, 4)) as start_quantity,
        cast(sum(case when is_end = 1 then quantity else 0 end) as decimal(18, 4)) as end_quantity
    from converted
    group by customer_id, product, {{ g['index'] }}
),

plans as (
    select * from {{ period_ref('plans', grain) }}
),

plan_changes as (
    select
        coalesce(start_plans.customer_id, end_plans.customer_id) as customer_id,
        coalesce(start_plans.product, end_plans.product) as product,
        coalesce(start_plans.{{ g['index'] }}, end_plans.{{ g['index'] }}) as {{ g['index'] }},
        max(case when start_plans.plan is null or end_plans.plan is null then 1 else 0 end) as plan_changed
    from (select customer_id, product, plan, snapshot_index + 1 as {{ g['index'] }} from plans) as start_plans
    full outer join (select customer_id, product, plan, snapshot_index as {{ g['index'] }} from plans) as end_plans
        on start_plans.customer_id = end_plans.customer_id
        and start_plans.product = end_plans.product
        and start_plans.plan = end_plans.plan
        and start_plans.{{ g['index'] }} = end_plans.{{ g['index'] }}
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
        and plan_changes.{{ g['index'] }} = product_quarters.{{ g['index'] }}
)

select
    customer_id,
    product,
    {{ g['index'] }},
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
{%- endmacro %}

{#-
  Each customer's start and end ARR per period (constant currency, this period's rate),
  the motion totals, and its end ARR at the previous period's own rate (for fx_arr).
-#}
{% macro customer_period_arr(grain='quarter') -%}
{%- set g = period_grain(grain) -%}
with customer_quarters as (
    select
        customer_id,
        {{ g['index'] }},
        cast(sum(start_arr) as {{ money_type() }}) as start_arr,
        cast(sum(end_arr) as {{ money_type() }}) as end_arr,
        cast(sum(cross_sell_arr) as {{ money_type() }}) as cross_sell_arr,
        cast(sum(product_churn_arr) as {{ money_type() }}) as product_churn_arr,
        cast(sum(seat_arr) as {{ money_type() }}) as seat_arr,
        cast(sum(tier_arr) as {{ money_type() }}) as tier_arr,
        cast(sum(price_arr) as {{ money_type() }}) as price_arr,
        cast(sum(usage_arr) as {{ money_type() }}) as usage_arr
    from {{ period_ref('product_arr', grain) }}
    group by customer_id, {{ g['index'] }}
)

select
    current_quarter.*,
    cast(coalesce(previous_quarter.end_arr, 0) as {{ money_type() }}) as previous_end_arr
from customer_quarters as current_quarter
left join customer_quarters as previous_quarter
    on previous_quarter.customer_id = current_quarter.customer_id
    and previous_quarter.{{ g['index'] }} = current_quarter.{{ g['index'] }} - 1
{%- endmacro %}

{#-
  A customer's ARR at an earlier snapshot, restated at a later period's rate: the constant
  currency that TTM and cohort retention compare in (both snapshots at the later rate).
  Only the pairs the retention reports need: the snapshot twelve months back (TTM:
  ttm_lookback_periods, 4 quarters or 12 months), and the customer's cohort snapshot at every
  later period's rate. Converted exactly as the movement table converts, so a pair with
  rate_index = snapshot_index equals that period's end_arr.
-#}
{% macro customer_restated_arr(grain='quarter') -%}
{%- set g = period_grain(grain) -%}
with customer_quarters as (
    select customer_id, {{ g['index'] }}, end_arr from {{ period_ref('customer_arr', grain) }}
),

cohorts as (
    {{ customer_cohorts('customer_quarters', grain) }}
),

pairs as (
    select cohorts.customer_id, cohorts.cohort_index as snapshot_index, quarters.{{ g['index'] }} as rate_index
    from cohorts
    inner join {{ period_ref('spine', grain) }} as quarters
        on quarters.{{ g['index'] }} >= cohorts.cohort_index

    union

    select customer_quarters.customer_id, customer_quarters.{{ g['index'] }} as snapshot_index,
           quarters.{{ g['index'] }} as rate_index
    from customer_quarters
    inner join {{ period_ref('spine', grain) }} as quarters
        on quarters.{{ g['index'] }} = customer_quarters.{{ g['index'] }} + {{ ttm_lookback_periods(grain) }}
    where customer_quarters.end_arr > 0
),

-- A snapshot whose amounts are all in the reporting currency converts at 1 at every rate: its
-- restated ARR is that quarter's end_arr (the same sum of the same rounded amounts), so only
-- the snapshots holding a foreign-currency amount are converted again.
foreign_snapshots as (
    select distinct customer_id, snapshot_index
    from {{ period_ref('amounts', grain) }}
    where currency <> {{ reporting_currency() }}
),

pairs_to_convert as (
    select pairs.*
    from pairs
    inner join foreign_snapshots
        on foreign_snapshots.customer_id = pairs.customer_id
        and foreign_snapshots.snapshot_index = pairs.snapshot_index
)

select
    pairs.customer_id,
    pairs.snapshot_index,
    pairs.rate_index,
    customer_quarters.end_arr as arr
from pairs
inner join customer_quarters
    on customer_quarters.customer_id = pairs.customer_id
    and customer_quarters.{{ g['index'] }} = pairs.snapshot_index
left join foreign_snapshots
    on foreign_snapshots.customer_id = pairs.customer_id
    and foreign_snapshots.snapshot_index = pairs.snapshot_index
where foreign_snapshots.customer_id is null

union all

select
    pairs.customer_id,
    pairs.snapshot_index,
    pairs.rate_index,
    {{ customer_arr('amounts', 'rates') }} as arr
from pairs_to_convert as pairs
inner join {{ period_ref('amounts', grain) }} as amounts
    on amounts.customer_id = pairs.customer_id and amounts.snapshot_index = pairs.snapshot_index
inner join {{ period_ref('rates', grain) }} as rates
    on rates.{{ g['index'] }} = pairs.rate_index and rates.currency = amounts.currency
group by pairs.customer_id, pairs.snapshot_index, pairs.rate_index
{%- endmacro %}

{#-
  One row per customer per fiscal period (quarter or month) in which it had ARR at either
  snapshot.
  See the doc block "arr_movements" for the rules.
-#}
{% macro arr_movements(grain='quarter') -%}
{%- set g = period_grain(grain) -%}
with customer_quarters as (
    select * from {{ period_ref('customer_arr', grain) }}
),

first_arr as (
    {{ customer_cohorts('customer_quarters', grain) }}
),

customers as (
    select distinct customer_id, {{ slice_columns() }}
    from {{ ref('int_customer_accounts') }}
),

classified as (
    select
        customer_quarters.*,
        first_arr.cohort_index,
        case
            when customer_quarters.start_arr = 0 and first_arr.cohort_index = customer_quarters.{{ g['index'] }} then 'new'
            when customer_quarters.start_arr = 0 then 'reactivation'
            when customer_quarters.end_arr = 0 then 'churn'
            when customer_quarters.end_arr > customer_quarters.start_arr then 'expansion'
            when customer_quarters.end_arr < customer_quarters.start_arr then 'contraction'
            else 'flat'
        end as movement,
        customer_quarters.start_arr > 0 and customer_quarters.end_arr > 0 as is_retained
    from customer_quarters
    left join first_arr on first_arr.customer_id = customer_quarters.customer_id
    where customer_quarters.start_arr > 0 or customer_quarters.end_arr > 0
)

select
    cast(classified.customer_id as {{ dbt.type_string() }}) as customer_id,
    quarters.fiscal_year,
    quarters.{{ g['number'] }},
    quarters.{{ g['label'] }},
    quarters.{{ g['start'] }},
    quarters.{{ g['end'] }},
    quarters.snapshot_date,
    quarters.is_complete,
    classified.start_arr,
    classified.end_arr,
    cast(classified.movement as {{ dbt.type_string() }}) as movement,
    cast(case when movement = 'new' then end_arr else 0 end as {{ money_type() }}) as new_arr,
    cast(case when movement = 'reactivation' then end_arr else 0 end as {{ money_type() }}) as reactivation_arr,
    cast(case when movement = 'expansion' then end_arr - start_arr else 0 end as {{ money_type() }}) as expansion_arr,
    cast(case when movement = 'contraction' then start_arr - end_arr else 0 end as {{ money_type() }}) as contraction_arr,
    cast(case when movement = 'churn' then start_arr else 0 end as {{ money_type() }}) as churn_arr,
    cast(classified.start_arr - classified.previous_end_arr as {{ money_type() }}) as fx_arr,
    cast(case when is_retained then cross_sell_arr else 0 end as {{ money_type() }}) as cross_sell_arr,
    cast(case when is_retained then product_churn_arr else 0 end as {{ money_type() }}) as product_churn_arr,
    cast(case when is_retained then seat_arr else 0 end as {{ money_type() }}) as seat_arr,
    cast(case when is_retained then tier_arr else 0 end as {{ money_type() }}) as tier_arr,
    cast(case when is_retained then price_arr else 0 end as {{ money_type() }}) as price_arr,
    cast(case when is_retained then usage_arr else 0 end as {{ money_type() }}) as usage_arr,
    cohorts.{{ g['label'] }} as {{ g['cohort'] }},
    {{ slice_columns('customers') }}
from classified
inner join {{ period_ref('spine', grain) }} as quarters
    on quarters.{{ g['index'] }} = classified.{{ g['index'] }}
inner join {{ period_ref('spine', grain) }} as cohorts
    on cohorts.{{ g['index'] }} = classified.cohort_index
left join customers
    on customers.customer_id = classified.customer_id
{%- endmacro %}

{#-
  The ARR bridge per period (quarter or month) and slice: sums of the movement table's amounts and counts of
  customers per movement. Slices: all/all, then the values of each of var slice_dimensions.
-#}
{% macro arr_bridge(grain='quarter') -%}
{%- set g = period_grain(grain) -%}
{%- set slices = [("'all'", "'all'")] %}
{%- for dimension in slice_dimensions() %}{% do slices.append(("'" ~ dimension ~ "'", dimension)) %}{% endfor %}
{%- set amounts = ["start_arr", "end_arr", "new_arr", "reactivation_arr", "expansion_arr",
                   "contraction_arr", "churn_arr", "fx_arr", "cross_sell_arr", "product_churn_arr",
                   "seat_arr", "tier_arr", "price_arr", "usage_arr"] %}
{%- set movements = ["new", "reactivation", "expansion", "contraction", "churn", "flat"] %}

with movements as (
    select * from {{ period_ref('movements', grain) }}
)

{% for dimension, value in slices %}
{% if not loop.first %}union all{% endif %}
select
    fiscal_year,
    {{ g['number'] }},
    {{ g['label'] }},
    {{ g['start'] }},
    {{ g['end'] }},
    snapshot_date,
    is_complete,
    cast({{ dimension }} as {{ dbt.type_string() }}) as dimension,
    cast(coalesce({{ value }}, '') as {{ dbt.type_string() }}) as dimension_value,
    {%- for amount in amounts %}
    cast(sum({{ amount }}) as {{ money_type() }}) as {{ amount }},
    {%- endfor %}
    cast(sum(case when start_arr > 0 then 1 else 0 end) as bigint) as starting_customers,
    cast(sum(case when end_arr > 0 then 1 else 0 end) as bigint) as ending_customers,
    {%- for movement in movements %}
    cast(sum(case when movement = '{{ movement }}' then 1 else 0 end) as bigint) as {{ movement }}_customers{{ "," if not loop.last }}
    {%- endfor %}
from movements
group by fiscal_year, {{ g['number'] }}, {{ g['label'] }}, {{ g['start'] }}, {{ g['end'] }}, snapshot_date,
         is_complete, {{ dimension }}, coalesce({{ value }}, '')
{% endfor %}
{%- endmacro %}
