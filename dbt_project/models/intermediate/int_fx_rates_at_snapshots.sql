{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- The rate in force at each quarter's snapshot for each currency: the latest rate_date on
-- or before the snapshot. The reporting currency is always 1.
with latest as (
    select
        quarters.quarter_index,
        rates.currency,
        max(rates.rate_date) as rate_date
    from {{ ref('int_fiscal_quarters') }} as quarters
    inner join {{ ref('stg_fx__rates') }} as rates
        on rates.rate_date <= quarters.snapshot_date
    where rates.currency <> {{ reporting_currency() }}
    group by quarters.quarter_index, rates.currency
)

select latest.quarter_index, latest.currency, rates.rate_to_reporting as rate
from latest
inner join {{ ref('stg_fx__rates') }} as rates
    on rates.currency = latest.currency and rates.rate_date = latest.rate_date

union all

select quarter_index, {{ reporting_currency() }} as currency, cast(1 as decimal(30, 18)) as rate
from {{ ref('int_fiscal_quarters') }}
