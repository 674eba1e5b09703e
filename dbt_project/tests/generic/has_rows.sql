{#- The model is not empty. -#}
{% test has_rows(model) %}
select count(*) as row_count
from {{ model }}
having count(*) = 0
{% endtest %}
