{{ config(materialized='table') }}
-- A customer's ARR at an earlier quarter's snapshot restated at a later quarter's rate, for
-- the pairs the retention reports compare (macros/period_models.sql, customer_restated_arr).
{{ customer_restated_arr('quarter') }}
