-- Valid billing charges: cast and renamed, quarantined rows excluded. Casts are try_cast
-- because an engine may cast before it filters; not_null tests prove no valid row failed.
-- A blank product or plan is a value of its own (''), so every comparison matches it, and a
-- CSV's empty field and a Parquet '' are the same; currency codes read in any letter case.
with source as (
    {{ unquarantined('billing_charges') }}
)

select
    charge_id,
    account_id,
    coalesce(product, '') as product,
    coalesce(plan, '') as plan,
    charge_type,
    {{ try_cast('quantity', 'decimal(18, 4)') }} as quantity,
    {{ try_cast('amount', 'decimal(20, 6)') }} as amount,
    upper(currency) as currency,
    cast({{ try_cast('billing_period_months', 'decimal(18, 6)') }} as integer) as billing_period_months,  -- '12.0' is 12
    {{ try_cast('effective_start', 'date') }} as effective_start,
    {{ try_cast('effective_end', 'date') }} as effective_end,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from source
