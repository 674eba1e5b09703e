{{ config(materialized='table') }}
-- The contract's crm_accounts from HubSpot companies: deleted companies left out, the parent
-- company association (property_hs_parent_company_id) kept as parent, the slices from the
-- company properties the vars name, the CSM the company owner's name (or the property
-- hubspot_csm_column names).
with company as (
    select * from {{ source('hubspot', 'company') }}
),

{% if var('hubspot_using_owner', true) and not var('hubspot_csm_column') %}
owner as (
    select
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        {{ text_or_null(dbt.concat(['first_name', "' '", 'last_name'])) }} as owner_name
    from {{ source('hubspot', 'owner') }}
),
{% endif %}

companies as (
    select
        cast(company.id as {{ dbt.type_string() }}) as account_id,
        coalesce({{ text_or_null('company.property_name') }}, cast(company.id as {{ dbt.type_string() }})) as account_name,
        {{ text_or_null('company.property_hs_parent_company_id') }} as parent_account_id,
        {{ text_or_null('company.' ~ var('hubspot_segment_column')) }} as segment,
        {{ text_or_null('company.' ~ var('hubspot_region_column')) }} as region,
        {{ text_or_null('company.' ~ var('hubspot_industry_column')) }} as industry,
        {% if var('hubspot_csm_column') %}
        {{ text_or_null('company.' ~ var('hubspot_csm_column')) }} as csm_owner,
        {% elif var('hubspot_using_owner', true) %}
        coalesce(owner.owner_name, {{ text_or_null('company.property_hubspot_owner_id') }}) as csm_owner,
        {% else %}
        {{ text_or_null('company.property_hubspot_owner_id') }} as csm_owner,
        {% endif %}
        cast(company.property_hs_lastmodifieddate as {{ dbt.type_timestamp() }}) as updated_at
    from company
    {% if var('hubspot_using_owner', true) and not var('hubspot_csm_column') %}
    left join owner on cast(company.property_hubspot_owner_id as {{ dbt.type_string() }}) = owner.owner_id
    {% endif %}
    where not {{ is_true('company.is_deleted') }}
)

select * from companies
