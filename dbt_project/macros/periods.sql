{#-
  The reporting grains (issue 15, item 3), declared once in dbt_project.yml (var
  period_grains; pipeline.retention reads the same var). One period spine serves both, so
  each rule for a period is written once, with the grain as a parameter: `quarter` (3 months,
  FY2026-Q1, the published default) and `month` (1 month, FY2026-M01 by fiscal month: M01 is
  the first month of the fiscal year), built when NRR_PERIODS is quarter,month (models tagged
  monthly). A grain names its columns (quarter_index / month_index, quarter_label /
  month_label, ...) and the models that hold each step at that grain.
-#}
{% macro period_grain(grain) -%}
  {%- set grains = var('period_grains') -%}
  {%- if grain not in grains -%}
    {{ exceptions.raise_compiler_error("grain must be one of " ~ (grains.keys() | list) ~ ", got '" ~ grain ~ "'") }}
  {%- endif -%}
  {{ return(grains[grain]) }}
{%- endmacro %}

{#- ref() of the model holding `step` (a key of period_grain's models) at `grain`. -#}
{% macro period_ref(step, grain) -%}
  {{ return(ref(period_grain(grain)['models'][step])) }}
{%- endmacro %}

{#- TTM compares a period with the snapshot twelve months back (var ttm_lookback_months in
    dbt_project.yml, declared once): 4 quarters, 12 months. The Polars reports derive the
    same (pipeline.dbt_project.ttm_lookback_periods). -#}
{% macro ttm_lookback_periods(grain='quarter') -%}
  {%- set months = var('ttm_lookback_months') | int -%}
  {%- set per_period = period_grain(grain)['months'] -%}
  {%- if months % per_period != 0 -%}
    {{ exceptions.raise_compiler_error("var ttm_lookback_months (" ~ months ~ ") is not a whole number of " ~ grain ~ "s") }}
  {%- endif -%}
  {{ (months // per_period) | int }}
{%- endmacro %}
