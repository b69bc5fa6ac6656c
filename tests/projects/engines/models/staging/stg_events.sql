-- A view over the seed; test rows are dropped, kinds normalised.
select
    event_id,
    user_id,
    lower(kind) as kind,
    cast(amount as double) as amount,
    happened_at,
    cast(happened_at as date) as event_date,
    updated_at,
    note
from {{ ref('events') }}
where not is_test
