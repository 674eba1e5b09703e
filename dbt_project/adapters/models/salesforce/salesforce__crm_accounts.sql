{{ config(materialized='table') }}
-- The contract's crm_accounts from Salesforce Account: deleted accounts left out, ParentId
-- kept (the product rolls children up to their top parent under NRR_ROLLUP=parent), the
-- slices from the Account columns the vars name (every org names them differently), the CSM
-- the account owner's name (or the Account column salesforce_csm_column names).
with account as (
    select * from {{ source('salesforce', 'account') }}
),

{% if var('salesforce_using_user', true) and not var('salesforce_csm_column') %}
owner as (
    select
        cast(id as {{ dbt.type_string() }}) as user_id,
        {{ text_or_null('name') }} as user_name
    from {{ source('salesforce', 'user') }}
),
{% endif %}

accounts as (
    select
        cast(account.id as {{ dbt.type_string() }}) as account_id,
        coalesce({{ text_or_null('account.name') }}, cast(account.id as {{ dbt.type_string() }})) as account_name,
        {{ text_or_null('account.parent_id') }} as parent_account_id,
        {{ text_or_null('account.' ~ var('salesforce_segment_column')) }} as segment,
        {{ text_or_null('account.' ~ var('salesforce_region_column')) }} as region,
        {{ text_or_null('account.' ~ var('salesforce_industry_column')) }} as industry,
        {% if var('salesforce_csm_column') %}
        {{ text_or_null('account.' ~ var('salesforce_csm_column')) }} as csm_owner,
        {% elif var('salesforce_using_user', true) %}
        coalesce(owner.user_name, {{ text_or_null('account.owner_id') }}) as csm_owner,
        {% else %}
        {{ text_or_null('account.owner_id') }} as csm_owner,
        {% endif %}
        cast(account.last_modified_date as {{ dbt.type_timestamp() }}) as updated_at
    from account
    {% if var('salesforce_using_user', true) and not var('salesforce_csm_column') %}
    left join owner on cast(account.owner_id as {{ dbt.type_string() }}) = owner.user_id
    {% endif %}
    where not {{ is_true('account.is_deleted') }}
)

select * from accounts
