{{ config(tags=['monthly'], meta={'dagster': {'ref': {'name': 'int_fiscal_months'}}}) }}
-- The reported months end with the one that holds as-of (macros/period_tests.sql).
{{ last_period_contains_as_of('month') }}
