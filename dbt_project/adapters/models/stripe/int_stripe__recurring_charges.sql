-- Licensed (non-metered) items as recurring charges: price × quantity per billing period.
-- Months per period: `month` × interval_count, `year` × 12 × interval_count. Weekly and daily
-- prices have no whole number of months: they become a monthly amount (52 weeks or 365 days
-- to 12 months, rounded half up to the micro-unit) billed every month. Free prices (trials,
-- free tiers: unit_amount 0) carry no ARR and are left out.
with segments as (
    select * from {{ ref('int_stripe__item_segments') }}
    where usage_type <> 'metered' and unit_amount > 0
),

priced as (
    select
        *,
        cast(unit_amount_major * coalesce(quantity, 1) as decimal(20, 6)) as period_amount
    from segments
)

select
    item_id || '@' || cast(segment_start as {{ dbt.type_string() }}) as charge_id,
    item_id,
    subscription_id,
    account_id,
    product_name as product,
    coalesce(nickname, price_id) as plan,
    'recurring' as charge_type,
    coalesce(quantity, 1) as quantity,
    case
        when billing_interval = 'week' then cast(
            cast({{ divide_rounded('cast(period_amount * 1000000 as decimal(38, 0)) * 52', '12 * interval_count') }} as decimal(38, 0))
            * cast(0.000001 as decimal(7, 6)) as decimal(20, 6))
        when billing_interval = 'day' then cast(
            cast({{ divide_rounded('cast(period_amount * 1000000 as decimal(38, 0)) * 365', '12 * interval_count') }} as decimal(38, 0))
            * cast(0.000001 as decimal(7, 6)) as decimal(20, 6))
        else period_amount
    end as amount,
    currency,
    case
        when billing_interval = 'year' then 12 * interval_count
        when billing_interval = 'month' then interval_count
        else 1
    end as billing_period_months,
    segment_start as effective_start,
    segment_end as effective_end,
    created_at as updated_at
from priced
