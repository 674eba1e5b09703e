-- fct_arr_bridge_steps: in every quarter and slice, previous_end + fx = start, and start plus
-- the signed movement steps = end, to the last decimal; nine steps, in order 1-9.
with steps as (
    select * from {{ ref('fct_arr_bridge_steps') }}
),

per_slice as (
    select
        quarter_label,
        dimension,
        dimension_value,
        count(*) as steps,
        string_agg(step, ',' order by step_order) as step_sequence,
        sum(case when step = 'previous_end' then amount end) as previous_end,
        sum(case when step = 'fx' then amount end) as fx,
        sum(case when step = 'start' then amount end) as start_amount,
        sum(case when step in ('new', 'reactivation', 'expansion', 'contraction', 'churn')
                 then amount end) as movements,
        sum(case when step = 'end' then amount end) as end_amount
    from steps
    group by quarter_label, dimension, dimension_value
)

select *
from per_slice
where steps <> 9
   or step_sequence <> 'previous_end,fx,start,new,reactivation,expansion,contraction,churn,end'
   or previous_end + fx <> start_amount
   or start_amount + movements <> end_amount
