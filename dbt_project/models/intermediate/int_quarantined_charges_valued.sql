-- What each quarantined billing_charges row is worth (docs/definitions.md, "unvalued rows"),
-- valued by the same macros the marts convert with. A row may carry revenue unless it is a
-- readable one_time row, or its dates are readable and it is never in force on or before
-- as-of. Such a row is valued at its annualised amount in the reporting currency (absolute
-- value), at the rate of the last day on or before as-of that it is in force (the
-- currency's first rate when it has none that early). It is unvalued when that cannot be
-- done: charge type, dates, amount or period unreadable, currency unknown, or no rate at all.
-- The quarantined rows are the row rules' rejects and the customer-level rules' exclusions.
with rates as (
    select rate_date, currency, rate_to_reporting as rate
    from {{ ref('stg_fx__rates') }}
    where currency <> {{ reporting_currency() }}
),

charges as (
    select
        _row_number as row_number,
        amount,
        billing_period_months,
        currency,
        coalesce(currency_known, false) as currency_known,
        coalesce(charge_type in ({{ arr_charge_types() }}), false) as arr_bearing,
        -- a type that never carries ARR: one_time, and usage when NRR_USAGE_ARR is exclude
        {%- if usage_arr_policy() == 'exclude' %}
        coalesce(charge_type in ('one_time', 'usage'), false) as one_time,
        {%- else %}
        coalesce(charge_type = 'one_time', false) as one_time,
        {%- endif %}
        effective_start is not null and not coalesce(end_unreadable, false) as dates_known,
        effective_start,
        effective_end,
        case
            when effective_end is not null
                 and cast({{ dbt.dateadd('day', -1, 'effective_end') }} as date) < {{ as_of_date() }}
            then cast({{ dbt.dateadd('day', -1, 'effective_end') }} as date)
            else {{ as_of_date() }}
        end as valued_at
    from {{ source('raw', 'checked_billing_charges') }} as checked
    left join {{ ref('int_charge_exclusions') }} as exclusions
        on exclusions.source_row_number = checked._row_number
    where checked.reason is not null or exclusions.source_row_number is not null
),

latest as (
    select charges.row_number, max(rates.rate_date) as rate_date
    from charges
    inner join rates
        on rates.currency = charges.currency and rates.rate_date <= charges.valued_at
    group by charges.row_number
),

first_rates as (
    select currency, min(rate_date) as rate_date from rates group by currency
),

measured as (
    select
        charges.*,
        case
            when charges.currency = {{ reporting_currency() }} then cast(1 as decimal(30, 18))
            else coalesce(at_rate.rate, first_rate.rate)
        end as rate,
        not charges.one_time and (
            not charges.dates_known
            or (charges.effective_start <= {{ as_of_date() }}
                and (charges.effective_end is null or charges.effective_end > charges.effective_start))
        ) as may_carry_arr
    from charges
    left join latest on latest.row_number = charges.row_number
    left join rates as at_rate
        on at_rate.currency = charges.currency and at_rate.rate_date = latest.rate_date
    left join first_rates on first_rates.currency = charges.currency
    left join rates as first_rate
        on first_rate.currency = charges.currency and first_rate.rate_date = first_rates.rate_date
),

judged as (
    select
        measured.*,
        (not arr_bearing or not dates_known or amount is null or billing_period_months is null
         or not currency_known or rate is null) as cannot_value
    from measured
)

select
    row_number,
    cast(case
        when may_carry_arr and not cannot_value
        then abs({{ to_reporting_currency(divide_exact('amount * 12', 'billing_period_months', 10), 'rate') }})
        else 0
    end as {{ money_type() }}) as arr_at_stake,
    may_carry_arr and cannot_value as unvalued
from judged
