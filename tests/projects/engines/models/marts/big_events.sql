{{ config(materialized='ephemeral') }}
-- Inlined as a CTE into its children; never built.
select event_id, user_id, amount
from {{ ref('stg_events') }}
where amount > {{ var('big_amount') }}
