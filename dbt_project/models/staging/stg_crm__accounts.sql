-- Valid CRM accounts: renamed, blank parents read as none, quarantined rows excluded.
with source as (
    select * from {{ source('raw', 'crm_accounts') }}
),

quarantined as (
    select row_number as source_row_number
    from {{ source('raw', 'quarantine') }}
    where extract = 'crm_accounts'
)

select
    source.account_id,
    source.account_name,
    case when trim(source.parent_account_id) = '' then null
         else source.parent_account_id end as parent_account_id,
    source.segment,
    source.region,
    source.industry,
    source.csm_owner,
    source._delivery_date as delivery_date,
    source._source_file as source_file,
    source._row_number as source_row_number
from source
left join quarantined
    on quarantined.source_row_number = source._row_number
where quarantined.source_row_number is null
