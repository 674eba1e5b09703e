{#- Run settings as SQL literals. as_of_date has no default: a run must say which day it is. -#}
{% macro as_of_date() -%}
  {%- set value = var('as_of_date') -%}
  {%- if value is none and execute -%}
    {{ exceptions.raise_compiler_error("var 'as_of_date' is required (the pipeline passes NRR_AS_OF or the delivery date)") }}
  {%- endif -%}
  cast('{{ value or "1970-01-01" }}' as date)
{%- endmacro %}

{% macro fiscal_year_start_month() -%}
  {%- set month = var('fiscal_year_start_month') | int -%}
  {%- if month < 1 or month > 12 -%}
    {{ exceptions.raise_compiler_error("var 'fiscal_year_start_month' must be 1-12, got " ~ month) }}
  {%- endif -%}
  {{ month }}
{%- endmacro %}

{% macro reporting_currency() -%}
  '{{ var("reporting_currency") | upper }}'
{%- endmacro %}
