{{ config(materialized='table') }}
-- Whether the delivery has any ARR to report (one row), read when dbt fails: a delivery
-- without a recurring or usage charge in force at any reported snapshot is rejected, saying
-- why (pipeline/gate.py, no_arr_rejection). Built from the intermediate models, so it exists
-- even when the marts' tests fail on empty tables.
select
    (select min(effective_start)
     from {{ ref('int_billing_charges') }}
     where {{ arr_bearing_for_a_day() }}) as first_charge_start,
    (select count(*) from {{ ref('int_product_snapshot_amounts') }}) > 0 as has_arr,
    -- Usage charges the usage ARR policy leaves without ARR (NRR_USAGE_ARR = exclude), in
    -- force for a day and starting on or before as-of: what a delivery of usage only has.
{%- if usage_arr_policy() == 'exclude' %}
    (select count(*)
     from {{ ref('int_billing_charges') }}
     where charge_type = 'usage'
       and (effective_end is null or effective_end > effective_start)
       and effective_start <= {{ as_of_date() }}) > 0 as has_excluded_usage
{%- else %}
    false as has_excluded_usage
{%- endif %}
