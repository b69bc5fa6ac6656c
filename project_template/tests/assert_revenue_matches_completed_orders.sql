-- A singular test: the query returns the failing rows, so no rows means it passed.
-- Daily revenue must add up to the completed orders it was built from.
select
    (select sum(revenue) from {{ ref('daily_revenue') }}) as revenue,
    (select sum(amount) from {{ ref('stg_orders') }} where status = 'completed') as completed
where abs(
    (select sum(revenue) from {{ ref('daily_revenue') }})
    - (select sum(amount) from {{ ref('stg_orders') }} where status = 'completed')
) > 0.01
