-- The ARR bridge per quarter and slice (macros/period_models.sql, arr_bridge).
{{ arr_bridge('quarter') }}
