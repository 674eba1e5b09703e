-- The ARR bridge per quarter and slice: sums of the movement table's amounts and counts of
-- customers per movement. Slices: all/all, then the values of each of var slice_dimensions.
{%- set slices = [("'all'", "'all'")] %}
{%- for dimension in slice_dimensions() %}{% do slices.append(("'" ~ dimension ~ "'", dimension)) %}{% endfor %}
{%- set amounts = ["start_arr", "end_arr", "new_arr", "reactivation_arr", "expansion_arr",
                   "contraction_arr", "churn_arr", "fx_arr", "cross_sell_arr", "product_churn_arr",
                   "seat_arr", "tier_arr", "price_arr", "usage_arr"] %}
{%- set movements = ["new", "reactivation", "expansion", "contraction", "churn", "flat"] %}

with movements as (
    select * from {{ ref('fct_arr_movements') }}
)

{% for dimension, value in slices %}
{% if not loop.first %}union all{% endif %}
select
    fiscal_year,
    fiscal_quarter,
    quarter_label,
    quarter_start,
    quarter_end,
    snapshot_date,
    is_complete,
    cast({{ dimension }} as {{ dbt.type_string() }}) as dimension,
    cast(coalesce({{ value }}, '') as {{ dbt.type_string() }}) as dimension_value,
    {%- for amount in amounts %}
    cast(sum({{ amount }}) as {{ money_type() }}) as {{ amount }},
    {%- endfor %}
    cast(sum(case when start_arr > 0 then 1 else 0 end) as bigint) as starting_customers,
    cast(sum(case when end_arr > 0 then 1 else 0 end) as bigint) as ending_customers,
    {%- for movement in movements %}
    cast(sum(case when movement = '{{ movement }}' then 1 else 0 end) as bigint) as {{ movement }}_customers{{ "," if not loop.last }}
    {%- endfor %}
from movements
group by fiscal_year, fiscal_quarter, quarter_label, quarter_start, quarter_end, snapshot_date,
         is_complete, {{ dimension }}, coalesce({{ value }}, '')
{% endfor %}
