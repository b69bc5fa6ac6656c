{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='merge') }}
-- Merges events updated since the last build: corrected rows are updated, new rows inserted.
select event_id, user_id, kind, amount, updated_at, note
from {{ ref('stg_events') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
