{{ config(materialized='table') }}
-- The contract's billing_charges from Chargebee: each plan and addon item price on a paid
-- subscription (one-time `charge` items are not recurring revenue). Prices are in minor
-- units except zero-decimal currencies (the same rule as Stripe's); per_unit, tiered and
-- volume prices × quantity (tiered/volume at their item price: the tier table is not read),
-- flat_fee once. Months per period, weekly and daily prices: macros/money.sql, as for Stripe.
with subscriptions as (
    select * from {{ ref('stg_chargebee__subscriptions') }}
),

customers as (
    select * from {{ ref('stg_chargebee__customers') }}
),

items as (
    select
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(item_price_id as {{ dbt.type_string() }}) as item_price_id,
        lower(cast(item_type as {{ dbt.type_string() }})) as item_type,
        coalesce(cast(quantity as decimal(18, 4)), 1) as quantity
    from {{ source('chargebee', 'subscription_item') }}
),

prices as (
    select
        cast(id as {{ dbt.type_string() }}) as item_price_id,
        cast(item_id as {{ dbt.type_string() }}) as item_id,
        coalesce({{ text_or_null('name') }}, cast(id as {{ dbt.type_string() }})) as price_name,
        lower(cast(currency_code as {{ dbt.type_string() }})) as currency,
        cast(price as decimal(20, 0)) as price_minor,
        coalesce(cast(period as integer), 1) as period,
        lower(cast(period_unit as {{ dbt.type_string() }})) as period_unit,
        lower(coalesce(cast(pricing_model as {{ dbt.type_string() }}), 'flat_fee')) as pricing_model
    from {{ source('chargebee', 'item_price') }}
),

catalog as (
    select
        cast(id as {{ dbt.type_string() }}) as item_id,
        coalesce({{ text_or_null('name') }}, cast(id as {{ dbt.type_string() }})) as item_name
    from {{ source('chargebee', 'item') }}
),

priced as (
    select
        items.subscription_id || ':' || items.item_price_id as charge_id,
        customers.account_id,
        coalesce(catalog.item_name, prices.item_id) as product,
        prices.price_name as plan,
        items.quantity,
        cast(
            {{ major_units('prices.price_minor', 'prices.currency') }}
            * case when prices.pricing_model = 'flat_fee' then 1 else items.quantity end
            as decimal(20, 6)
        ) as period_amount,
        prices.currency,
        prices.period,
        prices.period_unit,
        subscriptions.window_start as effective_start,
        subscriptions.window_end as effective_end,
        subscriptions.updated_at
    from items
    inner join subscriptions on items.subscription_id = subscriptions.subscription_id
    inner join customers on subscriptions.customer_id = customers.customer_id
    inner join prices on items.item_price_id = prices.item_price_id
    left join catalog on prices.item_id = catalog.item_id
    where items.item_type in ('plan', 'addon')
)

select
    charge_id,
    account_id,
    product,
    plan,
    'recurring' as charge_type,
    quantity,
    {{ monthly_amount('period_amount', 'period_unit', 'period') }} as amount,
    currency,
    {{ period_months('period_unit', 'period') }} as billing_period_months,
    effective_start,
    effective_end,
    updated_at
from priced
where period_amount > 0
  and (effective_end is null or effective_end > effective_start)
