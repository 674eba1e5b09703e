{{ config(tags=['monthly']) }}
-- fct_arr_movements at the month grain: one row per customer per fiscal month in which it
-- had ARR at either snapshot (doc block "arr_movements_monthly").
{{ arr_movements('month') }}
