{#- Months from the start of the fiscal year to the month of a date (0-11). -#}
{% macro fiscal_month_offset(date_expr) -%}
  ((extract(month from {{ date_expr }}) - {{ fiscal_year_start_month() }} + 12) % 12)
{%- endmacro %}

{#- First day of the fiscal quarter containing a date. -#}
{% macro fiscal_quarter_start(date_expr) -%}
  cast({{ dbt.dateadd('month', '-1 * (' ~ fiscal_month_offset(date_expr) ~ ' % 3)',
                      'cast(' ~ dbt.date_trunc('month', date_expr) ~ ' as date)') }} as date)
{%- endmacro %}

{#- A recurring or usage charge in force for at least a day: what can put ARR in a report
    (recurring only when NRR_USAGE_ARR is exclude: macros/arr.sql, arr_charge_types). -#}
{% macro arr_bearing_for_a_day() -%}
  charge_type in ({{ arr_charge_types() }}) and (effective_end is null or effective_end > effective_start)
{%- endmacro %}

{#-
  The fiscal quarter spine of a set of charges (a relation or CTE with charge_type,
  effective_start, effective_end): one row per fiscal quarter, from the quarter of the
  earliest recurring or usage charge in force for at least a day and starting on or before
  as-of, to the quarter containing as_of. quarter_index counts from 0; the snapshot of the
  unfinished quarter is as_of (is_complete = false). int_fiscal_quarters is the spine of the
  charges the marts value; the customer-level rules (int_charge_exclusions) need the spine of
  every charge that passed the row rules, before those rules exclude any.
-#}
{% macro fiscal_quarters(charges) -%}
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
    select ones.d + 10 * tens.d + 100 * hundreds.d as quarter_index
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
),

quarters as (
    select
        numbers.quarter_index,
        cast({{ dbt.dateadd('month', '3 * numbers.quarter_index', fiscal_quarter_start('first_charge.first_day')) }} as date)
            as quarter_start
    from first_charge
    cross join numbers
    where first_charge.first_day is not null
),

bounded as (
    select
        quarter_index,
        quarter_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'quarter_start')) }} as date) as quarter_end,
        cast({{ dbt.dateadd('month', '-1 * ' ~ fiscal_month_offset('quarter_start'), 'quarter_start') }} as date)
            as fiscal_year_start
    from quarters
    where quarter_start <= {{ as_of_date() }}
)

select
    cast(quarter_index as integer) as quarter_index,
    cast(extract(year from fiscal_year_start) + {{ 0 if fiscal_year_start_month() | int == 1 else 1 }} as integer)
        as fiscal_year,
    cast(floor({{ fiscal_month_offset('quarter_start') }} / 3) + 1 as integer) as fiscal_quarter,
    {{ dbt.concat([
        "'FY'",
        "cast(cast(extract(year from fiscal_year_start) + " ~ (0 if fiscal_year_start_month() | int == 1 else 1) ~ " as integer) as " ~ dbt.type_string() ~ ")",
        "'-Q'",
        "cast(cast(floor(" ~ fiscal_month_offset('quarter_start') ~ " / 3) + 1 as integer) as " ~ dbt.type_string() ~ ")",
    ]) }} as quarter_label,
    quarter_start,
    quarter_end,
    case when quarter_end <= {{ as_of_date() }} then quarter_end else {{ as_of_date() }} end as snapshot_date,
    quarter_end <= {{ as_of_date() }} as is_complete
from bounded
{%- endmacro %}
