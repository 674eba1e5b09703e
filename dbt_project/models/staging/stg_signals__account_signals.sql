-- Valid account signals, renamed: the rows of the checked table that passed every row rule
-- (reason is null), parsed once by the quarantine step (DATE, lower-case type, DECIMAL value).
select
    account_id,
    cast(signal_date as date) as signal_date,
    signal_type,
    cast(value as decimal(18, 4)) as value,
    note,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from {{ source('raw', 'checked_account_signals') }}
where reason is null
