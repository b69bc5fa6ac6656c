{{ config(materialized='view') }}
-- A view on a table: on Postgres it must survive the table being replaced.
select segment, count(*) as users, sum(total_amount) as amount
from {{ ref('user_totals') }}
group by segment
