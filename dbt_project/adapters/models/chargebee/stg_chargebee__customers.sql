-- Chargebee customers with the CRM account each bills (the customer column the var
-- chargebee_crm_account_column names, else the Chargebee customer id).
with customer as (
    select * from {{ source('chargebee', 'customer') }}
)

select
    cast(id as {{ dbt.type_string() }}) as customer_id,
    {% if var('chargebee_crm_account_column') %}
    coalesce({{ text_or_null(var('chargebee_crm_account_column')) }}, cast(id as {{ dbt.type_string() }})) as account_id,
    {% else %}
    cast(id as {{ dbt.type_string() }}) as account_id,
    {% endif %}
    coalesce(
        {{ text_or_null('company') }},
        {{ text_or_null(dbt.concat(['first_name', "' '", 'last_name'])) }},
        cast(id as {{ dbt.type_string() }})
    ) as customer_name,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
from customer
where not {{ is_true('deleted') }}
