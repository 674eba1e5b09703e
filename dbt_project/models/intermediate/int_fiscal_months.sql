{{ config(materialized='table', tags=['monthly']) }}  -- read by several models and tests: computed once
-- One row per fiscal month of the report (FY2026-M01: the first month of the fiscal year):
-- the same spine as int_fiscal_quarters at the month grain (macros/fiscal.sql,
-- fiscal_periods). Built when NRR_PERIODS is quarter,month.
{{ fiscal_periods(ref('int_billing_charges'), 'month') }}
