{{ config(materialized='table', tags=['monthly']) }}  -- read by several models and tests: computed once
-- int_customer_quarter_arr at the month grain.
{{ customer_period_arr('month') }}
