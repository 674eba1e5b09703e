{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- The set of plans of each customer's product at each snapshot, from its non-negative
-- recurring lines (a discount line's plan is not a plan the customer is on).
select distinct
    accounts.customer_id,
    charges.product,
    charges.plan,
    quarters.quarter_index as snapshot_index
from {{ ref('int_billing_charges') }} as charges
inner join {{ ref('int_customer_accounts') }} as accounts
    on accounts.account_id = charges.account_id
inner join {{ ref('int_fiscal_quarters') }} as quarters
    on charges.effective_start <= quarters.snapshot_date
    and (charges.effective_end is null or quarters.snapshot_date < charges.effective_end)
where charges.charge_type = 'recurring' and charges.amount >= 0
