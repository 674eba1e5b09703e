{#- A customer's cohort: the first period with end ARR > 0. customer_periods has
    customer_id, the grain's index (quarter_index, month_index) and end_arr
    (int_customer_quarter_arr / int_customer_month_arr or a CTE over it). -#}
{% macro customer_cohorts(customer_periods, grain='quarter') -%}
    select customer_id, min({{ period_grain(grain)['index'] }}) as cohort_index
    from {{ customer_periods }}
    where end_arr > 0
    group by customer_id
{%- endmacro %}
