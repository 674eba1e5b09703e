-- The charges the marts value: those that passed every row rule (stg_billing__charges)
-- less those the customer-level rules exclude (int_charge_exclusions, in the quarantine).
select charges.*
from {{ ref('stg_billing__charges') }} as charges
left join {{ ref('int_charge_exclusions') }} as exclusions
    on exclusions.source_row_number = charges.source_row_number
where exclusions.source_row_number is null
