-- One row per Stripe customer, with the CRM account it bills (the customer metadata key
-- var stripe_crm_account_key, else the Stripe customer id itself).
with customer as (
    select * from {{ source('stripe', 'customer') }}
)

select
    cast(id as {{ dbt.type_string() }}) as customer_id,
    coalesce(
        {{ text_or_null(json_text('metadata', var('stripe_crm_account_key'))) }},
        cast(id as {{ dbt.type_string() }})
    ) as account_id,
    coalesce({{ text_or_null('name') }}, {{ text_or_null('email') }}, cast(id as {{ dbt.type_string() }})) as customer_name,
    cast(created as {{ dbt.type_timestamp() }}) as created_at
from customer
where not {{ is_true('is_deleted') }}
