-- One row per customer per fiscal quarter in which it had ARR at either snapshot.
-- See the doc block "arr_movements" for the rules.
with customer_quarters as (
    select * from {{ ref('int_customer_quarter_arr') }}
),

first_arr as (
    {{ customer_cohorts('customer_quarters') }}
),

customers as (
    select distinct customer_id, {{ slice_columns() }}
    from {{ ref('int_customer_accounts') }}
),

classified as (
    select
        customer_quarters.*,
        first_arr.cohort_index,
        case
            when customer_quarters.start_arr = 0 and first_arr.cohort_index = customer_quarters.quarter_index then 'new'
            when customer_quarters.start_arr = 0 then 'reactivation'
            when customer_quarters.end_arr = 0 then 'churn'
            when customer_quarters.end_arr > customer_quarters.start_arr then 'expansion'
            when customer_quarters.end_arr < customer_quarters.start_arr then 'contraction'
            else 'flat'
        end as movement,
        customer_quarters.start_arr > 0 and customer_quarters.end_arr > 0 as is_retained
    from customer_quarters
    left join first_arr on first_arr.customer_id = customer_quarters.customer_id
    where customer_quarters.start_arr > 0 or customer_quarters.end_arr > 0
)

select
    cast(classified.customer_id as {{ dbt.type_string() }}) as customer_id,
    quarters.fiscal_year,
    quarters.fiscal_quarter,
    quarters.quarter_label,
    quarters.quarter_start,
    quarters.quarter_end,
    quarters.snapshot_date,
    quarters.is_complete,
    classified.start_arr,
    classified.end_arr,
    cast(classified.movement as {{ dbt.type_string() }}) as movement,
    cast(case when movement = 'new' then end_arr else 0 end as {{ money_type() }}) as new_arr,
    cast(case when movement = 'reactivation' then end_arr else 0 end as {{ money_type() }}) as reactivation_arr,
    cast(case when movement = 'expansion' then end_arr - start_arr else 0 end as {{ money_type() }}) as expansion_arr,
    cast(case when movement = 'contraction' then start_arr - end_arr else 0 end as {{ money_type() }}) as contraction_arr,
    cast(case when movement = 'churn' then start_arr else 0 end as {{ money_type() }}) as churn_arr,
    cast(classified.start_arr - classified.previous_end_arr as {{ money_type() }}) as fx_arr,
    cast(case when is_retained then cross_sell_arr else 0 end as {{ money_type() }}) as cross_sell_arr,
    cast(case when is_retained then product_churn_arr else 0 end as {{ money_type() }}) as product_churn_arr,
    cast(case when is_retained then seat_arr else 0 end as {{ money_type() }}) as seat_arr,
    cast(case when is_retained then tier_arr else 0 end as {{ money_type() }}) as tier_arr,
    cast(case when is_retained then price_arr else 0 end as {{ money_type() }}) as price_arr,
    cast(case when is_retained then usage_arr else 0 end as {{ money_type() }}) as usage_arr,
    cohorts.quarter_label as cohort_quarter,
    {{ slice_columns('customers') }}
from classified
inner join {{ ref('int_fiscal_quarters') }} as quarters
    on quarters.quarter_index = classified.quarter_index
inner join {{ ref('int_fiscal_quarters') }} as cohorts
    on cohorts.quarter_index = classified.cohort_index
left join customers
    on customers.customer_id = classified.customer_id
