-- When each subscription was paid for: the versions whose status bills (active, past_due;
-- trialing, incomplete, paused, unpaid and canceled versions do not), each ended early by the
-- end it had scheduled (cancel_at, or the current period's end when cancel_at_period_end),
-- and adjoining versions merged into one window (a renewal or a metadata edit is a new
-- version, not a new subscription). A null end is open.
with versions as (
    select * from {{ ref('stg_stripe__subscription_versions') }}
),

billed as (
    select
        subscription_id,
        customer_id,
        version_from as window_start,
        {{ nrr_adapters.least_date([
            'version_to',
            'ended_at',
            'cancel_at',
            'case when cancel_at_period_end then current_period_end end',
        ]) }} as window_end
    from versions
    where status in ('active', 'past_due')
),

paid as (
    select * from billed
    where window_end is null or window_end > window_start
),

marked as (
    select
        *,
        case
            when lag(window_end) over (partition by subscription_id order by window_start) >= window_start
                then 0
            else 1
        end as starts_window
    from paid
),

numbered as (
    select
        *,
        sum(starts_window) over (
            partition by subscription_id order by window_start
            rows between unbounded preceding and current row
        ) as window_number
    from marked
)

select
    subscription_id,
    min(customer_id) as customer_id,
    window_number,
    min(window_start) as window_start,
    -- Open when any merged version is open.
    case when count(*) = count(window_end) then max(window_end) end as window_end
from numbered
group by subscription_id, window_number
