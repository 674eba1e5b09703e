{{ config(meta={'dagster': {'ref': {'name': 'int_product_snapshot_amounts'}}}) }}
-- Every charge currency in force at a quarter snapshot has a rate there (macros/period_tests.sql).
{{ every_currency_has_a_rate('quarter') }}
