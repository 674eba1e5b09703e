{#- A run setting: the --vars value when one is given (dbt unit tests, a manual run), else the
    NRR_DBT_<NAME> environment variable the pipeline gives the dbt subprocess of each run
    (pipeline.dbt_project.dbt_environment; its own process environment is left alone). Read
    when SQL is compiled, not when the project is parsed (then it is the default: no setting
    changes a ref, a source or a config), so a new as-of date every night makes dbt parse
    nothing again: an env_var read while parsing would make dbt re-parse every file that reads
    it whenever its value changes (a changed --vars value re-parses the whole project). -#}
{% macro run_setting(name, default) -%}
  {%- set value = var(name, none) -%}
  {%- if value is none and not execute -%}
    {{ return(default) }}
  {%- endif -%}
  {{ return(value if value is not none else env_var('NRR_DBT_' ~ (name | upper), default)) }}
{%- endmacro %}

{#- Run settings as SQL literals. as_of_date has no default: a run must say which day it is. -#}
{% macro as_of_date() -%}
  {%- set value = run_setting('as_of_date', '') -%}
  {%- if not value and execute -%}
    {{ exceptions.raise_compiler_error("as_of_date is required: the pipeline sets NRR_DBT_AS_OF_DATE (NRR_AS_OF or the delivery date); by hand, pass --vars") }}
  {%- endif -%}
  cast('{{ value or "1970-01-01" }}' as date)
{%- endmacro %}

{% macro fiscal_year_start_month() -%}
  {%- set month = run_setting('fiscal_year_start_month', '1') | int -%}
  {%- if month < 1 or month > 12 -%}
    {{ exceptions.raise_compiler_error("var 'fiscal_year_start_month' must be 1-12, got " ~ month) }}
  {%- endif -%}
  {{ month }}
{%- endmacro %}

{% macro reporting_currency() -%}
  '{{ run_setting("reporting_currency", "USD") | upper }}'
{%- endmacro %}

{#- How usage charges carry ARR (NRR_USAGE_ARR; macros/arr.sql, product_snapshot_amounts): a
    name, not a SQL literal, for Jinja to branch on. -#}
{% macro usage_arr_policy() -%}
  {%- set policy = run_setting('usage_arr', 'run_rate') -%}
  {%- if policy not in ('run_rate', 'trailing_3_period_average', 'exclude') -%}
    {{ exceptions.raise_compiler_error("var 'usage_arr' must be run_rate, trailing_3_period_average or exclude, got " ~ policy) }}
  {%- endif -%}
  {{ return(policy) }}
{%- endmacro %}

{#- How many days after the latest snapshot a scheduled charge end counts as "ending soon"
    (NRR_SIGNAL_HORIZON_DAYS; the watchlist's arr_scheduled_to_end). -#}
{% macro signal_horizon_days() -%}
  {%- set days = run_setting('signal_horizon_days', '90') | int -%}
  {%- if days < 0 -%}
    {{ exceptions.raise_compiler_error("var 'signal_horizon_days' must be >= 0, got " ~ days) }}
  {%- endif -%}
  {{ days }}
{%- endmacro %}
