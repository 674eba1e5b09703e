-- Each subscription item over each paid window of its subscription, with its price: one
-- charge segment per (item, window). A price swap in place is a new item in the same
-- subscription (the old one deleted), so the account keeps the product: expansion or
-- contraction, not churn and new. Amounts are per billing period, in major units.
with items as (
    select * from {{ ref('stg_stripe__subscription_items') }}
),

windows as (
    select * from {{ ref('int_stripe__subscription_windows') }}
),

prices as (
    select * from {{ ref('stg_stripe__prices') }}
),

products as (
    select * from {{ ref('stg_stripe__products') }}
),

customers as (
    select * from {{ ref('stg_stripe__customers') }}
),

segments as (
    select
        items.item_id,
        items.subscription_id,
        items.quantity,
        items.created_at,
        windows.customer_id,
        {{ greatest_date('items.item_start', 'windows.window_start') }} as segment_start,
        {{ least_date(['items.item_end', 'windows.window_end']) }} as segment_end,
        prices.price_id,
        prices.product_id,
        prices.nickname,
        prices.currency,
        prices.unit_amount,
        prices.billing_interval,
        prices.interval_count,
        prices.usage_type
    from items
    inner join windows on items.subscription_id = windows.subscription_id
    inner join prices on items.price_id = prices.price_id
)

select
    segments.*,
    customers.account_id,
    coalesce(products.product_name, segments.product_id) as product_name,
    {{ major_units('segments.unit_amount', 'segments.currency') }} as unit_amount_major
from segments
inner join customers on segments.customer_id = customers.customer_id
left join products on segments.product_id = products.product_id
where segments.segment_end is null or segments.segment_end > segments.segment_start
