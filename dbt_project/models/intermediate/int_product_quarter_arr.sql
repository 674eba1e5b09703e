{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- Each customer's products in each quarter, both snapshots in constant currency, with the
-- motion attribution of metrics.md (macros/period_models.sql, product_period_arr).
{{ product_period_arr('quarter') }}
