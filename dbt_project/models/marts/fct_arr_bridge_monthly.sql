{{ config(tags=['monthly']) }}
-- The ARR bridge per fiscal month and slice (macros/period_models.sql, arr_bridge).
{{ arr_bridge('month') }}
