-- One row per customer with the order history features the churn model uses.
WITH orders AS (
  SELECT
    *
  FROM {{ ref('stg_orders') }}
  WHERE
    status = 'completed'
), per_customer AS (
  SELECT
    customer_id,
    COUNT(*) AS order_count,
    SUM(amount) AS lifetime_value,
    MAX(order_date) AS last_order_date,
    MIN(order_date) AS first_order_date
  FROM orders
  GROUP BY
    customer_id
)
SELECT
  c.customer_id,
  c.customer_name,
  c.country,
  c.plan,
  COALESCE(p.order_count, 0) AS order_count,
  COALESCE(p.lifetime_value, 0) AS lifetime_value,
  {{ safe_divide('p.lifetime_value', 'p.order_count') }} AS avg_order_value,
  p.last_order_date,
  DATE_DIFF('DAY', COALESCE(p.last_order_date, c.signup_date), CAST('{{ var("as_of_date") }}' AS DATE)) AS days_since_last_order
FROM {{ ref('stg_customers') }} AS c
LEFT JOIN per_customer AS p
  USING (customer_id)
