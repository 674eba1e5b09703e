-- Prices (or legacy plans) in one shape: amounts still in Stripe's integer units.
{% if var('stripe_using_price') %}
with price as (
    select * from {{ source('stripe', 'price') }}
)

select
    cast(id as {{ dbt.type_string() }}) as price_id,
    cast(product_id as {{ dbt.type_string() }}) as product_id,
    {{ text_or_null('nickname') }} as nickname,
    lower(cast(currency as {{ dbt.type_string() }})) as currency,
    cast(unit_amount as decimal(20, 0)) as unit_amount,
    lower(cast(recurring_interval as {{ dbt.type_string() }})) as billing_interval,
    coalesce(cast(recurring_interval_count as integer), 1) as interval_count,
    lower(coalesce(cast(recurring_usage_type as {{ dbt.type_string() }}), 'licensed')) as usage_type
from price
{% else %}
with plan as (
    select * from {{ source('stripe', 'plan') }}
)

select
    cast(id as {{ dbt.type_string() }}) as price_id,
    cast(product_id as {{ dbt.type_string() }}) as product_id,
    {{ text_or_null('nickname') }} as nickname,
    lower(cast(currency as {{ dbt.type_string() }})) as currency,
    cast(amount as decimal(20, 0)) as unit_amount,
    lower(cast({{ adapter.quote('interval') }} as {{ dbt.type_string() }})) as billing_interval,
    coalesce(cast(interval_count as integer), 1) as interval_count,
    lower(coalesce(cast(usage_type as {{ dbt.type_string() }}), 'licensed')) as usage_type
from plan
{% endif %}
