-- Each version of each subscription in one shape. With subscription_history every recorded
-- version (from _fivetran_start to _fivetran_end); with only `subscription`, its current
-- version stands for its whole life (a canceled one from its start to ended_at).
{% if var('stripe_using_subscription_history') %}
with history as (
    select * from {{ source('stripe', 'subscription_history') }}
)

select
    cast(id as {{ dbt.type_string() }}) as subscription_id,
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    lower(cast(status as {{ dbt.type_string() }})) as status,
    {{ to_date('_fivetran_start') }} as version_from,
    {{ to_date('_fivetran_end') }} as version_to,
    {{ to_date('cancel_at') }} as cancel_at,
    {{ is_true('cancel_at_period_end') }} as cancel_at_period_end,
    {{ to_date('current_period_end') }} as current_period_end,
    {{ to_date('ended_at') }} as ended_at,
    cast(_fivetran_start as {{ dbt.type_timestamp() }}) as changed_at
from history
{% else %}
with subscription as (
    select * from {{ source('stripe', 'subscription') }}
)

select
    cast(id as {{ dbt.type_string() }}) as subscription_id,
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    -- Without history a canceled subscription's paid life is still known: start to ended_at.
    case when lower(cast(status as {{ dbt.type_string() }})) = 'canceled' then 'active'
         else lower(cast(status as {{ dbt.type_string() }})) end as status,
    -- A trial is free: the paid life starts when the trial ends.
    case
        when {{ to_date('trial_end') }} > {{ to_date('start_date') }} then {{ to_date('trial_end') }}
        else {{ to_date('start_date') }}
    end as version_from,
    cast(null as date) as version_to,
    {{ to_date('cancel_at') }} as cancel_at,
    {{ is_true('cancel_at_period_end') }} as cancel_at_period_end,
    {{ to_date('current_period_end') }} as current_period_end,
    {{ to_date('ended_at') }} as ended_at,
    cast(created as {{ dbt.type_timestamp() }}) as changed_at
from subscription
{% endif %}
