{{ config(tags=['monthly'], meta={'dagster': {'ref': {'name': 'int_customer_restated_arr_monthly'}}}) }}
-- Restating a snapshot at its own month's rate gives that month's end ARR exactly
-- (macros/period_tests.sql).
{{ restated_arr_at_own_rate_is_end_arr('month') }}
