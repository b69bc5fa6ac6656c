SELECT
  customer_id,
  TRIM(name) AS customer_name,
  UPPER(country) AS country,
  plan,
  CAST(signup_date AS DATE) AS signup_date
FROM {{ ref('customers') }}
