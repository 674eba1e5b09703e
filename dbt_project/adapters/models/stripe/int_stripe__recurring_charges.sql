-- Licensed (non-metered) items as recurring charges: price × quantity per billing period.
-- Months per period and weekly/daily prices: the macros period_months and monthly_amount
-- (macros/money.sql). Free prices (trials, free tiers: unit_amount 0) carry no ARR and are
-- left out.
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
    {{ monthly_amount('period_amount', 'billing_interval', 'interval_count') }} as amount,
    currency,
    {{ period_months('billing_interval', 'interval_count') }} as billing_period_months,
    segment_start as effective_start,
    segment_end as effective_end,
    created_at as updated_at
from priced
