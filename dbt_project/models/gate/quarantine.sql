{{ config(materialized='table') }}
-- The published and gated quarantine: the row rules' rejects (from the Python step, raw
-- values included) valued here, by the models that compute the marts. Quarantined charges
-- carry their ARR at stake or the unvalued flag (int_quarantined_charges_valued); a
-- quarantined FX rate a reported snapshot would have used counts as unvalued and its detail
-- says which snapshot (int_quarantined_rates_needed); CRM rows carry no ARR. The charges the
-- customer-level rules exclude (int_charge_exclusions) join the rejects here, with their raw
-- values from raw.billing_charges.
with rejects as (
    select delivery_date, source_file, extract, row_number, reason, detail, raw_record
    from {{ source('raw', 'quarantine_rejects') }}

    union all

    select
        raw_charges._delivery_date as delivery_date,
        raw_charges._source_file as source_file,
        'billing_charges' as extract,
        exclusions.source_row_number as row_number,
        exclusions.reason,
        exclusions.detail,
        {{ raw_record(source('raw', 'billing_charges'), 'raw_charges') }} as raw_record
    from {{ ref('int_charge_exclusions') }} as exclusions
    inner join {{ source('raw', 'billing_charges') }} as raw_charges
        on raw_charges._row_number = exclusions.source_row_number
)

select
    rejects.delivery_date,
    rejects.source_file,
    rejects.extract,
    rejects.row_number,
    rejects.reason,
    case
        when needed.row_number is not null then {{ dbt.concat([
            'rejects.detail',
            "'; the '",
            'cast(needed.snapshot_date as ' ~ dbt.type_string() ~ ')',
            "' snapshot would have used this rate and converted at '",
            "case when needed.used_date is null then 'no rate' else " ~ dbt.concat(["'the '", 'cast(needed.used_date as ' ~ dbt.type_string() ~ ')', "' rate'"]) ~ " end",
            "' instead'",
        ]) }}
        else rejects.detail
    end as detail,
    rejects.raw_record,
    cast(coalesce(valued.arr_at_stake, 0) as {{ money_type() }}) as arr_at_stake,
    case
        when rejects.extract = 'billing_charges' then coalesce(valued.unvalued, false)
        when rejects.extract = 'fx_rates' then needed.row_number is not null
        else false
    end as unvalued
from rejects
left join {{ ref('int_quarantined_charges_valued') }} as valued
    on rejects.extract = 'billing_charges' and valued.row_number = rejects.row_number
left join {{ ref('int_quarantined_rates_needed') }} as needed
    on rejects.extract = 'fx_rates' and needed.row_number = rejects.row_number
