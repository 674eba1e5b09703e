{#- A customer's cohort: the first quarter with end ARR > 0. customer_quarters has
    customer_id, quarter_index and end_arr (int_customer_quarter_arr or a CTE over it). -#}
{% macro customer_cohorts(customer_quarters) -%}
    select customer_id, min(quarter_index) as cohort_index
    from {{ customer_quarters }}
    where end_arr > 0
    group by customer_id
{%- endmacro %}

{#- TTM compares a quarter with the snapshot this many quarters back (var in dbt_project.yml;
    the Polars reports read the same var). -#}
{% macro ttm_lookback_quarters() -%}
  {{ var('ttm_lookback_quarters') | int }}
{%- endmacro %}
