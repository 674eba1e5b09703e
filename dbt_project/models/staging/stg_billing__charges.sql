-- Valid billing charges, renamed: the rows of the checked table that passed every row rule
-- (reason is null). The quarantine step parsed each value once (dates, DECIMAL amounts and
-- quantities, whole months, upper-case currency codes); staging reads them as they are.
-- A blank product or plan is a value of its own (''), so every comparison matches it, and a
-- CSV's empty field and a Parquet '' are the same.
select
    charge_id,
    account_id,
    coalesce(product, '') as product,
    coalesce(plan, '') as plan,
    charge_type,
    cast(quantity as decimal(18, 4)) as quantity,
    cast(amount as decimal(20, 6)) as amount,
    currency,
    cast(billing_period_months as integer) as billing_period_months,
    cast(effective_start as date) as effective_start,
    cast(effective_end as date) as effective_end,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from {{ source('raw', 'checked_billing_charges') }}
where reason is null
