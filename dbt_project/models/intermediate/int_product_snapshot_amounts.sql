{{ config(materialized='table') }}
-- Each customer's recurring and usage ARR per product at each quarter snapshot, in the
-- charge currency (macros/period_models.sql, snapshot_amounts): the charges the marts value.
{{ snapshot_amounts('quarter') }}
