-- Metered items as usage charges: each calendar month's reported usage (usage_record) ×
-- the unit price, billed monthly, in force for that month. Without usage_record a metered
-- item's amount is unknown: it yields no charge (nrr adapt says how many were left out).
{% if var('stripe_using_usage_records') %}
with metered as (
    select
        item_id,
        min(account_id) as account_id,
        min(product_name) as product_name,
        min(coalesce(nickname, price_id)) as plan,
        min(currency) as currency,
        min(unit_amount_major) as unit_amount_major,
        min(created_at) as created_at
    from {{ ref('int_stripe__item_segments') }}
    where usage_type = 'metered'
    group by item_id
),

usage_record as (
    select * from {{ source('stripe', 'usage_record') }}
),

monthly as (
    select
        cast(subscription_item_id as {{ dbt.type_string() }}) as item_id,
        cast({{ dbt.date_trunc('month', 'cast(' ~ adapter.quote('timestamp') ~ ' as ' ~ dbt.type_timestamp() ~ ')') }} as date) as usage_month,
        sum(cast(quantity as decimal(18, 4))) as quantity
    from usage_record
    group by 1, 2
)

select
    metered.item_id || '@usage@' || cast(monthly.usage_month as {{ dbt.type_string() }}) as charge_id,
    metered.item_id,
    metered.account_id,
    metered.product_name as product,
    metered.plan,
    'usage' as charge_type,
    monthly.quantity,
    cast(metered.unit_amount_major * monthly.quantity as decimal(20, 6)) as amount,
    metered.currency,
    1 as billing_period_months,
    monthly.usage_month as effective_start,
    cast({{ dbt.dateadd('month', 1, 'monthly.usage_month') }} as date) as effective_end,
    metered.created_at as updated_at
from monthly
inner join metered on monthly.item_id = metered.item_id
where monthly.quantity > 0
{% else %}
select
    cast(null as {{ dbt.type_string() }}) as charge_id,
    cast(null as {{ dbt.type_string() }}) as item_id,
    cast(null as {{ dbt.type_string() }}) as account_id,
    cast(null as {{ dbt.type_string() }}) as product,
    cast(null as {{ dbt.type_string() }}) as plan,
    cast(null as {{ dbt.type_string() }}) as charge_type,
    cast(null as decimal(18, 4)) as quantity,
    cast(null as decimal(20, 6)) as amount,
    cast(null as {{ dbt.type_string() }}) as currency,
    cast(null as integer) as billing_period_months,
    cast(null as date) as effective_start,
    cast(null as date) as effective_end,
    cast(null as {{ dbt.type_timestamp() }}) as updated_at
where 1 = 0
{% endif %}
