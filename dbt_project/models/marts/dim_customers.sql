-- One row per reporting customer with the CRM attributes its slices come from.
select distinct
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(customer_name as {{ dbt.type_string() }}) as customer_name
    {%- for dimension in slice_dimensions() %},
    cast({{ dimension }} as {{ dbt.type_string() }}) as {{ dimension }}
    {%- endfor %}
from {{ ref('int_customer_accounts') }}
