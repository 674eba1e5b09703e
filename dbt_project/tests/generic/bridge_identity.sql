{#- end = start + new + reactivation + expansion - contraction - churn, to the last decimal. -#}
{% test bridge_identity(model) %}
select *
from {{ model }}
where end_arr <> start_arr + new_arr + reactivation_arr + expansion_arr - contraction_arr - churn_arr
{% endtest %}
