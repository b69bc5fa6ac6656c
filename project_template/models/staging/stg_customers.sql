select
    customer_id,
    trim(name) as customer_name,
    upper(country) as country,
    plan,
    cast(signup_date as date) as signup_date
from {{ ref('customers') }}
