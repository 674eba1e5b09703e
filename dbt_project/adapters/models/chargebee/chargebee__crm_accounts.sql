{{ config(materialized='table') }}
-- crm_accounts derived from the Chargebee customers, for a delivery without a CRM extract.
with customers as (
    select * from {{ ref('stg_chargebee__customers') }}
)

select
    account_id,
    min(customer_name) as account_name,
    cast(null as {{ dbt.type_string() }}) as parent_account_id,
    cast(null as {{ dbt.type_string() }}) as segment,
    cast(null as {{ dbt.type_string() }}) as region,
    cast(null as {{ dbt.type_string() }}) as industry,
    cast(null as {{ dbt.type_string() }}) as csm_owner,
    max(created_at) as updated_at
from customers
group by account_id
