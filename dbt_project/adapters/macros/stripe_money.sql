{#- Stripe's money rules, written once (docs/sources.md, "Stripe"). -#}

{#- Currencies Stripe quotes in whole units (its "zero-decimal currencies"): an amount of
    500 JPY is 500, not 5.00. Every other currency is in minor units (cents). -#}
{% macro stripe_zero_decimal_currencies() -%}
  ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf')
{%- endmacro %}

{#- An amount in Stripe's integer units as a DECIMAL in major units (exact: a multiplication). -#}
{% macro stripe_major_units(amount, currency) -%}
  cast(
    case
      when lower({{ currency }}) in {{ stripe_zero_decimal_currencies() }}
        then cast({{ amount }} as decimal(20, 0))
      else cast({{ amount }} as decimal(20, 0)) * cast(0.01 as decimal(3, 2))
    end
    as decimal(20, 6))
{%- endmacro %}
