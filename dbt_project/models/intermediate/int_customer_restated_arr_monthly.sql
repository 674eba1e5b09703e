{{ config(materialized='table', tags=['monthly']) }}
-- int_customer_restated_arr at the month grain (TTM: twelve months back).
{{ customer_restated_arr('month') }}
