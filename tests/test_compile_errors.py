"""SQL syntax errors: all of them at once, at their place in the model file, before the warehouse is touched."""

from __future__ import annotations

from pathlib import Path

from tests.compile_project import write_project
from tests.conftest import run_pds

MACROS = """
{% macro money(column) -%}
    round(
        {{ column }} / 100.0,
        2
    )
{%- endmacro %}
"""

# Line 12 is the bad one; a false {% if %} block, a set block and config() come before it.
JINJA_BEFORE_ERROR = """
{{ config(materialized='table') }}
-- prices in dollars
{% set unused = ['a', 'b'] %}
select
{% if var('with_extra', false) %}
    extra_one,
    extra_two,
{% endif %}
    {{ money('amount_cents') }} as amount,
    id
from {{ ref('orders') }} o
wher o.id = 1
"""

# A multi-line macro and a ref() before the error on the same line shift sqlglot's column.
MACRO_ON_ERROR_LINE = """
select {{ money('amount_cents') }} as amount, sum(id from {{ ref('orders') }}
"""

UNCLOSED_STRING = """
select id,
  'abc as label
from {{ ref('orders') }}
"""

BAD_CAST = """
select
    id,
    cast(amount_cents as) as amount
from {{ ref('orders') }}
"""


def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj", {
        "seeds/orders.csv": "id,amount_cents\n1,100\n2,250\n",
        "macros/money.sql": MACROS,
        "models/a_jinja.sql": JINJA_BEFORE_ERROR,
        "models/b_macro.sql": MACRO_ON_ERROR_LINE,
        "models/c_string.sql": UNCLOSED_STRING,
        "models/d_cast.sql": BAD_CAST,
        "models/ok.sql": "select id from {{ ref('orders') }}\n",
    })


EXPECTED = [
    "models/a_jinja.sql:12:1: SQL syntax error: Invalid expression / Unexpected token near 'wher'",
    "models/b_macro.sql:1:54: SQL syntax error: Expecting ) near 'from'",
    "models/c_string.sql:2:3: SQL syntax error: ' is never closed",
    "models/d_cast.sql:3:25: SQL syntax error: Expected TYPE after CAST near ')'",
]


def test_every_syntax_error_at_once_with_file_line_and_column(tmp_path):
    proj = project(tmp_path)
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line.removeprefix("Error: ") for line in result.stderr.splitlines() if ".sql:" in line]
    assert lines == EXPECTED
    assert "4 errors found" in result.stderr
    assert "Traceback" not in result.stderr
    text = (proj / "models/a_jinja.sql").read_text().splitlines()
    assert text[11].startswith("wher")  # line 12 of the file really is where the error is
    assert (proj / "models/b_macro.sql").read_text()[53:57] == "from"


def test_syntax_errors_stop_build_before_the_warehouse(tmp_path):
    proj = project(tmp_path)
    result = run_pds("build", "--project-dir", str(proj))
    assert result.returncode == 2
    assert [line.removeprefix("Error: ") for line in result.stderr.splitlines() if ".sql:" in line] == EXPECTED
    assert not (proj / "warehouse.duckdb").exists()  # the DuckDB file was never opened
    # a warehouse nobody listens on is never contacted either: the SQL errors come first
    unreachable = run_pds("build", "--project-dir", str(proj), "--target", "unreachable")
    assert unreachable.returncode == 2
    assert "cannot connect" not in unreachable.stderr
    assert EXPECTED[0] in unreachable.stderr


def test_fixed_project_builds(tmp_path):
    proj = project(tmp_path)
    for name in ("a_jinja", "b_macro", "c_string", "d_cast"):
        (proj / f"models/{name}.sql").unlink()
    result = run_pds("build", "--project-dir", str(proj))
    assert result.returncode == 0, result.stdout + result.stderr
    unreachable = run_pds("build", "--project-dir", str(proj), "--target", "unreachable")
    assert unreachable.returncode == 2 and "cannot connect" in unreachable.stderr
