with product as (
    select * from {{ source('stripe', 'product') }}
)

select
    cast(id as {{ dbt.type_string() }}) as product_id,
    coalesce({{ text_or_null('name') }}, cast(id as {{ dbt.type_string() }})) as product_name
from product
