{{ config(meta={'dagster': {'ref': {'name': 'int_fiscal_quarters'}}}) }}
-- The reported quarters end with the one that holds as-of (macros/period_tests.sql).
{{ last_period_contains_as_of('quarter') }}
