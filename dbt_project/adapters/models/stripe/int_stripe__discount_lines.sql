-- Coupons as negative recurring lines over the window they apply (contracts.md: amounts are
-- after discounts). percent_off: minus that share of each recurring charge of the
-- subscription; amount_off: minus that amount per billing period, on the subscription's
-- first item (by item id). A discount runs from its `start` to its `end` (else
-- duration_in_months after start for a `repeating` coupon, else open for `forever`); a
-- `once` coupon discounts one invoice, not the recurring revenue, and is left out. When the
-- line ends, the ARR goes back up at the same plan: a price motion, not new revenue.
{% if var('stripe_using_discounts') %}
with discount as (
    select * from {{ source('stripe', 'subscription_discount') }}
),

coupon as (
    select * from {{ source('stripe', 'coupon') }}
),

discounts as (
    select
        cast(discount.id as {{ dbt.type_string() }}) as discount_id,
        cast(discount.subscription_id as {{ dbt.type_string() }}) as subscription_id,
        {{ to_date('discount.' ~ adapter.quote('start')) }} as discount_start,
        coalesce(
            {{ to_date('discount.' ~ adapter.quote('end')) }},
            case when lower(cast(coupon.duration as {{ dbt.type_string() }})) = 'repeating' then
                cast({{ dbt.dateadd('month', 'cast(coupon.duration_in_months as integer)', to_date('discount.' ~ adapter.quote('start'))) }} as date)
            end
        ) as discount_end,
        cast(coupon.percent_off as decimal(9, 4)) as percent_off,
        cast(coupon.amount_off as decimal(20, 0)) as amount_off,
        lower(cast(coupon.currency as {{ dbt.type_string() }})) as coupon_currency,
        coalesce({{ text_or_null('coupon.name') }}, cast(coupon.id as {{ dbt.type_string() }})) as coupon_name
    from discount
    inner join coupon on cast(discount.coupon_id as {{ dbt.type_string() }}) = cast(coupon.id as {{ dbt.type_string() }})
    where lower(coalesce(cast(coupon.duration as {{ dbt.type_string() }}), 'forever')) <> 'once'
),

charges as (
    select
        *,
        row_number() over (partition by subscription_id, effective_start order by item_id) as item_rank
    from {{ ref('int_stripe__recurring_charges') }}
),

applied as (
    select
        discounts.discount_id,
        discounts.coupon_name,
        charges.charge_id,
        charges.account_id,
        charges.product,
        charges.plan,
        charges.quantity,
        charges.currency,
        charges.billing_period_months,
        charges.updated_at,
        case
            when discounts.percent_off is not null
                then cast(-charges.amount * discounts.percent_off * cast(0.01 as decimal(3, 2)) as decimal(20, 6))
            else -{{ major_units('discounts.amount_off', 'discounts.coupon_currency') }}
        end as amount,
        {{ greatest_date('charges.effective_start', 'discounts.discount_start') }} as effective_start,
        {{ least_date(['charges.effective_end', 'discounts.discount_end']) }} as effective_end
    from discounts
    inner join charges on discounts.subscription_id = charges.subscription_id
    where discounts.percent_off is not null or charges.item_rank = 1
)

select
    discount_id || '@' || charge_id as charge_id,
    account_id,
    product,
    plan,
    'recurring' as charge_type,
    quantity,
    amount,
    currency,
    billing_period_months,
    effective_start,
    effective_end,
    updated_at
from applied
where effective_end is null or effective_end > effective_start
{% else %}
select
    cast(null as {{ dbt.type_string() }}) as charge_id,
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
