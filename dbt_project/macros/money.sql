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

{#-
  A local-currency amount converted at a rate, rounded half away from zero to ARR's
  millionth, from the exact product. Rates carry up to 18 decimals (DECIMAL(30, 18)).
-#}
{% macro to_reporting_currency(local_amount, rate) -%}
  {{ return(adapter.dispatch('to_reporting_currency', 'nrr')(local_amount, rate)) }}
{%- endmacro %}

{#- Engines that round a decimal product to the result type (Spark's precision-loss rule keeps
    6 decimals, rounding half up, i.e. away from zero) convert in one multiplication. -#}
{% macro default__to_reporting_currency(local_amount, rate) -%}
  cast(({{ local_amount }}) * ({{ rate }}) as {{ money_type() }})
{%- endmacro %}

{#- DuckDB keeps every decimal of a product and overflows past 38 digits: DECIMAL(38, 10) x
    DECIMAL(30, 18) has 28 decimals, so at most 10 integer digits. Split the rate into its
    first 6 decimals (high) and the rest (low, < 0.000001): local x high has 16 decimals,
    local x low is small. The exact sum is rounded by truncating local x high to 6 decimals
    and rounding what is left (the same sign, since rates are > 0). -#}
{% macro duckdb__to_reporting_currency(local_amount, rate) -%}
  {%- set micro -%} cast(trunc(({{ rate }}) * 1000000) as decimal(38, 0)) {%- endset -%}
  {%- set high -%} cast({{ micro }} * cast('0.000001' as decimal(7, 6)) as decimal(18, 6)) {%- endset -%}
  {%- set low -%} cast(({{ rate }}) - {{ high }} as decimal(19, 18)) {%- endset -%}
  {%- set high_part -%} (({{ local_amount }}) * {{ high }}) {%- endset -%}
  {%- set nearest -%} round({{ high_part }}, 6) {%- endset -%}
  {%- set truncated -%}
    (case when abs({{ nearest }}) > abs({{ high_part }})
          then {{ nearest }} - sign({{ high_part }}) * cast('0.000001' as decimal(7, 6))
          else {{ nearest }} end)
  {%- endset -%}
  {#- At rate 1 (the reporting currency: most rows) the exact product is the amount itself:
      round it to the millionth, half away from zero, as the general branch would. #}
  cast(case when ({{ rate }}) = 1 then round({{ local_amount }}, 6)
            else {{ truncated }} + round(({{ high_part }} - {{ truncated }}) + ({{ local_amount }}) * {{ low }}, 6)
       end as {{ money_type() }})
{%- endmacro %}
