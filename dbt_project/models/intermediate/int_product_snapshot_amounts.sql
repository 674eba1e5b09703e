{{ config(materialized='table') }}
-- Each customer's recurring and usage ARR per product at each quarter snapshot, in the
-- charge currency (converted later, at the rate the comparison needs). A charge is in force
-- at t when effective_start <= t < effective_end (open end: still in force). ARR of a charge
-- = amount x 12 / billing_period_months. Quantity counts non-negative recurring lines only:
-- a negative recurring line is a discount and moves the unit price, not the seats.
with charges as (
    select
        accounts.customer_id,
        charges.product,
        charges.plan,
        charges.charge_type,
        charges.currency,
        charges.quantity,
        charges.amount,
        charges.effective_start,
        charges.effective_end,
        {{ divide_exact('charges.amount * 12', 'charges.billing_period_months', 10) }} as arr_local
    from {{ ref('stg_billing__charges') }} as charges
    inner join {{ ref('int_customer_accounts') }} as accounts
        on accounts.account_id = charges.account_id
    where charges.charge_type in ('recurring', 'usage')
)

select
    charges.customer_id,
    charges.product,
    charges.currency,
    quarters.quarter_index as snapshot_index,
    cast(sum(case when charges.charge_type = 'recurring' then charges.arr_local else 0 end)
        as decimal(38, 10)) as recurring_arr_local,
    cast(sum(case when charges.charge_type = 'usage' then charges.arr_local else 0 end)
        as decimal(38, 10)) as usage_arr_local,
    cast(sum(case when charges.charge_type = 'recurring' and charges.amount >= 0
                  then charges.quantity else 0 end) as decimal(18, 4)) as quantity
from charges
inner join {{ ref('int_fiscal_quarters') }} as quarters
    on charges.effective_start <= quarters.snapshot_date
    and (charges.effective_end is null or quarters.snapshot_date < charges.effective_end)
group by charges.customer_id, charges.product, charges.currency, quarters.quarter_index
