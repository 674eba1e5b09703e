-- Valid CRM accounts: renamed, quarantined rows excluded. A blank parent (empty or only
-- whitespace, TAB and U+2028 included) arrives as null: landing stores every blank field as
-- missing, so this model and the row rules read "blank" the same way.
with source as (
    {{ unquarantined('crm_accounts') }}
)

select
    account_id,
    account_name,
    parent_account_id,
    segment,
    region,
    industry,
    csm_owner,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from source
