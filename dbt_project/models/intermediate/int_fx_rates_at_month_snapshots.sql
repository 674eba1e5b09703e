{{ config(materialized='table', tags=['monthly']) }}  -- read by several models and tests: computed once
-- int_fx_rates_at_snapshots at the month grain: the rate in force at each month's snapshot.
{{ fx_rates_at_snapshots(period_ref('spine', 'month'), 'month') }}
