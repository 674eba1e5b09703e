{#-
  The charge types that carry ARR, as a SQL list: recurring and usage, or recurring only when
  the usage ARR policy is exclude (NRR_USAGE_ARR; usage then carries no ARR anywhere: not in
  the snapshots, the report's quarters, the customer-level rules or the quarantine's value).
-#}
{% macro arr_charge_types() -%}
  {{ "'recurring'" if usage_arr_policy() == 'exclude' else "'recurring', 'usage'" }}
{%- endmacro %}

{#-
  The dates at which trailing_3_period_average samples the usage charges in force for the
  snapshot at `snapshot_date`: the snapshot itself and the last day of each of the two calendar
  months before its month (2025-09-30: 09-30, 08-31, 07-31; 2025-11-23: 11-23, 10-31, 09-30).
-#}
{% macro usage_sample_dates(snapshot_date) -%}
  {%- set month_start = 'cast(' ~ dbt.date_trunc('month', snapshot_date) ~ ' as date)' -%}
  {{ return([
      snapshot_date,
      'cast(' ~ dbt.dateadd('day', -1, month_start) ~ ' as date)',
      'cast(' ~ dbt.dateadd('day', -1, dbt.dateadd('month', -1, month_start)) ~ ' as date)',
  ]) }}
{%- endmacro %}

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
where charges.charge_type in ({{ arr_charge_types() }})
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
  Usage charges follow the usage ARR policy (NRR_USAGE_ARR, macro usage_arr_policy; every ARR
  figure goes through here, so this is the one place it is applied):
    run_rate                   the usage charges in force at t, annualised (as recurring);
    trailing_3_period_average  12 x the mean monthly usage at three points: t and the last
                               day of each of the two calendar months before t's month (each
                               point's usage charges in force, amount / billing_period_months,
                               summed; a point without usage counts as 0);
    exclude                    usage charges carry no ARR (committed-revenue NRR).
  run_rate and exclude compile to today's single join (no extra work for the default run).
-#}
{% macro product_snapshot_amounts(charges, quarters, grain='quarter') -%}
{%- set index = period_grain(grain)['index'] -%}
{%- set policy = usage_arr_policy() -%}
{%- if policy == 'trailing_3_period_average' -%}
select
    sampled.customer_id,
    sampled.product,
    sampled.currency,
    sampled.snapshot_index,
    cast(sum(sampled.recurring_arr) as decimal(38, 10)) as recurring_arr_local,
    -- the sum of the three points' annualised usage, divided by 3 once: a charge in force at
    -- all three points gives exactly its run rate
    cast({{ divide_exact('sum(sampled.usage_arr)', '3', 10) }} as decimal(38, 10)) as usage_arr_local,
    cast(sum(sampled.quantity) as decimal(18, 4)) as quantity
from (
    select
        charges.customer_id,
        charges.product,
        charges.currency,
        quarters.{{ index }} as snapshot_index,
        {{ divide_exact('charges.amount * 12', 'charges.billing_period_months', 10) }} as recurring_arr,
        cast(0 as decimal(38, 10)) as usage_arr,
        case when charges.amount >= 0 then charges.quantity else 0 end as quantity
    from {{ charges }} as charges
    inner join {{ quarters }} as quarters
        on charges.effective_start <= quarters.snapshot_date
        and (charges.effective_end is null or quarters.snapshot_date < charges.effective_end)
    where charges.charge_type = 'recurring'

    union all

    select
        charges.customer_id,
        charges.product,
        charges.currency,
        points.{{ index }} as snapshot_index,
        cast(0 as decimal(38, 10)) as recurring_arr,
        {{ divide_exact('charges.amount * 12', 'charges.billing_period_months', 10) }} as usage_arr,
        0 as quantity
    from {{ charges }} as charges
    inner join (
        {%- for point in usage_sample_dates('snapshot_date') %}
        {{ 'union all' if not loop.first }}
        select {{ index }}, {{ point }} as point_date from {{ quarters }}
        {%- endfor %}
    ) as points
        on charges.effective_start <= points.point_date
        and (charges.effective_end is null or points.point_date < charges.effective_end)
    where charges.charge_type = 'usage'
) as sampled
group by sampled.customer_id, sampled.product, sampled.currency, sampled.snapshot_index
{%- else -%}
select
    charges.customer_id,
    charges.product,
    charges.currency,
    quarters.{{ index }} as snapshot_index,
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
where charges.charge_type in ({{ arr_charge_types() }})
group by charges.customer_id, charges.product, charges.currency, quarters.{{ index }}
{%- endif %}
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
