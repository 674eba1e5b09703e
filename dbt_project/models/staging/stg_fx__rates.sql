-- Valid FX rates, renamed: the rows of the checked table that passed every row rule (reason
-- is null), parsed once by the quarantine step (DATE, DECIMAL(30, 18), upper-case currency).
select
    cast(rate_date as date) as rate_date,
    currency,
    cast(rate_to_reporting as decimal(30, 18)) as rate_to_reporting,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from {{ source('raw', 'checked_fx_rates') }}
where reason is null
