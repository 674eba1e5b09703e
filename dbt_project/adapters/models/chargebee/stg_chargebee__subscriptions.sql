-- When each subscription was paid for. From activation (a trial is free: a subscription
-- still in_trial or future has not started) to its cancellation, or to the end of its
-- current term when it is non_renewing (cancellation scheduled). No history: a change of
-- items or quantity shows from the item's current state only.
with subscription as (
    select * from {{ source('chargebee', 'subscription') }}
)

select
    cast(id as {{ dbt.type_string() }}) as subscription_id,
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    lower(cast(status as {{ dbt.type_string() }})) as status,
    coalesce({{ to_date('activated_at') }}, {{ to_date('started_at') }}) as window_start,
    case
        when lower(cast(status as {{ dbt.type_string() }})) = 'cancelled' then {{ to_date('cancelled_at') }}
        when lower(cast(status as {{ dbt.type_string() }})) = 'non_renewing' then {{ to_date('current_term_end') }}
    end as window_end,
    cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at
from subscription
where lower(cast(status as {{ dbt.type_string() }})) in ('active', 'non_renewing', 'cancelled', 'paused')
