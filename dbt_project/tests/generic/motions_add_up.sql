{#- The motions split the retained change exactly: their sum is expansion - contraction
    (new, reactivation and churn rows carry no motions). -#}
{% test motions_add_up(model) %}
select *
from {{ model }}
where cross_sell_arr + product_churn_arr + seat_arr + tier_arr + price_arr + usage_arr
      <> expansion_arr - contraction_arr
{% endtest %}
