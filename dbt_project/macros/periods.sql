{#-
  The reporting grains (issue 15, item 3). One period spine serves both, so each rule for a
  period is written once, with the grain as a parameter: `quarter` (3 months, FY2026-Q1, the
  published default) and `month` (1 month, FY2026-M01 by fiscal month: M01 is the first
  month of the fiscal year), built when NRR_PERIODS is quarter,month (models tagged monthly).
  A grain names its columns (quarter_index / month_index, quarter_label / month_label, ...)
  and the models that hold each step at that grain.
-#}
{% macro period_grain(grain) -%}
  {%- if grain == 'quarter' -%}
    {{ return({
        'name': 'quarter', 'months': 3, 'letter': 'Q', 'padding': 1,
        'index': 'quarter_index', 'number': 'fiscal_quarter', 'label': 'quarter_label',
        'start': 'quarter_start', 'end': 'quarter_end', 'cohort': 'cohort_quarter',
        'models': {
            'spine': 'int_fiscal_quarters',
            'rates': 'int_fx_rates_at_snapshots',
            'amounts': 'int_product_snapshot_amounts',
            'plans': 'int_product_snapshot_plans',
            'product_arr': 'int_product_quarter_arr',
            'customer_arr': 'int_customer_quarter_arr',
            'restated': 'int_customer_restated_arr',
            'movements': 'fct_arr_movements',
            'bridge': 'fct_arr_bridge',
        },
    }) }}
  {%- elif grain == 'month' -%}
    {{ return({
        'name': 'month', 'months': 1, 'letter': 'M', 'padding': 2,
        'index': 'month_index', 'number': 'fiscal_month', 'label': 'month_label',
        'start': 'month_start', 'end': 'month_end', 'cohort': 'cohort_month',
        'models': {
            'spine': 'int_fiscal_months',
            'rates': 'int_fx_rates_at_month_snapshots',
            'amounts': 'int_product_month_snapshot_amounts',
            'plans': 'int_product_month_snapshot_plans',
            'product_arr': 'int_product_month_arr',
            'customer_arr': 'int_customer_month_arr',
            'restated': 'int_customer_restated_arr_monthly',
            'movements': 'fct_arr_movements_monthly',
            'bridge': 'fct_arr_bridge_monthly',
        },
    }) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("grain must be 'quarter' or 'month', got '" ~ grain ~ "'") }}
  {%- endif -%}
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
