{#- Every value lies in [min_value, max_value]; a bound left out is not checked. -#}
{% test between(model, column_name, min_value=none, max_value=none) %}
select *
from {{ model }}
where {% if min_value is not none %}{{ column_name }} < {{ min_value }}{% else %}1 = 0{% endif %}
   or {% if max_value is not none %}{{ column_name }} > {{ max_value }}{% else %}1 = 0{% endif %}
{% endtest %}
