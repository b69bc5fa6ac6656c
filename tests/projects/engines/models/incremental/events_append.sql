{{ config(materialized='incremental', incremental_strategy='append') }}
-- Appends only events newer than the last one loaded: a corrected old event is not picked up.
select event_id, user_id, kind, amount
from {{ ref('stg_events') }}
{% if is_incremental() %}
where event_id > (select max(event_id) from {{ this }})
{% endif %}
