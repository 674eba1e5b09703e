-- Valid CRM accounts, renamed: the rows of the checked table that passed every row rule
-- (reason is null), with the ultimate parent the quarantine step's hierarchy walk found (the
-- only walk: int_customer_accounts reads it). A blank parent (empty or only whitespace, TAB
-- and U+2028 included) arrives as null, so this model and the row rules read "blank" alike.
select
    account_id,
    account_name,
    parent_account_id,
    ultimate_parent_id,
    segment,
    region,
    industry,
    csm_owner,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from {{ source('raw', 'checked_crm_accounts') }}
where reason is null
