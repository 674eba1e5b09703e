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
),

-- Signals from outside billing (the optional account_signals extract), each account's
-- under its customer, up to the latest snapshot.
account_signals as (
    select accounts.customer_id, signals.signal_date, signals.signal_type, signals.value,
           signals.source_row_number
    from {{ ref('stg_signals__account_signals') }} as signals
    inner join {{ ref('int_customer_accounts') }} as accounts
        on accounts.account_id = signals.account_id
    cross join latest
    where signals.signal_date <= latest.snapshot_date
),

-- Support tickets in the last signal_window_days and in the same span before; the latest
-- champion change and competitor mention within the window.
{%- set window = var('signal_window_days') %}
signal_windows as (
    select
        account_signals.customer_id,
        cast(sum(case when account_signals.signal_type = 'support_tickets'
                       and account_signals.signal_date > cast({{ dbt.dateadd('day', -window, 'latest.snapshot_date') }} as date)
                      then account_signals.value else 0 end) as decimal(18, 4)) as tickets_last_window,
        cast(sum(case when account_signals.signal_type = 'support_tickets'
                       and account_signals.signal_date > cast({{ dbt.dateadd('day', -2 * window, 'latest.snapshot_date') }} as date)
                       and account_signals.signal_date <= cast({{ dbt.dateadd('day', -window, 'latest.snapshot_date') }} as date)
                      then account_signals.value else 0 end) as decimal(18, 4)) as tickets_window_before,
        max(case when account_signals.signal_type = 'champion_change'
                  and account_signals.signal_date > cast({{ dbt.dateadd('day', -window, 'latest.snapshot_date') }} as date)
                 then account_signals.signal_date end) as champion_change_date,
        max(case when account_signals.signal_type = 'competitor_mention'
                  and account_signals.signal_date > cast({{ dbt.dateadd('day', -window, 'latest.snapshot_date') }} as date)
                 then account_signals.signal_date end) as competitor_mention_date
    from account_signals
    cross join latest
    group by account_signals.customer_id
),

-- The customer's two latest NPS scores (latest first; the same day: the later row).
nps_ranked as (
    select
        customer_id,
        signal_date,
        value,
        row_number() over (
            partition by customer_id order by signal_date desc, source_row_number desc
        ) as recency
    from account_signals
    where signal_type = 'nps'
),

nps as (
    select
        customer_id,
        max(case when recency = 2 then value end) as nps_previous,
        max(case when recency = 1 then value end) as nps_latest,
        max(case when recency = 1 then signal_date end) as nps_latest_date
    from nps_ranked
    where recency <= 2
    group by customer_id
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
    cast(coalesce(latest_pair.products_held, 0) as integer) as products_held,
    cast(coalesce(signal_windows.tickets_last_window, 0) as decimal(18, 4)) as tickets_last_window,
    cast(coalesce(signal_windows.tickets_window_before, 0) as decimal(18, 4)) as tickets_window_before,
    cast(nps.nps_previous as decimal(18, 4)) as nps_previous,
    cast(nps.nps_latest as decimal(18, 4)) as nps_latest,
    cast(nps.nps_latest_date as date) as nps_latest_date,
    cast(signal_windows.champion_change_date as date) as champion_change_date,
    cast(signal_windows.competitor_mention_date as date) as competitor_mention_date
from customers
inner join {{ ref('dim_customers') }} as dims on dims.customer_id = customers.customer_id
left join quarter_pairs as latest_pair
    on latest_pair.customer_id = customers.customer_id
    and latest_pair.quarter_index = customers.quarter_index
left join quarter_pairs as earlier_pair
    on earlier_pair.customer_id = customers.customer_id
    and earlier_pair.quarter_index = customers.quarter_index - 1
left join ending on ending.customer_id = customers.customer_id
left join signal_windows on signal_windows.customer_id = customers.customer_id
left join nps on nps.customer_id = customers.customer_id
