select
    user_id,
    upper(name) as name,
    zip,
    cast(signup_date as date) as signup_date,
    coalesce(score, 0) as score
from {{ ref('users') }}
