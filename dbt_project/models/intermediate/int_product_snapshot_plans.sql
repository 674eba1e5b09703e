{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- The set of plans of each customer's product at each quarter snapshot, from its non-negative
-- recurring lines (macros/period_models.sql, product_snapshot_plans).
{{ product_snapshot_plans('quarter') }}
