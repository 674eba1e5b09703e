{{ config(materialized='table', tags=['monthly']) }}  -- read by several models and tests: computed once
-- int_product_snapshot_plans at the month grain.
{{ product_snapshot_plans('month') }}
