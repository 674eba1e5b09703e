{{ config(materialized='table', tags=['monthly']) }}
-- int_product_snapshot_amounts at the month grain: each month's snapshot.
{{ snapshot_amounts('month') }}
