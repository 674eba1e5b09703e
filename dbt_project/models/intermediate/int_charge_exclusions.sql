{{ config(materialized='table') }}  -- read by the marts' charges, the quarantine and its valuation
-- The customer-level rules (docs/definitions.md, "Quarantine"): charges that passed every
-- row rule but that the report cannot value, one row each with its reason and detail. They
-- run on the spine of every charge that passed the row rules (int_fiscal_quarters_delivered),
-- in this order:
--   missing_fx_rate        a recurring or usage charge in a foreign currency, in force at a
--                          snapshot before the currency's first rate (it cannot be converted
--                          there);
--   negative_customer_arr  every recurring or usage charge of a customer whose ARR is below
--                          zero in a conversion the reports use: a snapshot s at the rates
--                          of s (a quarter's end), of s + 1 (the next quarter's start), of
--                          s + ttm_lookback_periods('quarter') (TTM) and, for the customer's cohort
--                          snapshot, of every later quarter (cohort retention). The detail
--                          names the earliest such snapshot and rates.
-- Only customers with a negative line can go below zero, so only their charges are valued.
with charges as (
    {{ arr_bearing_charges(ref('stg_billing__charges')) }}
),

quarters as (
    select * from {{ ref('int_fiscal_quarters_delivered') }}
),

-- The first snapshot at or after a charge's start is its own quarter's (the snapshot of the
-- as-of quarter is as-of: a later start is never in force); the charge is in force at some
-- snapshot when it is at that one. Needed only for foreign-currency charges (missing_fx_rate)
-- and negative lines (which make a customer a suspect).
first_in_force as (
    select
        charges.*,
        quarters.snapshot_date as first_snapshot
    from charges
    left join quarters
        on quarters.quarter_start = {{ fiscal_quarter_start('charges.effective_start') }}
{%- if usage_arr_policy() == 'trailing_3_period_average' %}
        -- a usage charge counts at a snapshot when it is in force at one of its sample dates
        -- (macros/arr.sql, product_snapshot_amounts); those of the charge's own quarter's
        -- snapshot are the earliest it can count at
        and (
            (charges.effective_start <= quarters.snapshot_date
             and (charges.effective_end is null or quarters.snapshot_date < charges.effective_end))
            {%- for point in usage_sample_dates('quarters.snapshot_date')[1:] %}
            or (charges.charge_type = 'usage'
                and charges.effective_start <= {{ point }}
                and (charges.effective_end is null or {{ point }} < charges.effective_end))
            {%- endfor %}
        )
{%- else %}
        and charges.effective_start <= quarters.snapshot_date
        and (charges.effective_end is null or quarters.snapshot_date < charges.effective_end)
{%- endif %}
    where charges.currency <> {{ reporting_currency() }} or charges.amount < 0
),

first_rates as (
    select currency, min(rate_date) as first_rate_date
    from {{ ref('stg_fx__rates') }}
    group by currency
),

missing_fx as (
    select
        first_in_force.source_row_number,
        first_in_force.currency,
        first_in_force.first_snapshot
    from first_in_force
    left join first_rates on first_rates.currency = first_in_force.currency
    where first_in_force.currency <> {{ reporting_currency() }}
      and first_in_force.first_snapshot is not null
      and (first_rates.first_rate_date is null
           or first_rates.first_rate_date > first_in_force.first_snapshot)
),

-- Customers with a negative line in force at some snapshot (missing_fx_rate aside).
suspects as (
    select distinct first_in_force.customer_id
    from first_in_force
    left join missing_fx on missing_fx.source_row_number = first_in_force.source_row_number
    where first_in_force.amount < 0
      and first_in_force.first_snapshot is not null
      and missing_fx.source_row_number is null
),

-- Their charges that the missing_fx_rate rule left: what negative_customer_arr values.
suspect_charges as (
    select charges.*
    from charges
    inner join suspects on suspects.customer_id = charges.customer_id
    left join missing_fx on missing_fx.source_row_number = charges.source_row_number
    where missing_fx.source_row_number is null
),

amounts as (
    {{ product_snapshot_amounts('suspect_charges', 'quarters') }}
),

rates as (
    {{ fx_rates_at_snapshots('quarters') }}
),

held as (
    select distinct customer_id, snapshot_index from amounts
),

own as (
    select amounts.customer_id, amounts.snapshot_index, amounts.snapshot_index as rate_index,
           {{ customer_arr('amounts', 'rates') }} as arr
    from amounts
    inner join rates
        on rates.quarter_index = amounts.snapshot_index and rates.currency = amounts.currency
    group by amounts.customer_id, amounts.snapshot_index
),

own_quarters as (
    select customer_id, snapshot_index as quarter_index, arr as end_arr from own
),

cohorts as (
    {{ customer_cohorts('own_quarters') }}
),

last_quarter as (
    select max(quarter_index) as quarter_index from quarters
),

pairs as (
    select held.customer_id, held.snapshot_index, held.snapshot_index + 1 as rate_index
    from held

    union

    select held.customer_id, held.snapshot_index, held.snapshot_index + {{ ttm_lookback_periods('quarter') }}
    from held

    union

    select cohorts.customer_id, cohorts.cohort_index, quarters.quarter_index
    from cohorts
    inner join quarters on quarters.quarter_index >= cohorts.cohort_index
),

-- A snapshot whose amounts are all in the reporting currency has the same ARR at every rate
-- (its own, already in `own`): only the snapshots holding a foreign amount are restated.
foreign_snapshots as (
    select distinct customer_id, snapshot_index
    from amounts
    where currency <> {{ reporting_currency() }}
),

restated as (
    select pairs.customer_id, pairs.snapshot_index, pairs.rate_index,
           {{ customer_arr('amounts', 'rates') }} as arr
    from pairs
    inner join foreign_snapshots
        on foreign_snapshots.customer_id = pairs.customer_id
        and foreign_snapshots.snapshot_index = pairs.snapshot_index
    cross join last_quarter
    inner join amounts
        on amounts.customer_id = pairs.customer_id and amounts.snapshot_index = pairs.snapshot_index
    inner join rates
        on rates.quarter_index = pairs.rate_index and rates.currency = amounts.currency
    where pairs.rate_index <= last_quarter.quarter_index
    group by pairs.customer_id, pairs.snapshot_index, pairs.rate_index
),

negative as (
    select
        customer_id,
        snapshot_index,
        rate_index,
        arr,
        row_number() over (partition by customer_id order by snapshot_index, rate_index) as pick
    from (select * from own union all select * from restated) as every_conversion
    where arr < 0
),

first_negative as (
    select
        negative.customer_id,
        negative.arr,
        at_snapshot.snapshot_date as negative_at,
        at_rates.snapshot_date as converted_at
    from negative
    inner join quarters as at_snapshot on at_snapshot.quarter_index = negative.snapshot_index
    inner join quarters as at_rates on at_rates.quarter_index = negative.rate_index
    where negative.pick = 1
)

select
    missing_fx.source_row_number,
    'missing_fx_rate' as reason,
    {{ dbt.concat([
        "'no '",
        'missing_fx.currency',
        "' rate on or before '",
        'cast(missing_fx.first_snapshot as ' ~ dbt.type_string() ~ ')',
        "', a snapshot at which the charge is in force" ~ (" (usage: at one of its sample dates)" if usage_arr_policy() == 'trailing_3_period_average' else "") ~ "'",
    ]) }} as detail
from missing_fx

union all

select
    suspect_charges.source_row_number,
    'negative_customer_arr' as reason,
    {{ dbt.concat([
        "'customer '",
        'suspect_charges.customer_id',
        "' has negative ARR '",
        'cast(cast(first_negative.arr as decimal(38, 2)) as ' ~ dbt.type_string() ~ ')',
        "' at the '",
        'cast(first_negative.negative_at as ' ~ dbt.type_string() ~ ')',
        "' snapshot, converted at the '",
        'cast(first_negative.converted_at as ' ~ dbt.type_string() ~ ')',
        "' rates'",
    ]) }} as detail
from suspect_charges
inner join first_negative on first_negative.customer_id = suspect_charges.customer_id
