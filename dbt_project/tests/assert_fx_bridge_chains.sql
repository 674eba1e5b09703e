{{ config(meta={'dagster': {'ref': {'name': 'fct_arr_bridge'}}}) }}
-- Quarter to quarter, per slice: last quarter's end ARR + this quarter's fx_arr = this
-- quarter's start ARR (macros/period_tests.sql).
{{ fx_bridge_chains('quarter') }}
