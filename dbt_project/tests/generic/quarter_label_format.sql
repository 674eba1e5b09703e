{#- quarter_label reads FY<fiscal_year>-Q<fiscal_quarter>, with a four-digit year and a
    quarter 1-4 (the format the reports, the workbook and the restatements key on). -#}
{% test quarter_label_format(model, column_name) %}
{{ period_label_format(model, column_name, 'quarter') }}
{% endtest %}

{#- month_label reads FY<fiscal_year>-M<fiscal_month, two digits>, with a four-digit year and
    a month 01-12. -#}
{% test month_label_format(model, column_name) %}
{{ period_label_format(model, column_name, 'month') }}
{% endtest %}
