{#- A cast that yields null instead of failing (DuckDB, Spark >= 3.2 and Snowflake all have
    try_cast). dbt-duckdb's own safe_cast renders a plain cast, hence this macro. -#}
{% macro try_cast(expression, data_type) -%}
  try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}
