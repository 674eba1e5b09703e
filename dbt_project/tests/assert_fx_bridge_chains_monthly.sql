{{ config(tags=['monthly'], meta={'dagster': {'ref': {'name': 'fct_arr_bridge_monthly'}}}) }}
-- Month to month, per slice: last month's end ARR + this month's fx_arr = this month's
-- start ARR (macros/period_tests.sql).
{{ fx_bridge_chains('month') }}
