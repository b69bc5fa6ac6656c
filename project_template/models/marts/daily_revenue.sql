{{ config(materialized='incremental', unique_key='order_date', incremental_strategy='merge') }}

-- Revenue per day; later builds only merge the days at or after the last one loaded.
SELECT
  order_date,
  COUNT(*) AS orders,
  SUM(amount) AS revenue
FROM {{ ref('stg_orders') }}
WHERE
  status = 'completed'
  {% if is_incremental() %}
  AND order_date >= (
    SELECT
      MAX(order_date)
    FROM {{ this }}
  )
  {% endif %}
GROUP BY
  order_date
