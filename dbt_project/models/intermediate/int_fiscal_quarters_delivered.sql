{{ config(materialized='table') }}  -- read many times by int_charge_exclusions: computed once
-- The fiscal quarter spine of every charge that passed the row rules (macros/fiscal.sql,
-- fiscal_periods), before the customer-level rules exclude any: the snapshots at which those
-- rules (int_charge_exclusions) check that a charge can be converted and that a customer's
-- ARR is not negative. int_fiscal_quarters is the same spine of the charges left after them.
{{ fiscal_periods(ref('stg_billing__charges'), 'quarter') }}
