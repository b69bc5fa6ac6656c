{{ config(materialized='incremental', unique_key=['user_id', 'event_date'], incremental_strategy='delete+insert') }}
-- Per user and day; later builds re-compute the days from the last one loaded on (composite key).
select
    user_id,
    event_date,
    count(*) as events,
    sum(amount) as amount
from {{ ref('stg_events') }}
{% if is_incremental() %}
where event_date >= (select max(event_date) from {{ this }})
{% endif %}
group by user_id, event_date
