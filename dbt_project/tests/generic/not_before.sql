{#- The column's date is never before other_column's date on the same row. -#}
{% test not_before(model, column_name, other_column) %}
select *
from {{ model }}
where {{ column_name }} < {{ other_column }}
{% endtest %}
