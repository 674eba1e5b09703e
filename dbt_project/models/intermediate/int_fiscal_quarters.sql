{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- One row per fiscal quarter of the report: the spine of the charges the marts value
-- (macros/fiscal.sql, fiscal_periods), from the quarter of the earliest valid ARR-bearing
-- charge to the quarter containing as_of.
{{ fiscal_periods(ref('int_billing_charges'), 'quarter') }}
