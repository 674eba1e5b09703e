-- Subscription items: in force from `created`; an item the connector marks deleted
-- (_fivetran_deleted) ended when that was synced (the day the swap or removal was seen).
with item as (
    select * from {{ source('stripe', 'subscription_item') }}
)

select
    cast(id as {{ dbt.type_string() }}) as item_id,
    cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
    cast(plan_id as {{ dbt.type_string() }}) as price_id,
    cast(quantity as decimal(18, 4)) as quantity,
    {{ to_date('created') }} as item_start,
    case when {{ is_true('_fivetran_deleted') }} then {{ to_date('_fivetran_synced') }} end as item_end,
    cast(created as {{ dbt.type_timestamp() }}) as created_at
from item
