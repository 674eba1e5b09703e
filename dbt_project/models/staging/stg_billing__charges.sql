-- Casts are try_cast because the engine may cast before it filters; quarantined rows
-- are removed by the anti-join, and not_null tests prove no valid row failed a cast.
-- Valid billing charges: cast and renamed, quarantined rows excluded.
with source as (
    select * from {{ source('raw', 'billing_charges') }}
),

quarantined as (
    select row_number as source_row_number
    from {{ source('raw', 'quarantine') }}
    where extract = 'billing_charges'
)

select
    source.charge_id,
    source.account_id,
    source.product,
    source.plan,
    source.charge_type,
    {{ try_cast('source.quantity', 'decimal(18, 4)') }} as quantity,
    {{ try_cast('source.amount', 'decimal(18, 4)') }} as amount,
    source.currency,
    {{ try_cast('source.billing_period_months', 'integer') }} as billing_period_months,
    {{ try_cast('source.effective_start', 'date') }} as effective_start,
    {{ try_cast('source.effective_end', 'date') }} as effective_end,
    source._delivery_date as delivery_date,
    source._source_file as source_file,
    source._row_number as source_row_number
from source
left join quarantined
    on quarantined.source_row_number = source._row_number
where quarantined.source_row_number is null
