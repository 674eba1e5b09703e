{{ config(materialized='table') }}
-- The contract's billing_charges from Zuora: each recurring charge segment at its MRR
-- (Zuora's own monthly value, after its discount charges, which carry a negative MRR), billed
-- monthly, in the account's currency. Usage charges carry MRR only when Zuora rates them;
-- one-time charges and segments without MRR carry no ARR and are left out.
with segments as (
    select * from {{ ref('stg_zuora__charge_segments') }}
),

accounts as (
    select * from {{ ref('stg_zuora__accounts') }}
),

products as (
    select
        cast(id as {{ dbt.type_string() }}) as product_id,
        coalesce({{ text_or_null('name') }}, cast(id as {{ dbt.type_string() }})) as product_name
    from {{ source('zuora', 'product') }}
),

plans as (
    select
        cast(id as {{ dbt.type_string() }}) as product_rate_plan_id,
        coalesce({{ text_or_null('name') }}, cast(id as {{ dbt.type_string() }})) as plan_name
    from {{ source('zuora', 'product_rate_plan') }}
)

select
    segments.charge_number || '#' || cast(segments.segment as {{ dbt.type_string() }}) as charge_id,
    accounts.account_id,
    coalesce(products.product_name, segments.product_id) as product,
    coalesce(plans.plan_name, segments.product_rate_plan_id) as plan,
    segments.charge_type as charge_type,
    cast(coalesce(segments.quantity, 1) as decimal(18, 4)) as quantity,
    cast(segments.mrr as decimal(20, 6)) as amount,
    accounts.currency,
    1 as billing_period_months,
    segments.effective_start,
    segments.effective_end,
    segments.updated_at
from segments
inner join accounts on segments.zuora_account_id = accounts.zuora_account_id
left join products on segments.product_id = products.product_id
left join plans on segments.product_rate_plan_id = plans.product_rate_plan_id
where segments.charge_type in ('recurring', 'usage')
  and segments.mrr is not null and segments.mrr <> 0
  and (segments.effective_end is null or segments.effective_end > segments.effective_start)
