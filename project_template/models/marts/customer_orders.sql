-- One row per customer with the order history features the churn model uses.
with orders as (
    select * from {{ ref('stg_orders') }} where status = 'completed'
),

per_customer as (
    select
        customer_id,
        count(*) as order_count,
        sum(amount) as lifetime_value,
        max(order_date) as last_order_date,
        min(order_date) as first_order_date
    from orders
    group by customer_id
)

select
    c.customer_id,
    c.customer_name,
    c.country,
    c.plan,
    coalesce(p.order_count, 0) as order_count,
    coalesce(p.lifetime_value, 0) as lifetime_value,
    {{ safe_divide('p.lifetime_value', 'p.order_count') }} as avg_order_value,
    p.last_order_date,
    date_diff('day', coalesce(p.last_order_date, c.signup_date), date '{{ var("as_of_date") }}') as days_since_last_order
from {{ ref('stg_customers') }} as c
left join per_customer as p using (customer_id)
