{#- Months from the start of the fiscal year to the month of a date (0-11). -#}
{% macro fiscal_month_offset(date_expr) -%}
  ((extract(month from {{ date_expr }}) - {{ fiscal_year_start_month() }} + 12) % 12)
{%- endmacro %}

{#- First day of the fiscal period of `months` months (3: quarter, 1: month) containing a date. -#}
{% macro fiscal_period_start(date_expr, months) -%}
  cast({{ dbt.dateadd('month', '-1 * (' ~ fiscal_month_offset(date_expr) ~ ' % ' ~ months ~ ')',
                      'cast(' ~ dbt.date_trunc('month', date_expr) ~ ' as date)') }} as date)
{%- endmacro %}

{#- First day of the fiscal quarter containing a date. -#}
{% macro fiscal_quarter_start(date_expr) -%}
  {{ fiscal_period_start(date_expr, 3) }}
{%- endmacro %}

{#- A recurring or usage charge in force for at least a day: what can put ARR in a report
    (recurring only when NRR_USAGE_ARR is exclude: macros/arr.sql, arr_charge_types). -#}
{% macro arr_bearing_for_a_day() -%}
  charge_type in ({{ arr_charge_types() }}) and (effective_end is null or effective_end > effective_start)
{%- endmacro %}

{#-
  The fiscal period spine of a set of charges (a relation or CTE with charge_type,
  effective_start, effective_end) at a grain (macros/periods.sql: quarter or month): one row
  per fiscal period, from the period of the earliest recurring or usage charge in force for
  at least a day and starting on or before as-of, to the period containing as_of. The index
  (quarter_index, month_index) counts from 0; the snapshot of the unfinished period is as_of
  (is_complete = false). Labels: FY2026-Q1 (quarter), FY2026-M01 (month: M01 is the first
  month of the fiscal year), the fiscal year named by the calendar year in which it ends.
  int_fiscal_quarters / int_fiscal_months are the spines of the charges the marts value; the
  customer-level rules (int_charge_exclusions) need the quarter spine of every charge that
  passed the row rules, before those rules exclude any. A quarter's last month has the
  quarter's snapshot_date (its end, or as_of in the unfinished quarter).
-#}
{% macro fiscal_periods(charges, grain='quarter') -%}
{%- set g = period_grain(grain) -%}
{%- set months = g['months'] -%}
{%- set year_shift = 0 if fiscal_year_start_month() | int == 1 else 1 -%}
{%- set number -%}
  {%- if months == 1 -%} {{ fiscal_month_offset(g['start']) }} + 1
  {%- else -%} floor({{ fiscal_month_offset(g['start']) }} / {{ months }}) + 1
  {%- endif -%}
{%- endset -%}
{%- set number_text = "cast(cast(" ~ number ~ " as integer) as " ~ dbt.type_string() ~ ")" -%}
with first_charge as (
    select min(effective_start) as first_day
    from {{ charges }}
    where {{ arr_bearing_for_a_day() }}
      and effective_start <= {{ as_of_date() }}
),

digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

numbers as (
    select ones.d + 10 * tens.d + 100 * hundreds.d{{ ' + 1000 * thousands.d' if months == 1 }} as {{ g['index'] }}
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    {%- if months == 1 %}
    cross join digits as thousands
    {%- endif %}
),

{{ g['name'] }}s as (
    select
        numbers.{{ g['index'] }},
        cast({{ dbt.dateadd('month', months ~ ' * numbers.' ~ g['index'], fiscal_period_start('first_charge.first_day', months)) }} as date)
            as {{ g['start'] }}
    from first_charge
    cross join numbers
    where first_charge.first_day is not null
),

bounded as (
    select
        {{ g['index'] }},
        {{ g['start'] }},
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', months, g['start'])) }} as date) as {{ g['end'] }},
        cast({{ dbt.dateadd('month', '-1 * ' ~ fiscal_month_offset(g['start']), g['start']) }} as date)
            as fiscal_year_start
    from {{ g['name'] }}s
    where {{ g['start'] }} <= {{ as_of_date() }}
)

select
    cast({{ g['index'] }} as integer) as {{ g['index'] }},
    cast(extract(year from fiscal_year_start) + {{ year_shift }} as integer)
        as fiscal_year,
    cast({{ number }} as integer) as {{ g['number'] }},
    {{ dbt.concat([
        "'FY'",
        "cast(cast(extract(year from fiscal_year_start) + " ~ year_shift ~ " as integer) as " ~ dbt.type_string() ~ ")",
        "'-" ~ g['letter'] ~ "'",
        number_text if g['padding'] == 1 else dbt.right(dbt.concat(["'0'", number_text]), 2),
    ]) }} as {{ g['label'] }},
    {{ g['start'] }},
    {{ g['end'] }},
    case when {{ g['end'] }} <= {{ as_of_date() }} then {{ g['end'] }} else {{ as_of_date() }} end as snapshot_date,
    {{ g['end'] }} <= {{ as_of_date() }} as is_complete
from bounded
{%- endmacro %}
