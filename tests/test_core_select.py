"""Node selection with dbt's syntax, through `pds ls` (fast) and one real `pds build`."""

from __future__ import annotations

import json

import pytest

from tests.projects import invoke, pds, relations, write_project

FILES = {
    # folder tags add up with the tags a model sets itself, as in dbt
    "pds_project.yml": "name: proj\nmodels:\n  marts:\n    +tags: [mart]\n",
    "seeds/raw_orders.csv": "order_id,user_id,amount\n1,1,10\n2,1,5\n3,2,7\n",
    "seeds/raw_users.csv": "user_id,name\n1,ann\n2,bob\n",
    "models/staging/stg_orders.sql": "{{ config(tags=['staging']) }}\nselect * from {{ ref('raw_orders') }}",
    "models/staging/stg_users.sql": "{{ config(tags=['staging', 'pii']) }}\nselect * from {{ ref('raw_users') }}",
    "models/marts/orders_by_user.sql": """
        {{ config(materialized='table', tags='daily') }}
        select u.user_id, u.name, sum(o.amount) as total
        from {{ ref('stg_users') }} u join {{ ref('stg_orders') }} o using (user_id)
        group by all
    """,
    "models/marts/top_users.py": """
        def model(ctx):
            return ctx.ref("orders_by_user").nlargest(1, "total")
    """,
    "models/marts/report.sql": "select * from {{ ref('top_users') }}",
    "models/other.sql": "select 1 as one",
}
SEEDS = {"raw_orders", "raw_users"}
STAGING = {"stg_orders", "stg_users"}
MARTS = {"orders_by_user", "top_users", "report"}
ALL = SEEDS | STAGING | MARTS | {"other"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_project(tmp_path_factory.mktemp("select") / "p", FILES)


@pytest.mark.parametrize(("args", "expected"), [
    ([], ALL),
    (["-s", "stg_orders"], {"stg_orders"}),
    (["-s", "+orders_by_user"], SEEDS | STAGING | {"orders_by_user"}),
    (["-s", "stg_orders+"], {"stg_orders"} | MARTS),
    (["-s", "1+orders_by_user"], STAGING | {"orders_by_user"}),
    (["-s", "2+top_users"], STAGING | {"orders_by_user", "top_users"}),
    (["-s", "orders_by_user+1"], {"orders_by_user", "top_users"}),
    (["-s", "1+top_users+1"], {"orders_by_user", "top_users", "report"}),
    (["-s", "@stg_orders"], SEEDS | STAGING | MARTS),
    (["-s", "tag:staging"], STAGING),
    (["-s", "tag:daily"], {"orders_by_user"}),
    (["-s", "tag:mart"], MARTS),
    (["-s", "tag:mart,tag:daily"], {"orders_by_user"}),
    (["-s", "path:models/marts"], MARTS),
    (["-s", "models/staging/stg_users.sql"], {"stg_users"}),
    (["-s", "type:python"], {"top_users"}),
    (["-s", "type:seed"], SEEDS),
    (["-s", "type:sql"], STAGING | {"orders_by_user", "report", "other"}),
    (["-s", "stg_*"], STAGING),
    # union: words in one argument, several words after -s, or -s given twice
    (["-s", "stg_orders other"], {"stg_orders", "other"}),
    (["-s", "stg_orders", "other", "raw_users"], {"stg_orders", "other", "raw_users"}),
    (["-s", "stg_orders", "-s", "other"], {"stg_orders", "other"}),
    # intersection
    (["-s", "+report,tag:staging"], STAGING),
    (["-s", "tag:staging,tag:pii"], {"stg_users"}),
    (["-s", "path:models/marts,type:sql"], {"orders_by_user", "report"}),
    # exclusion
    (["-s", "+report", "--exclude", "type:seed"], STAGING | MARTS),
    (["--exclude", "tag:staging", "other"], SEEDS | MARTS),
    (["-s", "@stg_users", "--exclude", "stg_users+"], SEEDS | {"stg_orders"}),
])
def test_selection(project, args, expected):
    # the real CLI, in-process: these cases only parse the project, so a subprocess each would be slow
    code, text = invoke(project, "ls", *args)
    assert code == 0, text
    assert set(text.split()) == expected


def test_ls_lists_in_dag_order_with_json(project):
    code, text = invoke(project, "ls", "-s", "+report", "--output", "json")
    assert code == 0, text
    lines = text.splitlines()
    nodes = [json.loads(line) for line in lines]
    names = [n["name"] for n in nodes]
    for node in nodes:  # every parent comes before its child
        for parent in node["depends_on"]:
            assert names.index(parent.split(".")[-1]) < names.index(node["name"])
    top = next(n for n in nodes if n["name"] == "top_users")
    assert top == {"unique_id": "model.proj.top_users", "name": "top_users", "resource_type": "model",
                   "language": "python", "materialized": "table", "path": "models/marts/top_users.py",
                   "relation": "main.top_users", "tags": ["mart"], "depends_on": ["model.proj.orders_by_user"]}
    paths = invoke(project, "ls", "-s", "tag:staging", "--output", "path")[1].split()
    assert paths == ["models/staging/stg_orders.sql", "models/staging/stg_users.sql"]


@pytest.mark.parametrize(("spec", "message"), [
    ("stg_order", "no node matches 'stg_order'\n  hint: did you mean 'stg_orders'"),
    ("tags:daily", "unknown selector method 'tags'\n  hint: did you mean 'tag'"),
    ("type:r", "unknown type 'r' in selector"),
])
def test_bad_selector_is_a_project_error(project, spec, message):
    code, text = invoke(project, "ls", "-s", spec)
    assert code == 2 and message in text
    assert "Traceback" not in text


def test_build_runs_only_the_selection(tmp_path):
    project = write_project(tmp_path / "p", FILES)
    pds(project, "build", "-s", "+stg_orders")
    assert set(relations(project)) == {"raw_orders", "stg_orders"}
    result = pds(project, "build", "-s", "type:seed", "stg_users+", "--exclude", "report")
    assert "Running build of 5 nodes" in result.stdout
    assert set(relations(project)) == SEEDS | STAGING | {"orders_by_user", "top_users"}
