{#- Months from the start of the fiscal year to the month of a date (0-11). -#}
{% macro fiscal_month_offset(date_expr) -%}
  ((extract(month from {{ date_expr }}) - {{ fiscal_year_start_month() }} + 12) % 12)
{%- endmacro %}

{#- First day of the fiscal quarter containing a date. -#}
{% macro fiscal_quarter_start(date_expr) -%}
  cast({{ dbt.dateadd('month', '-1 * (' ~ fiscal_month_offset(date_expr) ~ ' % 3)',
                      'cast(' ~ dbt.date_trunc('month', date_expr) ~ ' as date)') }} as date)
{%- endmacro %}
