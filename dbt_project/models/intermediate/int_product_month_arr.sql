{{ config(materialized='table', tags=['monthly']) }}  -- read by several models and tests: computed once
-- int_product_quarter_arr at the month grain: start = the previous month's snapshot.
{{ product_period_arr('month') }}
