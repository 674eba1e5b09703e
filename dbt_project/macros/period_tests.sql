{#- The bodies of the singular tests that hold at every grain (tests/assert_*.sql), written
    once with the grain as a parameter: the quarterly test calls them with 'quarter', the
    monthly test (tagged monthly, run when months are built) with 'month'. -#}

{#- Every charge currency in force at a snapshot has a rate there (the quarantine step
    guarantees it); a gap here would silently drop ARR in the conversion join. -#}
{% macro every_currency_has_a_rate(grain) -%}
select amounts.customer_id, amounts.product, amounts.currency, amounts.snapshot_index
from {{ period_ref('amounts', grain) }} as amounts
left join {{ period_ref('rates', grain) }} as rates
    on rates.{{ period_grain(grain)['index'] }} = amounts.snapshot_index and rates.currency = amounts.currency
where rates.rate is null
{%- endmacro %}

{#- Period to period, per slice: last period's end ARR + this period's fx_arr = this
    period's start ARR (a slice absent last period had no ARR then). -#}
{% macro fx_bridge_chains(grain) -%}
{%- set g = period_grain(grain) -%}
with bridge as (
    select {{ g['index'] }}, bridge.*
    from {{ period_ref('bridge', grain) }} as bridge
    inner join {{ period_ref('spine', grain) }} as quarters
        on quarters.{{ g['label'] }} = bridge.{{ g['label'] }}
)

select current_quarter.{{ g['label'] }}, current_quarter.dimension, current_quarter.dimension_value
from bridge as current_quarter
left join bridge as previous_quarter
    on previous_quarter.{{ g['index'] }} = current_quarter.{{ g['index'] }} - 1
    and previous_quarter.dimension = current_quarter.dimension
    and previous_quarter.dimension_value = current_quarter.dimension_value
where coalesce(previous_quarter.end_arr, 0) + current_quarter.fx_arr <> current_quarter.start_arr
  and current_quarter.dimension = 'all'
{%- endmacro %}

{#- The reported periods end with the one that holds as-of. A range that stops short (a date
    typo stretching history past the spine's generator: 1,000 quarters, 10,000 months) fails
    here. -#}
{% macro last_period_contains_as_of(grain) -%}
{%- set g = period_grain(grain) -%}
select count(*) as {{ g['name'] }}s, min({{ g['start'] }}) as first_{{ g['name'] }}, max({{ g['end'] }}) as last_{{ g['name'] }}
from {{ period_ref('spine', grain) }}
having count(*) > 0
   and sum(case when {{ as_of_date() }} between {{ g['start'] }} and {{ g['end'] }} then 1 else 0 end) <> 1
{%- endmacro %}

{#- Restating a snapshot at its own period's rate must give that period's end ARR exactly. -#}
{% macro restated_arr_at_own_rate_is_end_arr(grain) -%}
select restated.customer_id, restated.snapshot_index
from {{ period_ref('restated', grain) }} as restated
inner join {{ period_ref('customer_arr', grain) }} as customer_quarters
    on customer_quarters.customer_id = restated.customer_id
    and customer_quarters.{{ period_grain(grain)['index'] }} = restated.snapshot_index
where restated.rate_index = restated.snapshot_index
  and restated.arr <> customer_quarters.end_arr
{%- endmacro %}

{#- The label of a period reads FY<fiscal_year>-Q<n> (quarter) or FY<fiscal_year>-M<nn> (month,
    two digits), with a four-digit year: the generic tests quarter_label_format and
    month_label_format. -#}
{% macro period_label_format(model, column_name, grain) %}
{%- set g = period_grain(grain) -%}
{%- set number = "cast(" ~ g['number'] ~ " as " ~ dbt.type_string() ~ ")" -%}
select *
from {{ model }}
where fiscal_year < 1000 or fiscal_year > 9999
   or {{ g['number'] }} < 1 or {{ g['number'] }} > {{ 12 // g['months'] }}
   or {{ column_name }} <> {{ dbt.concat([
        "'FY'", "cast(fiscal_year as " ~ dbt.type_string() ~ ")",
        "'-" ~ g['letter'] ~ "'",
        number if g['padding'] == 1 else dbt.right(dbt.concat(["'0'", number]), 2),
    ]) }}
{% endmacro %}
