-- Valid CRM accounts: renamed, blank parents read as none, quarantined rows excluded.
with source as (
    {{ unquarantined('crm_accounts') }}
)

select
    account_id,
    account_name,
    case when trim(parent_account_id) = '' then null else parent_account_id end
        as parent_account_id,
    segment,
    region,
    industry,
    csm_owner,
    _delivery_date as delivery_date,
    _source_file as source_file,
    _row_number as source_row_number
from source
