{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- Each customer's start and end ARR per quarter, the motion totals, and its end ARR at the
-- previous quarter's own rate (macros/period_models.sql, customer_period_arr).
{{ customer_period_arr('quarter') }}
