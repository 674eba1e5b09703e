-- One row per reporting customer with the CRM attributes its slices come from.
select distinct
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(customer_name as {{ dbt.type_string() }}) as customer_name,
    cast(segment as {{ dbt.type_string() }}) as segment,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(csm_owner as {{ dbt.type_string() }}) as csm_owner
from {{ ref('int_customer_accounts') }}
