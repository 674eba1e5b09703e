{#- quarter_label reads FY<fiscal_year>-Q<fiscal_quarter>, with a four-digit year and a
    quarter 1-4 (the format the reports, the workbook and the restatements key on). -#}
{% test quarter_label_format(model, column_name) %}
select *
from {{ model }}
where fiscal_year < 1000 or fiscal_year > 9999
   or fiscal_quarter < 1 or fiscal_quarter > 4
   or {{ column_name }} <> {{ dbt.concat([
        "'FY'", "cast(fiscal_year as " ~ dbt.type_string() ~ ")",
        "'-Q'", "cast(fiscal_quarter as " ~ dbt.type_string() ~ ")",
    ]) }}
{% endtest %}
