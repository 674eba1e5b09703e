{{ config(materialized='table') }}  -- read by several models and tests: computed once
-- Every valid account with the customer it reports under: its ultimate parent or, with
-- rollup = account, itself. The ultimate parent comes from the quarantine step's hierarchy
-- walk (the only one: parent loops and unknown parents are row rules there), carried by
-- stg_crm__accounts. The customer's slice columns (var slice_dimensions) come from
-- the customer's own CRM row.
with accounts as (
    select
        account_id,
        {% if run_setting('rollup', 'ultimate_parent') == 'account' -%}
        account_id
        {%- else -%}
        ultimate_parent_id
        {%- endif %} as customer_id
    from {{ ref('stg_crm__accounts') }}
)

select
    accounts.account_id,
    accounts.customer_id,
    customer.account_name as customer_name,
    {{ slice_columns('customer') }}
from accounts
inner join {{ ref('stg_crm__accounts') }} as customer
    on customer.account_id = accounts.customer_id
