-- Quarantined FX rates (bad_fx_rate, duplicate_fx_rate with a readable date) that a reported
-- snapshot would have used: same currency as a valid charge in force at that snapshot, dated
-- on or before it and after the rate the snapshot used instead (used_date null: it had
-- none). The first such snapshot per rate row. Left unflagged, the report would silently
-- convert at an older rate.
with in_use as (
    select distinct amounts.currency, quarters.snapshot_date
    from {{ ref('int_product_snapshot_amounts') }} as amounts
    inner join {{ ref('int_fiscal_quarters') }} as quarters
        on quarters.quarter_index = amounts.snapshot_index
    where amounts.currency <> {{ reporting_currency() }}
),

used as (
    select in_use.currency, in_use.snapshot_date, max(rates.rate_date) as used_date
    from in_use
    left join {{ ref('stg_fx__rates') }} as rates
        on rates.currency = in_use.currency and rates.rate_date <= in_use.snapshot_date
    group by in_use.currency, in_use.snapshot_date
),

broken as (
    select _row_number as row_number, currency, rate_date as quarantined_date
    from {{ source('raw', 'checked_fx_rates') }}
    where reason in ('bad_fx_rate', 'duplicate_fx_rate') and rate_date is not null
),

hits as (
    select
        broken.row_number,
        used.snapshot_date,
        used.used_date,
        row_number() over (partition by broken.row_number order by used.snapshot_date) as pick
    from broken
    inner join used on used.currency = broken.currency
    where broken.quarantined_date <= used.snapshot_date
      and (used.used_date is null or broken.quarantined_date > used.used_date)
)

select row_number, snapshot_date, used_date
from hits
where pick = 1
