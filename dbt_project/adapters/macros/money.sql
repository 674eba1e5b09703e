{#- The money and billing-period rules the billing adapters share, written once
    (docs/sources.md). -#}

{#- Currencies billing systems quote in whole units (Stripe's and Chargebee's "zero-decimal
    currencies"): an amount of 500 JPY is 500, not 5.00. Every other currency is in minor
    units (cents). -#}
{% macro zero_decimal_currencies() -%}
  ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf')
{%- endmacro %}

{#- An integer amount in the system's units as a DECIMAL in major units (exact: a
    multiplication, never a division). -#}
{% macro major_units(amount, currency) -%}
  cast(
    case
      when lower({{ currency }}) in {{ zero_decimal_currencies() }}
        then cast({{ amount }} as decimal(20, 0))
      else cast({{ amount }} as decimal(20, 0)) * cast(0.01 as decimal(3, 2))
    end
    as decimal(20, 6))
{%- endmacro %}

{#- Months per billing period: `month` × count, `year` × 12 × count; weeks and days have no
    whole number of months, so their amounts are made monthly (monthly_amount) and billed
    every month. -#}
{% macro period_months(unit, count) -%}
  case when {{ unit }} = 'year' then 12 * {{ count }} when {{ unit }} = 'month' then {{ count }} else 1 end
{%- endmacro %}

{#- The amount per period_months(): unchanged for months and years; a weekly price × 52 / 12,
    a daily one × 365 / 12 (per `count` weeks or days), rounded half up to the micro-unit,
    in integer arithmetic (amounts are never negative here). -#}
{% macro monthly_amount(amount, unit, count) -%}
  case
    when {{ unit }} in ('week', 'day') then cast(
      cast({{ divide_rounded(
          'cast(' ~ amount ~ ' * 1000000 as decimal(38, 0)) * case when ' ~ unit ~ " = 'week' then 52 else 365 end",
          '12 * ' ~ count) }} as decimal(38, 0))
      * cast(0.000001 as decimal(7, 6)) as decimal(20, 6))
    else cast({{ amount }} as decimal(20, 6))
  end
{%- endmacro %}
