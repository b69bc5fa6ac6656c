SELECT
  order_id,
  customer_id,
  CAST(order_date AS DATE) AS order_date,
  {{ cents_to_dollars('amount_cents') }} AS amount,
  status
FROM {{ ref('orders') }}
WHERE
  status <> 'cancelled'
