-- The ARR bridge in long format, for BI waterfalls (Metabase, Superset, Evidence): one row per
-- quarter, slice and step, in reading order (step_order): the previous quarter's end, the
-- currency effect, this quarter's start, new, reactivation, expansion, contraction, churn,
-- end. amount is signed (contraction and churn negative), so the movement steps add up:
-- previous_end + fx = start and start + new + reactivation + expansion + contraction + churn
-- = end. Read from fct_arr_bridge; slices as there (dimension = 'all' for the totals).
{%- set steps = [
    ("previous_end", "Previous quarter end", "total", "start_arr - fx_arr"),
    ("fx", "FX", "movement", "fx_arr"),
    ("start", "Start", "total", "start_arr"),
    ("new", "New", "movement", "new_arr"),
    ("reactivation", "Reactivation", "movement", "reactivation_arr"),
    ("expansion", "Expansion", "movement", "expansion_arr"),
    ("contraction", "Contraction", "movement", "-contraction_arr"),
    ("churn", "Churn", "movement", "-churn_arr"),
    ("end", "End", "total", "end_arr"),
] %}

with bridge as (
    select * from {{ ref('fct_arr_bridge') }}
)

{% for step, label, kind, amount in steps %}
{% if not loop.first %}union all{% endif %}
select
    quarter_label,
    quarter_start,
    snapshot_date,
    is_complete,
    dimension,
    dimension_value,
    cast({{ loop.index }} as integer) as step_order,
    cast('{{ step }}' as {{ dbt.type_string() }}) as step,
    cast('{{ label }}' as {{ dbt.type_string() }}) as step_label,
    cast('{{ kind }}' as {{ dbt.type_string() }}) as step_kind,
    cast({{ amount }} as {{ money_type() }}) as amount,
    cast({{ reporting_currency() }} as {{ dbt.type_string() }}) as reporting_currency
from bridge
{% endfor %}
