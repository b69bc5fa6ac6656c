{{ config(materialized='incremental', unique_key='order_date', incremental_strategy='merge') }}

-- Revenue per day; later builds only merge the days at or after the last one loaded.
select
    order_date,
    count(*) as orders,
    sum(amount) as revenue
from {{ ref('stg_orders') }}
where status = 'completed'
{% if is_incremental() %}
  and order_date >= (select max(order_date) from {{ this }})
{% endif %}
group by order_date
