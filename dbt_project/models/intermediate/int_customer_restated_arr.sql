{{ config(materialized='table') }}
-- A customer's ARR at an earlier snapshot, restated at a later quarter's rate: the constant
-- currency that TTM and cohort retention compare in (both snapshots at the later rate).
-- Only the pairs the retention reports need: the snapshot ttm_lookback_quarters back (TTM), and the
-- customer's cohort snapshot at every later quarter's rate. Converted exactly as the movement
-- table converts, so a pair with rate_index = snapshot_index equals that quarter's end_arr.
with customer_quarters as (
    select customer_id, quarter_index, end_arr from {{ ref('int_customer_quarter_arr') }}
),

cohorts as (
    {{ customer_cohorts('customer_quarters') }}
),

pairs as (
    select cohorts.customer_id, cohorts.cohort_index as snapshot_index, quarters.quarter_index as rate_index
    from cohorts
    inner join {{ ref('int_fiscal_quarters') }} as quarters
        on quarters.quarter_index >= cohorts.cohort_index

    union

    select customer_quarters.customer_id, customer_quarters.quarter_index as snapshot_index,
           quarters.quarter_index as rate_index
    from customer_quarters
    inner join {{ ref('int_fiscal_quarters') }} as quarters
        on quarters.quarter_index = customer_quarters.quarter_index + {{ ttm_lookback_quarters() }}
    where customer_quarters.end_arr > 0
),

-- A snapshot whose amounts are all in the reporting currency converts at 1 at every rate: its
-- restated ARR is that quarter's end_arr (the same sum of the same rounded amounts), so only
-- the snapshots holding a foreign-currency amount are converted again.
foreign_snapshots as (
    select distinct customer_id, snapshot_index
    from {{ ref('int_product_snapshot_amounts') }}
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
    and customer_quarters.quarter_index = pairs.snapshot_index
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
inner join {{ ref('int_product_snapshot_amounts') }} as amounts
    on amounts.customer_id = pairs.customer_id and amounts.snapshot_index = pairs.snapshot_index
inner join {{ ref('int_fx_rates_at_snapshots') }} as rates
    on rates.quarter_index = pairs.rate_index and rates.currency = amounts.currency
group by pairs.customer_id, pairs.snapshot_index, pairs.rate_index
