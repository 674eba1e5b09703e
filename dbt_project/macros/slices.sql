{#- The slice dimensions (var slice_dimensions in dbt_project.yml): CRM columns every mart
    carries and every report is cut by. -#}
{% macro slice_dimensions() -%}
  {{ return(var('slice_dimensions')) }}
{%- endmacro %}

{#- "alias.segment, alias.region, ..." (a trailing comma when trailing is true). -#}
{% macro slice_columns(alias=none, trailing=false) -%}
  {%- for dimension in slice_dimensions() -%}
    {{ alias ~ '.' if alias }}{{ dimension }}{{ ', ' if not loop.last or trailing }}
  {%- endfor -%}
{%- endmacro %}
