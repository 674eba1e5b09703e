-- Valid billing charges: cast and renamed, quarantined rows excluded. Casts are try_cast
-- because an engine may cast before it filters; not_null tests prove no valid row failed.
with source as (
    {{ unquarantined('billing_charges') }}
)

select
    charge_id,
    account_id,
    product,
    plan,
    charge_type,
    {{ try_cast('quantity', 'decimal(18, 4)') }} as quantity,
    {{ try_cast('amount', 'decimal(18, 4)') }} as amount,
    currency,
    {{ try_cast('billing_period_months', 'integer') }} as billing_period_months,
    {{ try_cast('effective_start', 'date') }} as effective_start,
    {{ try_cast('effective_end', 'date') }} as effective_end,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from source
