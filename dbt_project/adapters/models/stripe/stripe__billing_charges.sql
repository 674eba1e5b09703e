{{ config(materialized='table') }}
-- The contract's billing_charges from Stripe: recurring items, metered usage and coupons,
-- in the contract's columns and order (docs/sources.md, "Stripe").
with recurring as (
    select * from {{ ref('int_stripe__recurring_charges') }}
),

usage as (
    select * from {{ ref('int_stripe__usage_charges') }}
),

discounts as (
    select * from {{ ref('int_stripe__discount_lines') }}
),

charges as (
    select charge_id, account_id, product, plan, charge_type, quantity, amount, currency,
           billing_period_months, effective_start, effective_end, updated_at
    from recurring
    union all
    select charge_id, account_id, product, plan, charge_type, quantity, amount, currency,
           billing_period_months, effective_start, effective_end, updated_at
    from usage
    union all
    select charge_id, account_id, product, plan, charge_type, quantity, amount, currency,
           billing_period_months, effective_start, effective_end, updated_at
    from discounts
)

select
    charge_id,
    account_id,
    product,
    plan,
    charge_type,
    cast(quantity as decimal(18, 4)) as quantity,
    cast(amount as decimal(20, 6)) as amount,
    currency,
    cast(billing_period_months as integer) as billing_period_months,
    effective_start,
    effective_end,
    updated_at
from charges
