{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- The rate in force at each quarter's snapshot for each currency (macros/arr.sql): the
-- latest rate_date on or before the snapshot. The reporting currency is always 1.
{{ fx_rates_at_snapshots(period_ref('spine', 'quarter'), 'quarter') }}
