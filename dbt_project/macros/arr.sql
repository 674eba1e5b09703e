{#-
  The recurring and usage charges of a charges relation with the customer each reports under
  (int_customer_accounts: the rollup applied): what the ARR models and the customer-level
  rules value.
-#}
{% macro arr_bearing_charges(charges) -%}
select
    charges.source_row_number,
    accounts.customer_id,
    charges.product,
    charges.charge_type,
    charges.currency,
    charges.quantity,
    charges.amount,
    charges.billing_period_months,
    charges.effective_start,
    charges.effective_end
from {{ charges }} as charges
inner join {{ ref('int_customer_accounts') }} as accounts
    on accounts.account_id = charges.account_id
where charges.charge_type in ('recurring', 'usage')
{%- endmacro %}

{#-
  Each customer's recurring and usage ARR per product at each snapshot of `quarters` (a
  period spine; its index column is the grain's: quarter_index, month_index), in the
  charge currency (converted later, at the rate the comparison needs). `charges` carries
  customer_id, product, charge_type, currency, quantity, amount, billing_period_months,
  effective_start and effective_end. A charge is in force at t when effective_start <= t <
  effective_end (open end: still in force). ARR of a charge = amount x 12 /
  billing_period_months. Quantity counts non-negative recurring lines only: a negative
  recurring line is a discount and moves the unit price, not the seats.
-#}
{% macro product_snapshot_amounts(charges, quarters, grain='quarter') -%}
select
    charges.customer_id,
    charges.product,
    charges.currency,
    quarters.{{ period_grain(grain)['index'] }} as snapshot_index,
    cast(sum(case when charges.charge_type = 'recurring'
                  then {{ divide_exact('charges.amount * 12', 'charges.billing_period_months', 10) }}
                  else 0 end)
        as decimal(38, 10)) as recurring_arr_local,
    cast(sum(case when charges.charge_type = 'usage'
                  then {{ divide_exact('charges.amount * 12', 'charges.billing_period_months', 10) }}
                  else 0 end)
        as decimal(38, 10)) as usage_arr_local,
    cast(sum(case when charges.charge_type = 'recurring' and charges.amount >= 0
                  then charges.quantity else 0 end) as decimal(18, 4)) as quantity
from {{ charges }} as charges
inner join {{ quarters }} as quarters
    on charges.effective_start <= quarters.snapshot_date
    and (charges.effective_end is null or quarters.snapshot_date < charges.effective_end)
where charges.charge_type in ('recurring', 'usage')
group by charges.customer_id, charges.product, charges.currency, quarters.{{ period_grain(grain)['index'] }}
{%- endmacro %}

{#-
  The rate in force at each snapshot of `periods` (a period spine at `grain`) for each
  currency: the latest rate_date on or before the snapshot. The reporting currency is always
  1. The index column is the grain's (quarter_index, month_index).
-#}
{% macro fx_rates_at_snapshots(periods, grain='quarter') -%}
{%- set index = period_grain(grain)['index'] -%}
select latest.{{ index }}, latest.currency, rates.rate_to_reporting as rate
from (
    select quarters.{{ index }}, rates.currency, max(rates.rate_date) as rate_date
    from {{ periods }} as quarters
    inner join {{ ref('stg_fx__rates') }} as rates
        on rates.rate_date <= quarters.snapshot_date
    where rates.currency <> {{ reporting_currency() }}
    group by quarters.{{ index }}, rates.currency
) as latest
inner join {{ ref('stg_fx__rates') }} as rates
    on rates.currency = latest.currency and rates.rate_date = latest.rate_date

union all

select {{ index }}, {{ reporting_currency() }} as currency, cast(1 as decimal(30, 18)) as rate
from {{ periods }}
{%- endmacro %}

{#-
  A customer's ARR in the reporting currency from its product amounts (alias `amounts`) at
  a rate (alias `rates`): each product's recurring and usage ARR converted and rounded to
  the millionth, then summed. An aggregate: group by the customer and the snapshot pair.
-#}
{% macro customer_arr(amounts='amounts', rates='rates') -%}
cast(sum(
    {{ to_reporting_currency(amounts ~ '.recurring_arr_local', rates ~ '.rate') }}
    + {{ to_reporting_currency(amounts ~ '.usage_arr_local', rates ~ '.rate') }}
) as {{ money_type() }})
{%- endmacro %}
