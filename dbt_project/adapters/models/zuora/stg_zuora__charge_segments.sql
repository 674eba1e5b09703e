-- Every charge segment once. An amendment makes a new subscription version that repeats
-- the charge's earlier segments (same charge_number and segment) and adds a new segment from
-- the amendment's date; the most recently updated copy of each segment is the one in force
-- (an older version still shows the first segment open-ended).
with charge as (
    select * from {{ source('zuora', 'rate_plan_charge') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by charge_number, segment
            order by cast(updated_date as {{ dbt.type_timestamp() }}) desc, cast(version as integer) desc, id desc
        ) as copy_rank
    from charge
)

select
    cast(id as {{ dbt.type_string() }}) as charge_id,
    cast(charge_number as {{ dbt.type_string() }}) as charge_number,
    cast(segment as integer) as segment,
    cast(account_id as {{ dbt.type_string() }}) as zuora_account_id,
    cast(product_id as {{ dbt.type_string() }}) as product_id,
    cast(product_rate_plan_id as {{ dbt.type_string() }}) as product_rate_plan_id,
    lower(cast(charge_type as {{ dbt.type_string() }})) as charge_type,
    cast(quantity as decimal(18, 4)) as quantity,
    cast(mrr as decimal(20, 6)) as mrr,
    {{ to_date('effective_start_date') }} as effective_start,
    {{ to_date('effective_end_date') }} as effective_end,
    cast(updated_date as {{ dbt.type_timestamp() }}) as updated_at
from ranked
where copy_rank = 1
