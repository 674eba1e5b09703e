{{ config(materialized='table') }}
-- crm_accounts derived from the Zuora billing accounts, for a delivery without a CRM extract:
-- name, and the parent billing account's CRM id as parent; no slices.
with accounts as (
    select * from {{ ref('stg_zuora__accounts') }}
)

select
    child.account_id,
    min(child.account_name) as account_name,
    min(parent.account_id) as parent_account_id,
    cast(null as {{ dbt.type_string() }}) as segment,
    cast(null as {{ dbt.type_string() }}) as region,
    cast(null as {{ dbt.type_string() }}) as industry,
    cast(null as {{ dbt.type_string() }}) as csm_owner,
    max(child.updated_at) as updated_at
from accounts as child
left join accounts as parent on child.zuora_parent_id = parent.zuora_account_id
group by child.account_id
