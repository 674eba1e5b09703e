{{ config(materialized='table') }}
-- Each customer's recurring and usage ARR per product at each quarter snapshot, in the
-- charge currency (macros/arr.sql, product_snapshot_amounts): the charges the marts value.
with charges as (
    {{ arr_bearing_charges(ref('int_billing_charges')) }}
)

{{ product_snapshot_amounts('charges', ref('int_fiscal_quarters')) }}
