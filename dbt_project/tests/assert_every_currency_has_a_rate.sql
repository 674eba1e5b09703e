{{ config(meta={'dagster': {'ref': {'name': 'int_product_snapshot_amounts'}}}) }}
-- Every charge currency in force at a snapshot has a rate there (the quarantine step
-- guarantees it); a gap here would silently drop ARR in the conversion join.
select amounts.customer_id, amounts.product, amounts.currency, amounts.snapshot_index
from {{ ref('int_product_snapshot_amounts') }} as amounts
left join {{ ref('int_fx_rates_at_snapshots') }} as rates
    on rates.quarter_index = amounts.snapshot_index and rates.currency = amounts.currency
where rates.rate is null
