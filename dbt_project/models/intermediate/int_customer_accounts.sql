{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- Every valid account with the customer it reports under: its ultimate parent (follow
-- parents to the top) or, with rollup = account, itself. The customer's slice columns (var
-- slice_dimensions) come from the customer's own CRM row. Parent loops and unknown parents never get
-- here: the quarantine step removed them, so the walk down from the top always ends.
with recursive accounts as (
    select account_id, parent_account_id from {{ ref('stg_crm__accounts') }}
),

chain as (
    select account_id, account_id as ultimate_parent_id
    from accounts
    where parent_account_id is null

    union all

    select child.account_id, chain.ultimate_parent_id
    from accounts as child
    inner join chain on child.parent_account_id = chain.account_id
)

select
    chain.account_id,
    {% if run_setting('rollup', 'ultimate_parent') == 'account' -%}
    chain.account_id
    {%- else -%}
    chain.ultimate_parent_id
    {%- endif %} as customer_id,
    customer.account_name as customer_name,
    {{ slice_columns('customer') }}
from chain
inner join {{ ref('stg_crm__accounts') }} as customer
    on customer.account_id = {% if run_setting('rollup', 'ultimate_parent') == 'account' %}chain.account_id{% else %}chain.ultimate_parent_id{% endif %}
