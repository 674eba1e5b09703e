-- One row per customer per fiscal quarter in which it had ARR at either snapshot.
-- See the doc block "arr_movements" for the rules (macros/period_models.sql, arr_movements).
{{ arr_movements('quarter') }}
