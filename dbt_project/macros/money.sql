{#-
  Money types and exact division. ARR is kept at 6 decimal places (a millionth of a currency
  unit) and rounded to cents only when presented.
-#}
{% macro money_type() -%} decimal(38, 6) {%- endmacro %}

{#-
  numerator / denominator rounded half away from zero to `scale` decimals, without floating
  point. The numerator may have at most scale + denominator_scale decimals, the denominator at
  most denominator_scale; the denominator must be > 0.
-#}
{% macro divide_exact(numerator, denominator, scale, denominator_scale=0) -%}
  {{ return(adapter.dispatch('divide_exact', 'nrr')(numerator, denominator, scale, denominator_scale)) }}
{%- endmacro %}

{% macro default__divide_exact(numerator, denominator, scale, denominator_scale) -%}
  cast(({{ numerator }}) / ({{ denominator }}) as decimal(38, {{ scale }}))
{%- endmacro %}

{#- DuckDB turns decimal division into DOUBLE, so divide scaled integers instead. -#}
{% macro duckdb__divide_exact(numerator, denominator, scale, denominator_scale) -%}
  {%- set n -%} cast(({{ numerator }}) * {{ 10 ** (scale + denominator_scale) }} as hugeint) {%- endset -%}
  {%- set d -%} cast(({{ denominator }}) * {{ 10 ** denominator_scale }} as hugeint) {%- endset -%}
  (cast(sign({{ n }}) * ((abs({{ n }}) * 2 + {{ d }}) // (2 * {{ d }})) as decimal(38, 0))
   * cast('{{ "%.*f" | format(scale, 10 ** -scale) }}' as decimal(38, {{ scale }})))
{%- endmacro %}
