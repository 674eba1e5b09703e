-- fct_arr_bridge_steps: in every quarter and slice, previous_end + fx = start, and start plus
-- the signed movement steps = end, to the last decimal; nine steps, each at its place 1-9
-- (a join on the expected order, not an ordered string_agg: Spark's listagg has no order).
{%- set order = ['previous_end', 'fx', 'start', 'new', 'reactivation', 'expansion',
                 'contraction', 'churn', 'end'] %}
with steps as (
    select * from {{ ref('fct_arr_bridge_steps') }}
),

expected_order as (
    {%- for step in order %}
    {{ 'union all' if not loop.first }}
    select '{{ step }}' as step, {{ loop.index }} as step_order
    {%- endfor %}
),

per_slice as (
    select
        steps.quarter_label,
        steps.dimension,
        steps.dimension_value,
        count(*) as steps,
        sum(case when expected_order.step is null then 0 else 1 end) as steps_in_place,
        sum(case when steps.step = 'previous_end' then steps.amount end) as previous_end,
        sum(case when steps.step = 'fx' then steps.amount end) as fx,
        sum(case when steps.step = 'start' then steps.amount end) as start_amount,
        sum(case when steps.step in ('new', 'reactivation', 'expansion', 'contraction', 'churn')
                 then steps.amount end) as movements,
        sum(case when steps.step = 'end' then steps.amount end) as end_amount
    from steps
    left join expected_order
        on expected_order.step = steps.step and expected_order.step_order = steps.step_order
    group by steps.quarter_label, steps.dimension, steps.dimension_value
)

select *
from per_slice
where steps <> 9
   or steps_in_place <> 9
   or previous_end + fx <> start_amount
   or start_amount + movements <> end_amount
