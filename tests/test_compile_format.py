"""`pds format`: sqlglot's style with Jinja kept in place; the formatted project builds the same data."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.compile_project import write_project
from tests.conftest import TEMPLATE, run_pds

# project_template's SQL as a person writes it; formatted, it is what the template holds
HAND_WRITTEN = {
    "models/marts/customer_orders.sql": """\
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
""",
    "models/marts/daily_revenue.sql": """\
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
""",
    "models/staging/stg_customers.sql": """\
select
    customer_id,
    trim(name) as customer_name,
    upper(country) as country,
    plan,
    cast(signup_date as date) as signup_date
from {{ ref('customers') }}
""",
    "models/staging/stg_orders.sql": """\
select
    order_id,
    customer_id,
    cast(order_date as date) as order_date,
    {{ cents_to_dollars('amount_cents') }} as amount,
    status
from {{ ref('orders') }}
where status != 'cancelled'
""",
}


def tables(db) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'main' and table_name not like 'pds_%'").fetchall()]
        return {n: sorted(con.execute(f'select * from main."{n}"').fetchall(), key=repr) for n in names}
    finally:
        con.close()


@pytest.mark.slow
def test_format_check_rewrite_and_same_data(template_project, tmp_path):
    for rel, text in HAND_WRITTEN.items():
        (template_project / rel).write_text(text)
    original = tmp_path / "original"
    shutil.copytree(template_project, original)
    check = run_pds("format", "--check", "--project-dir", str(template_project))
    assert check.returncode == 1
    assert "would reformat models/marts/daily_revenue.sql" in check.stdout
    assert "4 files would be reformatted, 0 unchanged" in check.stdout
    assert (template_project / "models/marts/daily_revenue.sql").read_text() == \
        (original / "models/marts/daily_revenue.sql").read_text()  # --check writes nothing

    result = run_pds("format", "--project-dir", str(template_project))
    assert result.returncode == 0 and "4 files reformatted" in result.stdout
    for rel in HAND_WRITTEN:  # formatted: exactly the template's files (which pass format --check)
        assert (template_project / rel).read_text() == (TEMPLATE / rel).read_text(), rel
    again = run_pds("format", "--check", "--project-dir", str(template_project))
    assert again.returncode == 0 and "0 files would be reformatted, 4 unchanged" in again.stdout

    # build both twice (the second build takes the is_incremental() branch): the same tables
    for proj in (original, template_project):
        for _ in range(2):
            built = run_pds("build", "--project-dir", str(proj))
            assert built.returncode == 0, built.stdout + built.stderr
    assert tables(template_project / "pds.duckdb") == tables(original / "pds.duckdb")


def test_select_and_refusals(tmp_path):
    proj = write_project(tmp_path / "proj", {
        "seeds/t.csv": "a,b\n1,2\n",
        "models/plain.sql": "select a, b from {{ ref('t') }} where a != 2\n",
        "models/other.sql": "select a from {{ ref('t') }}\n",
        "models/branches.sql": "select {% if var('x', true) %} a {% else %} b {% endif %} from {{ ref('t') }}\n",
        "models/keyword.sql": "select {{ 'distinct' if var('d', false) else '' }} a from {{ ref('t') }}\n",
        "models/loop.sql": "select\n{% for c in ['a', 'b'] %}\n  {{ c }},\n{% endfor %}\n  1 as one\n"
                           "from {{ ref('t') }}\n",
    })
    before = {p.name: p.read_text() for p in (proj / "models").iterdir()}
    result = run_pds("format", "-s", "plain", "--project-dir", str(proj))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["formatted models/plain.sql", "1 file reformatted, 0 unchanged"]
    assert (proj / "models/plain.sql").read_text() == "SELECT\n  a,\n  b\nFROM {{ ref('t') }}\nWHERE\n  a <> 2\n"
    assert (proj / "models/other.sql").read_text() == before["other.sql"]

    result = run_pds("format", "--project-dir", str(proj))
    assert result.returncode == 0
    assert "cannot format models/branches.sql: {% else %} at line 1 cannot be kept between the same SQL tokens" \
        in result.stderr
    assert "cannot format models/keyword.sql: {{ 'distinct' if var('d', false) else '' }} at line 1 is followed " \
           "by a name that sqlglot reads as its alias; write AS before the name" in result.stderr
    assert (proj / "models/branches.sql").read_text() == before["branches.sql"]
    assert (proj / "models/keyword.sql").read_text() == before["keyword.sql"]
    assert (proj / "models/loop.sql").read_text() == (
        "SELECT\n  {% for c in ['a', 'b'] %}\n  {{ c }},\n  {% endfor %}\n  1 AS one\nFROM {{ ref('t') }}\n")
    assert "2 files reformatted, 1 unchanged, 2 left as they are (see above)" in result.stdout
    built = run_pds("build", "--project-dir", str(proj))
    assert built.returncode == 0, built.stdout + built.stderr
