-- Zuora billing accounts with the CRM account each bills: crm_id (Zuora's link to the CRM
-- account) else the Zuora account id.
with account as (
    select * from {{ source('zuora', 'account') }}
)

select
    cast(id as {{ dbt.type_string() }}) as zuora_account_id,
    coalesce({{ text_or_null('crm_id') }}, cast(id as {{ dbt.type_string() }})) as account_id,
    coalesce({{ text_or_null('name') }}, cast(id as {{ dbt.type_string() }})) as account_name,
    {{ text_or_null('parent_id') }} as zuora_parent_id,
    lower(cast(currency as {{ dbt.type_string() }})) as currency,
    cast(updated_date as {{ dbt.type_timestamp() }}) as updated_at
from account
