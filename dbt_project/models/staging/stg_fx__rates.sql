-- Valid FX rates: cast and renamed, quarantined rows excluded (try_cast: see
-- stg_billing__charges).
with source as (
    {{ unquarantined('fx_rates') }}
)

select
    {{ try_cast('rate_date', 'date') }} as rate_date,
    upper(currency) as currency,
    {{ try_cast('rate_to_reporting', 'decimal(30, 18)') }} as rate_to_reporting,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from source
