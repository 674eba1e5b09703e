{{ config(meta={'dagster': {'ref': {'name': 'int_customer_restated_arr'}}}) }}
-- Restating a snapshot at its own quarter's rate gives that quarter's end ARR exactly
-- (macros/period_tests.sql).
{{ restated_arr_at_own_rate_is_end_arr('quarter') }}
