{#- The rows of a raw extract that are not in the quarantine: the one place quarantined rows
    are excluded (staging reads its extract through this). -#}
{% macro unquarantined(extract) -%}
    select source.*
    from {{ source('raw', extract) }} as source
    left join (
        select row_number as quarantined_row
        from {{ source('raw', 'quarantine') }}
        where extract = '{{ extract }}'
    ) as quarantined
        on quarantined.quarantined_row = source._row_number
    where quarantined.quarantined_row is null
{%- endmacro %}
