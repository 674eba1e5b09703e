{#-
  A delivered row's values as the quarantine shows them (raw_record): a JSON object of the
  extract's columns (every column of the raw table not starting with '_', in the table's
  order, which is the contract's), text as delivered, null as null. The same text the row
  rules write for the rows they reject (pipeline/rules/grammar.py, with_raw_record).
-#}
{% macro raw_record(relation, alias) -%}
  {%- set columns = [] -%}
  {%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- if not column.name.startswith('_') -%}{%- do columns.append(column.name) -%}{%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if not columns -%}
    cast(null as {{ dbt.type_string() }})
  {%- else -%}
    {{ return(adapter.dispatch('raw_record', 'nrr')(columns, alias)) }}
  {%- endif -%}
{%- endmacro %}

{% macro default__raw_record(columns, alias) -%}
  to_json(named_struct(
    {%- for name in columns %}'{{ name }}', {{ alias }}.{{ name }}{{ ', ' if not loop.last }}{% endfor -%}
  ), map('ignoreNullFields', 'false'))
{%- endmacro %}

{% macro duckdb__raw_record(columns, alias) -%}
  cast(json_object(
    {%- for name in columns %}'{{ name }}', {{ alias }}.{{ name }}{{ ', ' if not loop.last }}{% endfor -%}
  ) as {{ dbt.type_string() }})
{%- endmacro %}
