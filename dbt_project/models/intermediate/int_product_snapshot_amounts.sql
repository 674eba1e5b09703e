{{ config(materialized='table') }}
-- Each customer's recurring and usage ARR per product at each quarter snapshot, in the
-- charge currency (macros/arr.sql, product_snapshot_amounts): the charges the marts value.
with charges as (
    select
        accounts.customer_id,
        charges.product,
        charges.charge_type,
        charges.currency,
        charges.quantity,
        charges.amount,
        charges.billing_period_months,
        charges.effective_start,
        charges.effective_end
    from {{ ref('int_billing_charges') }} as charges
    inner join {{ ref('int_customer_accounts') }} as accounts
        on accounts.account_id = charges.account_id
)

{{ product_snapshot_amounts('charges', ref('int_fiscal_quarters')) }}
