"""Schema-aware validation: unknown and ambiguous columns at compile time, with position and did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compile_project import EVENTS_SOURCE, SHOP, write_project
from tests.conftest import run_pds

SCHEMA = EVENTS_SOURCE + """\
      - name: clicks
models:
  - name: scores
    columns:
      - name: customer_id
      - name: score
"""

PY_MODEL = """
import pandas as pd


def model(ctx):
    return pd.DataFrame({"customer_id": [1, 2], "score": [0.5, 0.7]})
"""


def errors_of(result) -> list[str]:
    return [line.removeprefix("Error: ") for line in result.stderr.splitlines()
            if line.startswith(("Error: models", "models")) or line.startswith("  hint")]


def base(tmp_path: Path, models: dict[str, str]) -> Path:
    return write_project(tmp_path / "proj", {**SHOP, "models/schema.yml": SCHEMA, "models/scores.py": PY_MODEL,
                                             **models})


def test_unknown_columns_with_position_and_did_you_mean(tmp_path):
    proj = base(tmp_path, {
        "models/qualified.sql": """
            {{ config(materialized='table') }}
            select
                o.order_id,
                o.amout
            from {{ ref('stg_orders') }} o
            """,
        "models/unqualified.sql": "select id, nmae from {{ ref('stg_customers') }}\n",  # through SELECT *
        "models/in_cte.sql": """
            with recent as (
                select order_id, status from {{ ref('stg_orders') }}
            )
            select recent.order_id, recent.statsu from recent
            """,
        "models/source_col.sql": "select user_id, kindd from {{ source('app', 'events') }}\n",
    })
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 2, result.stdout + result.stderr
    assert errors_of(result) == [
        "models/in_cte.sql:4:32: column 'statsu' does not exist in recent",
        "  hint: did you mean 'status'?",
        "models/qualified.sql:4:7: column 'amout' does not exist in o (stg_orders)",
        "  hint: did you mean 'amount'?",
        "models/source_col.sql:1:17: column 'kindd' does not exist in app.events",
        "  hint: did you mean 'kind'?",
        "models/unqualified.sql:1:12: column 'nmae' does not exist in stg_customers",
        "  hint: did you mean 'name'?",
    ]
    assert "4 errors found" in result.stderr


def test_a_python_models_columns_are_checked_once_it_was_built(tmp_path):
    """Before its first build a Python model's columns are open (YAML may list only some of them);
    afterwards, what it returned on its last build is checked against."""
    proj = base(tmp_path, {"models/py_parent.sql": "select customer_id, scroe from {{ ref('scores') }}\n"})
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 0, result.stderr
    assert "columns read from scores are not checked: scores is a Python model that has not been built yet" \
        in result.stdout
    assert run_pds("build", "-s", "scores", "--project-dir", str(proj)).returncode == 0
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 2
    assert errors_of(result) == ["models/py_parent.sql:1:21: column 'scroe' does not exist in scores",
                                 "  hint: did you mean 'score'?"]


def test_ambiguous_column(tmp_path):
    proj = base(tmp_path, {
        "models/joined.sql": """
            select c.id, status, id
            from {{ ref('stg_customers') }} c
            join {{ ref('stg_orders') }} o on o.customer_id = c.id
            """,
        "models/twice.sql": """
            select customer_id
            from {{ ref('stg_orders') }} a
            join {{ ref('stg_orders') }} b on a.order_id = b.order_id
            """,
    })
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 2
    assert errors_of(result) == [
        "models/twice.sql:1:8: column 'customer_id' is ambiguous: it is in a and b",
        "  hint: qualify it: a.customer_id or b.customer_id",
    ]
    # `id` is in customers only (orders renamed it to order_id), so `joined` is fine


def test_star_through_the_dag_and_valid_project(tmp_path):
    proj = base(tmp_path, {
        "models/wide.sql": "select c.*, o.amount from {{ ref('stg_customers') }} c "
                           "join {{ ref('stg_orders') }} o on o.customer_id = c.id\n",
        "models/narrow.sql": "select country, sum(amount) as revenue from {{ ref('wide') }} group by country "
                             "order by revenue\n",
        "models/scored.sql": "select s.score, c.name from {{ ref('scores') }} s "
                             "join {{ ref('stg_customers') }} c on c.id = s.customer_id\n",
    })
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 0, result.stdout + result.stderr
    (proj / "models/narrow.sql").write_text("select contry from {{ ref('wide') }}\n")
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 2
    assert errors_of(result) == ["models/narrow.sql:1:8: column 'contry' does not exist in wide",
                                 "  hint: did you mean 'country'?"]


def test_unknown_parent_columns_are_skipped_and_said(tmp_path):
    proj = base(tmp_path, {
        "models/from_clicks.sql": "select anything from {{ source('app', 'clicks') }}\n",
        "models/from_python.sql": "select whatever from {{ ref('undeclared') }}\n",
        "models/undeclared.py": PY_MODEL,
    })
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "models/from_clicks.sql: columns read from clicks are not checked: app.clicks is a source without " \
           "columns in YAML" in result.stdout
    assert "models/from_python.sql: columns read from undeclared are not checked: undeclared is a Python model " \
           "that has not been built yet" in result.stdout


@pytest.mark.slow
def test_no_validate_turns_it_off(tmp_path):
    proj = base(tmp_path, {"models/bad.sql": "select nope from {{ ref('stg_orders') }}\n"})
    assert run_pds("compile", "--project-dir", str(proj)).returncode == 2
    assert run_pds("compile", "--project-dir", str(proj), "--no-validate").returncode == 0
    # a build with validation off reaches the warehouse, which then reports the column
    build = run_pds("build", "--project-dir", str(proj), "--no-validate")
    assert build.returncode == 1 and "nope" in build.stdout


def test_cached_result_does_not_hide_a_new_error(tmp_path):
    proj = base(tmp_path, {"models/m.sql": "select order_id from {{ ref('stg_orders') }}\n"})
    assert run_pds("compile", "--project-dir", str(proj)).returncode == 0
    # the parent loses the column: the child must be checked again although its own SQL did not change
    (proj / "models/stg_orders.sql").write_text("select id, customer_id from {{ ref('orders') }}\n")
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 2
    assert "models/m.sql:1:8: column 'order_id' does not exist in stg_orders" in result.stderr


def test_snowflake_names_are_compared_as_snowflake_stores_them(tmp_path):
    # Snowflake stores unquoted names upper-cased: a plain seed column, a YAML column and an alias all
    # meet as MONTHLY_AMOUNT; valid SQL is never refused, a wrong name still is
    yml = "version: 2\nmodels:\n  - name: monthly\n    columns:\n      - name: monthly_amount\n"
    files = {"pds_project.yml": "name: cproj\nprofile: cproj\ndialect: snowflake\n", "models/schema.yml": yml,
             "models/monthly.sql": "select customer_id, sum(amount_cents) as monthly_amount\n"
                                   "from {{ ref('orders') }} group by customer_id\n",
             "models/top.sql": "select Monthly_Amount, \"MONTHLY_AMOUNT\" as again from {{ ref('monthly') }}\n"}
    proj = write_project(tmp_path / "proj", {**SHOP, **files})
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 0, result.stderr
    (proj / "models/top.sql").write_text("select \"monthly_amount\" from {{ ref('monthly') }}\n")
    result = run_pds("compile", "--project-dir", str(proj))  # quoted lower case is another column there
    assert result.returncode == 2 and "column 'monthly_amount' does not exist in monthly" in result.stderr
