-- Casts are try_cast because the engine may cast before it filters; quarantined rows
-- are removed by the anti-join, and not_null tests prove no valid row failed a cast.
-- Valid FX rates: cast and renamed, quarantined rows excluded.
with source as (
    select * from {{ source('raw', 'fx_rates') }}
),

quarantined as (
    select row_number as source_row_number
    from {{ source('raw', 'quarantine') }}
    where extract = 'fx_rates'
)

select
    {{ try_cast('source.rate_date', 'date') }} as rate_date,
    source.currency,
    {{ try_cast('source.rate_to_reporting', 'decimal(22, 12)') }} as rate_to_reporting,
    source._delivery_date as delivery_date,
    source._source_file as source_file,
    source._row_number as source_row_number
from source
left join quarantined
    on quarantined.source_row_number = source._row_number
where quarantined.source_row_number is null
