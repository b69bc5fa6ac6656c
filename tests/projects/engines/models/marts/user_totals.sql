-- One row per user: counts, sums, dates, a CASE and a join to an ephemeral model.
with per_user as (
    select
        user_id,
        count(*) as events,
        count(amount) as priced_events,
        sum(amount) as total_amount,
        avg(amount) as avg_amount,
        min(event_date) as first_event,
        max(happened_at) as last_seen
    from {{ ref('stg_events') }}
    group by user_id
),
big as (
    select user_id, count(*) as big_events from {{ ref('big_events') }} group by user_id
)
select
    u.user_id,
    u.name,
    u.zip,
    u.signup_date,
    coalesce(p.events, 0) as events,
    coalesce(p.priced_events, 0) as priced_events,
    coalesce(p.total_amount, 0) as total_amount,
    p.avg_amount,
    p.first_event,
    p.last_seen,
    coalesce(b.big_events, 0) as big_events,
    case
        when p.total_amount is null then 'none'
        when p.total_amount >= 50 then 'high'
        else 'low'
    end as segment,
    u.score * 2 as double_score
from {{ ref('stg_users') }} as u
left join per_user as p on p.user_id = u.user_id
left join big as b on b.user_id = u.user_id
