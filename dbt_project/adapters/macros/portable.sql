{#- The few expressions whose SQL differs between engines, dispatched by adapter (the rest of
    the adapter models use dbt's cross-database macros). -#}

{#- The text value of one key of a JSON object held as text (Stripe's `metadata`). -#}
{% macro json_text(column, key) %}
  {{ return(adapter.dispatch('json_text', 'nrr_adapters')(column, key)) }}
{% endmacro %}

{% macro duckdb__json_text(column, key) -%}
  json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro default__json_text(column, key) -%}
  get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}

{#- Whole-number division rounded half up, for non-negative integers (DuckDB's `/` on
    integers gives a DOUBLE: money never goes through a float). -#}
{% macro divide_rounded(numerator, denominator) %}
  {{ return(adapter.dispatch('divide_rounded', 'nrr_adapters')(numerator, denominator)) }}
{% endmacro %}

{% macro duckdb__divide_rounded(numerator, denominator) -%}
  ((2 * cast({{ numerator }} as bigint) + cast({{ denominator }} as bigint)) // (2 * cast({{ denominator }} as bigint)))
{%- endmacro %}

{% macro default__divide_rounded(numerator, denominator) -%}
  ((2 * cast({{ numerator }} as bigint) + cast({{ denominator }} as bigint)) div (2 * cast({{ denominator }} as bigint)))
{%- endmacro %}

{#- A timestamp (text such as `2025-01-15T10:00:00Z`, or a TIMESTAMP) as its UTC date. -#}
{% macro to_date(column) -%}
  cast(cast({{ column }} as {{ dbt.type_timestamp() }}) as date)
{%- endmacro %}

{#- A value as text, blank text as null. -#}
{% macro text_or_null(column) -%}
  nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- Connector booleans (true/false, t/f, 1/0, as text or boolean) as a boolean, null as false. -#}
{% macro is_true(column) -%}
  (lower(coalesce(cast({{ column }} as {{ dbt.type_string() }}), 'false')) in ('true', 't', '1'))
{%- endmacro %}

{#- The earliest of several dates, ignoring nulls (null when all are null). Written out as a
    CASE chain because least() treats null differently across engines. -#}
{% macro least_date(expressions) -%}
  {%- set ns = namespace(sql=expressions[0]) -%}
  {%- for expression in expressions[1:] -%}
    {%- set ns.sql = 'case when (' ~ ns.sql ~ ') is null then (' ~ expression ~ ') when (' ~ expression ~ ') is null then (' ~ ns.sql ~ ') when (' ~ expression ~ ') < (' ~ ns.sql ~ ') then (' ~ expression ~ ') else (' ~ ns.sql ~ ') end' -%}
  {%- endfor -%}
  {{ ns.sql }}
{%- endmacro %}

{#- The later of two dates, ignoring nulls. -#}
{% macro greatest_date(left, right) -%}
  case when ({{ left }}) is null then ({{ right }}) when ({{ right }}) is null then ({{ left }})
       when ({{ right }}) > ({{ left }}) then ({{ right }}) else ({{ left }}) end
{%- endmacro %}
